"""Many drawdowns at once (lending.services.loans_draw, what the demo's borrowers use each day):
the same rows in every table as loan_draw called for each request in turn, the same refusals,
a refused request writing nothing; idempotent by key.

The twin runs share one test database: the first runs inside a transaction rolled back before the
second, with every id sequence put back where it stood, so both hand out the same ids."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone, translation

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from lending import services
from lending.models import (
    Contract,
    CreditLine,
    Installment,
    Loan,
    LoanEvent,
    LoanStatusChange,
    Pledge,
    Product,
)
from merchants.webhooks.models import EventType, WebhookDelivery, WebhookEvent
from merchants.webhooks.services import endpoint_create
from payments import services as payments
from payments.models import Account, JournalEntry
from tests.lending.conftest import DAY
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


class _Undo(Exception):
    pass


@pytest.fixture
def world():
    """Lines of every shape: bullet, instalments, monthly interest, an upfront fee, an order loan
    pledged on shipped orders, a rate above the legal cap, a frozen line, a merchant with two lines
    under one limit; a funding pool too small for everything asked; a partner endpoint listening."""
    business_date_set(on=DAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    # Room for everything asked but the "pool runs dry" request.
    payments.funding_pool_add_capital(pool=pool, amount_fen=150_000_000, idempotency_key="capital")
    # The platform's accounts exist (any ledger that has lent has them): one at a time would open
    # them in the middle of its first drawdowns, a batch before its wallets, and their ids differ.
    Purpose = Account.Purpose
    for purpose in (Purpose.LOANS_RECEIVABLE, Purpose.CLIENT_FUNDS, Purpose.FEE_INCOME):
        payments.platform_account(purpose)
    services.products_create_seed()
    products = {p.code: p for p in Product.objects.all()}
    fee_product = ProductFactory(
        code="fee_loan", upfront_fee_rate=Decimal("0.01"), daily_rate=Decimal("0.0004"), is_revolving=False
    )
    checked = timezone.now()

    def line(product, merchant=None, **kwargs):
        return CreditLineFactory(
            product=product,
            merchant=merchant or MerchantFactory(),
            daily_rate=kwargs.pop("daily_rate", product.daily_rate),
            video_checked_at=checked if product.needs_video_check else None,
            **kwargs,
        )

    shop = MerchantFactory()
    for _ in range(3):
        OrderFactory(merchant=shop, shipped=True, amount_fen=400_000)
    endpoint_create(
        partner=shop.partner, url="https://partner.example/hooks", event_types=[EventType.LOAN_DISBURSED]
    )
    twice = MerchantFactory(partner=shop.partner)
    lines = {
        "bullet": line(products["revolving"], limit_fen=80_000_000),
        "instalments": line(products["credit_loan"], merchant=shop, limit_fen=3_000_000),
        "orders": line(products["order_loan"], merchant=shop, limit_fen=3_000_000),
        "monthly": line(products["fixed_loan"], limit_fen=90_000_000),
        "fee": line(fee_product, limit_fen=9_000_000),
        "above cap": line(products["credit_loan"], daily_rate=Decimal("0.002"), limit_fen=3_000_000),
        "frozen": line(products["credit_loan"], limit_fen=3_000_000, status=CreditLine.Status.FROZEN),
        "first of two": line(products["credit_loan"], merchant=twice, limit_fen=2_000_000),
        "second of two": line(products["order_loan"], merchant=twice, limit_fen=1_500_000),
        "pool runs dry": line(products["fixed_loan"], limit_fen=900_000_000),
        "after the dry one": line(products["credit_loan"], limit_fen=3_000_000),
        "stale": line(products["credit_loan"], limit_fen=3_000_000),
    }
    OrderFactory(merchant=twice, shipped=True, amount_fen=3_000_000)
    return pool, lines


def _line(line):
    """The line as a caller reads it, with what the services use."""
    return CreditLine.objects.select_related("product", "merchant", "merchant__partner").get(pk=line.pk)


def _requests(lines, with_quotes=False):
    """The requests; `with_quotes`: each carrying the quote just shown (not made again)."""
    today = business_date_today()
    asked = [
        ("orders", 600_000),  # pledges the shop's two oldest shipped orders
        ("bullet", 25_000_000),
        ("instalments", 1_200_000),
        ("monthly", 50_000_000),
        ("fee", 4_000_000),
        ("above cap", 1_000_000),  # refused: the legal cap
        ("frozen", 1_000_000),  # refused: the line is frozen
        ("first of two", 1_500_000),
        ("second of two", 1_000_000),  # refused: the merchant's one limit (2,000,000) would pass
        ("pool runs dry", 90_000_000),  # refused: the pool's capacity
        ("after the dry one", 100_000),
    ]
    requests = []
    for name, amount in asked:
        line = _line(lines[name])
        try:
            quote = services.loan_quote(line=line, amount_fen=amount, start_on=today)
            sha = quote.contract_sha256
        except ApplicationError:
            quote, sha = None, "0" * 64  # refused when drawn too, for the same reason
        requests.append(
            services.DrawRequest(
                line=line,
                amount_fen=amount,
                accepted_sha256=sha,
                idempotency_key=f"draw-{name}",
                quote=quote if with_quotes else None,
            )
        )
    # An agreement the borrower never saw: refused.
    line = _line(lines["stale"])
    requests.append(
        services.DrawRequest(
            line=line, amount_fen=100_000, accepted_sha256="f" * 64, idempotency_key="draw-stale"
        )
    )
    return requests


def _one_at_a_time(requests, pool):
    results = []
    for r in requests:
        try:
            loan = services.loan_draw(
                line=r.line,
                amount_fen=r.amount_fen,
                accepted_sha256=r.accepted_sha256,
                idempotency_key=r.idempotency_key,
                via="demo",
                on=business_date_today(),
                pool=pool,
            )
            results.append(("loan", loan.pk))
        except ApplicationError as exc:
            results.append(("refused", type(exc).__name__, exc.message, exc.extra))
    return results


def _bulk(requests, pool):
    return [
        ("loan", d.loan.pk)
        if d.refusal is None
        else ("refused", type(d.refusal).__name__, d.refusal.message, d.refusal.extra)
        for d in services.loans_draw(requests=requests, via="demo", on=business_date_today(), pool=pool)
    ]


def _models():
    return [m for m in apps.get_models() if not m._meta.proxy and m._meta.managed]


def _sequences_reset():
    """Put every id sequence back at its table's largest id (PostgreSQL keeps what a rolled-back
    transaction took; SQLite's sqlite_sequence rolls back with it)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in _models():
            pk = model._meta.pk
            if not isinstance(pk, models.AutoField | models.BigAutoField):
                continue
            table = model._meta.db_table
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
            (sequence,) = cursor.fetchone()
            if sequence:
                cursor.execute(
                    f"SELECT setval(%s, COALESCE((SELECT MAX({pk.column}) FROM {table}), 0) + 1, false)",  # noqa: S608
                    [sequence],
                )


