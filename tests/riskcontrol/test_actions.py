"""Actions that act. A shop its platform closed (sent through the partner API's service) turns
red: its line is frozen, its loans are made due at once (demand repayment) with the books still
balanced, and they are sent to the collections queue; close of business then collects what the
wallet holds. An officer can take a demand and a case back while nothing has moved since; a
closed or restricted shop cannot draw through any door."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import translation

from common.business_date import business_date_today
from common.errors import ApplicationError, ConflictError
from lending import cob
from lending.models import CollectionCase, CreditLine, Loan, LoanEvent, Product
from merchants import partner_signals
from payments import services as payments
from riskcontrol.models import PartnerNotice, RiskAction
from riskcontrol.monitoring import services
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory
from tests.lending.test_applications import STRONG, instant, world  # noqa: F401
from tests.merchants.factories import MerchantFactory
from tests.scoring.factories import rated_merchant

ON = DAY + dt.timedelta(days=4)  # closed; the business date is then ON + 1


@pytest.fixture
def pool(db):
    return open_pool()


def officer():
    user = User.objects.create_user("officer", password="x")
    user.groups.add(Group.objects.get_or_create(name="loan_officer")[0])
    return user


def closed_by_platform(merchant):
    partner_signals.merchant_status_record_batch(
        partner=merchant.partner,
        changes=[
            {
                "id": f"close-{merchant.pk}",
                "merchant_id": merchant.external_id,
                "status": "closed",
                "reason": "owner closed the shop",
                "changed_at": dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC),
            }
        ],
    )


def lent(*, credit_loan: bool = False):
    line = CreditLineFactory(**({"product__credit_loan": True} if credit_loan else {}))
    loan = draw(line, 1_000_000, key=f"loan-{line.pk}")
    cob.close_through(through=ON)
    assert business_date_today() == ON + dt.timedelta(days=1)
    return line, Loan.objects.get(pk=loan.pk)


def empty_wallet(loan):
    wallet = payments.wallet_open(merchant=loan.merchant)
    wallet.refresh_from_db()
    elsewhere = payments.wallet_open(merchant=MerchantFactory())
    payments.wallet_to_wallet(
        source=wallet, target=elsewhere, amount_fen=wallet.balance_fen, idempotency_key="out"
    )


@pytest.mark.parametrize(
    "credit_loan", [False, True], ids=["bullet, daily accrual", "instalments, spread accrual"]
)
def test_a_shop_closed_by_its_platform_has_its_loans_made_due_and_sent_to_collections(pool, credit_loan):
    line, loan = lent(credit_loan=credit_loan)
    closed_by_platform(line.merchant)
    services.monitoring_run(on=ON)

    kinds = set(RiskAction.objects.filter(merchant=line.merchant).values_list("kind", flat=True))
    assert {"freeze_line", "demand_repayment", "send_to_collections"} <= kinds
    assert CreditLine.objects.get(pk=line.pk).status == CreditLine.Status.FROZEN
    before = loan
    loan = Loan.objects.get(pk=loan.pk)
    due_on = ON + dt.timedelta(days=1)
    assert loan.due_principal_fen == loan.principal_outstanding_fen == 1_000_000
    assert loan.due_interest_fen == loan.interest_outstanding_fen > 0
    assert loan.next_due_on is None and loan.oldest_unpaid_due_on == due_on
    assert loan.accrual_mode == "daily" and loan.accrual_segment_base_fen == 1_000_000
    event = LoanEvent.objects.get(loan=loan, kind=LoanEvent.Kind.FELL_DUE)
    assert (event.principal_fen, event.interest_fen) == (1_000_000, before.interest_outstanding_fen)
    case = CollectionCase.objects.get(loan=loan, status="open")
    assert case.opened_on == due_on and case.changes.get().kind == "opened"

    # With a settlement in the wallet, the night's close of business deducts everything: repaid,
    # the case closes, and the books reconcile.
    payments.settlement_credit(wallet=loan.wallet, amount_fen=100_000, idempotency_key="income")
    cob.close_of_business(on=due_on)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID and loan.principal_outstanding_fen == 0
    case.refresh_from_db()
    assert case.status == "closed" and case.close_reason == "repaid"
    assert cob.lending_reconcile() == []


def test_an_unpaid_demand_is_overdue_the_next_day_and_stays_in_the_queue(pool):
    line, loan = lent()
    empty_wallet(loan)
    closed_by_platform(line.merchant)
    services.monitoring_run(on=ON)
    due_on = ON + dt.timedelta(days=1)
    cob.close_of_business(on=due_on)
    loan.refresh_from_db()
    # Due today and unpaid: not yet past due, and the case is not closed as "cured".
    assert loan.status == Loan.Status.ACTIVE and loan.days_past_due == 0
    assert CollectionCase.objects.get(loan=loan).status == "open"
    cob.close_of_business(on=due_on + dt.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE and loan.days_past_due == 1
    assert CollectionCase.objects.filter(loan=loan, status="open").count() == 1
    assert cob.lending_reconcile() == []


def test_an_officer_withdraws_the_demand_and_the_case_before_anything_moved(pool):
    line, loan = lent()
    closed_by_platform(line.merchant)
    services.monitoring_run(on=ON)
    user = officer()
    demand = RiskAction.objects.get(merchant=line.merchant, kind="demand_repayment")
    sent = RiskAction.objects.get(merchant=line.merchant, kind="send_to_collections")
    today = ON + dt.timedelta(days=1)

    services.risk_action_reverse(action_id=demand.pk, user=user, reason="the platform erred", on=today)
    after = Loan.objects.get(pk=loan.pk)
    for name in (
        "due_principal_fen",
        "due_interest_fen",
        "next_due_on",
        "oldest_unpaid_due_on",
        "accrual_mode",
    ):
        assert getattr(after, name) == getattr(loan, name), name
    withdrawn = LoanEvent.objects.filter(loan=loan, kind="fell_due").order_by("pk").last()
    assert withdrawn.principal_fen == -1_000_000

    services.risk_action_reverse(action_id=sent.pk, user=user, reason="the platform erred", on=today)
    case = CollectionCase.objects.get(loan=loan)
    assert case.status == "closed" and case.close_reason == "withdrawn"


def test_a_demand_stands_once_close_of_business_has_run(pool):
    line, loan = lent()
    empty_wallet(loan)
    closed_by_platform(line.merchant)
    services.monitoring_run(on=ON)
    cob.close_of_business(on=ON + dt.timedelta(days=1))
    demand = RiskAction.objects.get(merchant=line.merchant, kind="demand_repayment")
    with translation.override("en"), pytest.raises(ConflictError, match="demand stands") as refused:
        services.risk_action_reverse(action_id=demand.pk, user=officer(), reason="too late", on=ON)
    assert "accrued_through_on" in refused.value.extra["fields"]["loan"][0]
    assert RiskAction.objects.get(pk=demand.pk).reversed_at is None


def test_a_closed_or_suspended_shop_cannot_draw_through_any_door(world, partner_key):  # noqa: F811
    from rest_framework.test import APIClient

    from lending import services as lending
    from lending.models import Application

    key, raw = partner_key
    merchant = rated_merchant(**STRONG)
    merchant.partner = key.partner
    merchant.save()
    line = CreditLineFactory(merchant=merchant, product=Product.objects.get(code="credit_loan"))
    closed_by_platform(merchant)
    # The service every door ends in (portal, partner API, an approved application's drawdown).
    with pytest.raises(ApplicationError, match="closed"):
        draw(line, 100_000, key="after-close")
    # The partner API: refused, naming the line, nothing drawn.
    quote = lending.loan_quote(line=line, amount_fen=100_000, start_on=DAY)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    reply = api.post(
        "/api/v1/loans/",
        {"line_id": line.pk, "amount": "1000.00", "contract_sha256": quote.contract_sha256},
        format="json",
        HTTP_IDEMPOTENCY_KEY="draw-after-close",
    )
    assert reply.status_code == 400 and "closed" in reply.content.decode()
    # The portal's drawdown page, as the shop's own login.
    user = User.objects.create_user("seller", password="x")
    type(merchant).objects.filter(pk=merchant.pk).update(user=user)
    portal = Client()
    portal.force_login(user)
    page = portal.post(
        f"/loans/draw/{line.pk}/",
        {"amount": "1000.00", "contract_sha256": quote.contract_sha256, "request_token": str(uuid.uuid4())},
    )
    assert page.status_code == 400 and "不允许用款" in page.content.decode()
    # A new application: the policy stage declines a closed shop before anything could lend.
    _, application = instant(merchant)
    assert application.status == Application.Status.DECLINED
    assert not Loan.objects.filter(merchant=merchant).exists()
    assert not PartnerNotice.objects.exists()  # the platform did it: nothing to tell it