def _tables() -> dict:
    """Every row of every table, but instants (they differ by when each ran) and the webhook
    events' random ids (their deliveries name the event by its loan instead). Audit rows are
    compared as a multiset: their ids follow the order the tables were written in."""
    event_loans = {e.pk: e.data.get("loan") for e in WebhookEvent.objects.all()}
    state = {}
    for model in _models():
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if not isinstance(f, models.DateTimeField)
            and not (model is WebhookEvent and f.primary_key)
            and not (model is LogEntry and f.primary_key)
        ]
        rows = list(model._base_manager.order_by("pk").values_list(*fields))
        if model is WebhookDelivery:
            at = fields.index("event_id")
            rows = [(*row[:at], event_loans[row[at]], *row[at + 1 :]) for row in rows]
        if model in (LogEntry, WebhookEvent):
            rows = sorted(rows, key=repr)
        state[model._meta.label] = rows
    return state


@pytest.mark.parametrize("with_quotes", [False, True], ids=["priced-again", "quotes-shown"])
def test_many_drawdowns_at_once_write_every_table_as_one_at_a_time(world, with_quotes):
    pool, lines = world
    requests = _requests(lines, with_quotes)
    _sequences_reset()
    try:
        with transaction.atomic():
            single = _one_at_a_time(requests, pool)
            single_tables = _tables()
            raise _Undo
    except _Undo:
        pass
    _sequences_reset()
    bulk = _bulk(requests, pool)
    bulk_tables = _tables()

    assert bulk == single
    drawn = [r for r in bulk if r[0] == "loan"]
    refused = {requests[i].idempotency_key: r[2] for i, r in enumerate(bulk) if r[0] == "refused"}
    assert set(refused) == {
        "draw-above cap",
        "draw-frozen",
        "draw-second of two",
        "draw-pool runs dry",
        "draw-stale",
    }
    assert len(drawn) == 7
    assert "legal cap" in refused["draw-above cap"]
    assert "one limit" in refused["draw-second of two"]
    assert "capacity" in refused["draw-pool runs dry"]
    for label, rows in single_tables.items():
        only_single = [r for r in rows if r not in bulk_tables[label]]
        only_bulk = [r for r in bulk_tables[label] if r not in rows]
        assert (label, only_single, only_bulk) == (label, [], [])
        assert bulk_tables[label] == rows, label
    # Something of each kind was written (the comparison is not of empty tables).
    for model in (
        Loan,
        Installment,
        Pledge,
        Contract,
        LoanEvent,
        LoanStatusChange,
        JournalEntry,
        WebhookDelivery,
    ):
        assert bulk_tables[model._meta.label], model
    assert Loan.objects.filter(fee_fen__gt=0).count() == 1


def test_the_same_keys_again_return_the_same_loans_and_write_nothing(world):
    pool, lines = world
    requests = _requests(lines)
    first = services.loans_draw(requests=requests, via="demo", on=business_date_today(), pool=pool)
    before = _tables()
    again = services.loans_draw(requests=requests[:5], via="demo", on=business_date_today(), pool=pool)
    assert [d.loan.pk for d in again] == [d.loan.pk for d in first[:5]]
    assert _tables() == before
    # The same key with another amount is refused, nothing written.
    changed = services.DrawRequest(
        line=requests[1].line,
        amount_fen=requests[1].amount_fen + 100,
        accepted_sha256=requests[1].accepted_sha256,
        idempotency_key=requests[1].idempotency_key,
    )
    (result,) = services.loans_draw(requests=[changed], via="demo", on=business_date_today(), pool=pool)
    assert result.loan is None and "already used" in result.refusal.message
    assert _tables() == before


def test_a_line_twice_in_one_batch_is_refused_whole(world):
    pool, lines = world
    requests = _requests(lines)
    with pytest.raises(ApplicationError, match="at most once"):
        services.loans_draw(
            requests=[requests[1], requests[1]], via="demo", on=business_date_today(), pool=pool
        )
    assert not Loan.objects.exists()


def test_nothing_asked_draws_nothing(world):
    pool, _lines = world
    assert services.loans_draw(requests=[], via="demo", on=business_date_today(), pool=pool) == []
