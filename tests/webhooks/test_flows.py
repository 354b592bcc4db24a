"""The events fire from the real flows, in the transactions that make the changes: a drawdown and
a repayment through the partner API, an application decided through it, offers issued, close of
business ageing loans whose wallets are empty (in bulk), and the night's monitoring raising
warnings and restricting a defaulter's shop. Each reaches the partner's receiver signed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from lending import cob
from lending.models import Loan
from merchants.webhooks import services
from merchants.webhooks.models import WebhookDelivery, WebhookEvent
from merchants.webhooks.signing import verify
from payments import services as payments
from riskcontrol.monitoring import services as monitoring
from scoring.models import Offer
from scoring.services import offers_issue, scores_refresh_all
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.lending.test_applications_api import apply, client_of, quote, shop
from tests.lending.test_applications_api import world as applications_world  # noqa: F401
from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory
from tests.riskcontrol.test_monitoring import ON
from tests.riskcontrol.test_monitoring import world as monitored_world
from tests.scoring.test_offers import set_policy, ten_merchants
from tests.scoring.test_offers import world as offers_world  # noqa: F401

ALL_TYPES = [
    "offer.created",
    "application.decided",
    "loan.disbursed",
    "repayment.succeeded",
    "repayment.failed",
    "loan.overdue",
    "warning.raised",
    "merchant.restricted",
]


def subscribe(partner, receiver):
    return services.endpoint_create(partner=partner, url=receiver.url, event_types=ALL_TYPES)


def deliver_all() -> None:
    for pk in WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True):
        services.delivery_attempt(delivery_id=pk)


def types_of(partner) -> list[str]:
    return list(
        WebhookEvent.objects.filter(partner=partner).order_by("created_at").values_list("type", flat=True)
    )


@pytest.fixture
def pool(db):
    return open_pool()


def test_a_drawdown_and_repayments_through_the_api_reach_the_partner(partner_client, pool, receivers):
    receiver = receivers()
    _, secret = subscribe(partner_client.partner, receiver)
    merchant = MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    line = CreditLineFactory(merchant=merchant, limit_fen=10_000_000)

    sha = partner_client.post(
        "/api/v1/loans/quote/", {"line_id": line.pk, "amount": "20000.00"}, format="json"
    ).json()["contract_sha256"]
    drawn = partner_client.post(
        "/api/v1/loans/",
        {"line_id": line.pk, "amount": "20000.00", "contract_sha256": sha},
        format="json",
        HTTP_IDEMPOTENCY_KEY="draw-1",
    )
    assert drawn.status_code == 201
    reference = drawn.json()["reference"]
    # The same key again lends nothing more and tells nobody twice.
    partner_client.post(
        "/api/v1/loans/",
        {"line_id": line.pk, "amount": "20000.00", "contract_sha256": sha},
        format="json",
        HTTP_IDEMPOTENCY_KEY="draw-1",
    )
    for key, body in (("r-1", {"amount": "5000.00"}), ("r-2", {})):
        repaid = partner_client.post(
            f"/api/v1/loans/{reference}/repayments/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert repaid.status_code == 201

    assert types_of(partner_client.partner) == [
        "loan.disbursed",
        "repayment.succeeded",
        "repayment.succeeded",
    ]
    deliver_all()
    assert len(receiver.requests) == 3
    disbursed, part, rest = (r.json for r in receiver.requests)
    for r in receiver.requests:
        verify(secret, r.body, r.headers["Xiaodai-Signature"])
    assert disbursed["type"] == "loan.disbursed"
    assert disbursed["data"]["loan"] == reference and disbursed["data"]["merchant"] == "SHOP-1"
    assert disbursed["data"]["principal"] == "20000.00" and disbursed["business_date"] == DAY.isoformat()
    assert part["data"]["principal"] == "5000.00" and part["data"]["loan_status"] == "active"
    assert part["data"]["outstanding"] == "15000.00"
    assert rest["data"]["amount"] == "15000.00" and rest["data"]["loan_status"] == "repaid"
    assert rest["data"]["outstanding"] == "0.00"


def test_an_application_through_the_api_is_decided_and_paid_and_both_are_told(applications_world, receivers):  # noqa: F811
    partner = PartnerPlatformFactory()
    client = client_of(partner)
    receiver = receivers()
    subscribe(partner, receiver)
    shop(partner, "SHOP-1")
    terms = quote(client).json()
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"}
    applied = apply(client, {**body, "accepted_sha256": terms["contract_sha256"]})
    assert applied.status_code == 201 and applied.json()["status"] == "disbursed"

    assert types_of(partner) == ["application.decided", "loan.disbursed"]
    deliver_all()
    decided, disbursed = (r.json for r in receiver.requests)
    assert decided["data"]["application"] == applied.json()["reference"]
    assert decided["data"]["outcome"] == "approved" and decided["data"]["reasons"] == []
    assert decided["data"]["limit"] == terms["limit"]
    assert disbursed["data"]["loan"] == applied.json()["loan"]


def test_offers_issued_are_told_to_each_merchants_partner(offers_world, receivers):  # noqa: F811
    merchants = ten_merchants()
    receiver = receivers()
    for merchant in merchants:
        subscribe(merchant.partner, receiver)
    set_policy(acceptance_rate_target=Decimal("0.3"), cutoff_grade="E")
    scores_refresh_all(as_of=DAY)
    issued = offers_issue(as_of=DAY)

    events = list(WebhookEvent.objects.filter(type="offer.created"))
    assert len(events) == issued == Offer.objects.count() > 0
    by_offer = {e.data["offer"]: e for e in events}
    for offer in Offer.objects.select_related("merchant", "product"):
        event = by_offer[offer.pk]
        assert event.partner_id == offer.merchant.partner_id
        assert event.data["merchant"] == offer.merchant.external_id
        assert event.data["product"] == offer.product.code
        assert Decimal(event.data["line"]) * 100 == offer.line_fen
    # Issuing again on the same date offers nothing new and tells nothing new.
    offers_issue(as_of=DAY)
    assert WebhookEvent.objects.filter(type="offer.created").count() == issued


def drained(line, amount_fen, key):
    loan = draw(line, amount_fen, key=key)
    sink = payments.wallet_open(merchant=MerchantFactory())
    payments.wallet_to_wallet(
        source=loan.wallet, target=sink, amount_fen=amount_fen, idempotency_key=f"out-{key}"
    )
    return loan


def test_close_of_business_tells_of_failed_deductions_and_overdue_loans_in_bulk(pool, receivers, settings):
    settings.LENDING_COB_CHUNK_SIZE = 1000
    receiver = receivers()
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"))
    lines = [
        CreditLineFactory(product=product, limit_fen=1_000_000, daily_rate=product.daily_rate)
        for _ in range(12)
    ]
    partner = lines[0].merchant.partner
    for line in lines:
        line.merchant.partner = partner
        line.merchant.save(update_fields=["partner"])
    subscribe(partner, receiver)
    loans = [drained(line, 1_000_000, key=f"k{i}") for i, line in enumerate(lines)]
    # One of them can pay: its wallet gets what it owes at maturity.
    payments.settlement_credit(wallet=loans[0].wallet, amount_fen=1_015_000, idempotency_key="money")

    cob.close_through(through=DAY + dt.timedelta(days=29))
    assert set(types_of(partner)) == {"loan.disbursed"}  # nothing fell due yet
    WebhookEvent.objects.all().delete()

    from django.test.utils import CaptureQueriesContext

    inserts = []
    with CaptureQueriesContext(connection) as queries:
        cob.close_through(through=DAY + dt.timedelta(days=31))
    inserts = [q for q in queries.captured_queries if "INSERT INTO merchants_webhookevent" in q["sql"]]

    assert Loan.objects.get(pk=loans[0].pk).status == Loan.Status.REPAID
    events = WebhookEvent.objects.order_by("created_at")
    failed = [e for e in events if e.type == "repayment.failed"]
    overdue = [e for e in events if e.type == "loan.overdue"]
    # Maturity day (D+30) and the day after: eleven empty wallets each day; eleven loans fall overdue.
    assert len(failed) == 22 and {e.data["loan"] for e in failed} == {loan.reference for loan in loans[1:]}
    assert all(e.data["unpaid"] == "10150.00" for e in failed if e.business_on == DAY + dt.timedelta(days=30))
    assert len(overdue) == 11 and {e.data["loan"] for e in overdue} == {loan.reference for loan in loans[1:]}
    assert all(e.data["days_past_due"] == 1 and e.business_on == DAY + dt.timedelta(days=31) for e in overdue)
    succeeded = [e for e in events if e.type == "repayment.succeeded"]
    assert [e.data["loan"] for e in succeeded] == [loans[0].reference]
    if connection.vendor == "sqlite":
        # Two closes, each one chunk: per day at most one INSERT of failures and one of overdue
        # loans (plus the repayment's), never one per loan (PostgreSQL's bulk path bypasses the log).
        assert 0 < len(inserts) <= 5
    deliver_all()
    assert len(receiver.requests) == len(events)


def test_monitoring_raises_warnings_and_restricts_a_defaulter_and_the_partners_hear_of_both(pool, receivers):
    lines = monitored_world(pool)
    receiver = receivers()
    for line in lines.values():
        subscribe(line.merchant.partner, receiver)

    monitoring.monitoring_run(on=ON)

    warnings = WebhookEvent.objects.filter(type="warning.raised")
    assert {(e.data["merchant"], e.data["kind"]) for e in warnings} >= {
        (lines["diverts"].merchant.external_id, "fund_diversion"),
        (lines["cliff"].merchant.external_id, "sales_cliff"),
        (lines["quiet"].merchant.external_id, "gone_quiet"),
    }
    assert all(
        e.partner_id
        == next(
            line.merchant.partner_id
            for line in lines.values()
            if line.merchant.external_id == e.data["merchant"]
        )
        for e in warnings
    )
    (restricted,) = WebhookEvent.objects.filter(type="merchant.restricted")
    assert restricted.data["merchant"] == lines["defaulter"].merchant.external_id
    assert restricted.partner_id == lines["defaulter"].merchant.partner_id
    # The same date again raises nothing new.
    count = WebhookEvent.objects.count()
    monitoring.monitoring_run(on=ON)
    assert WebhookEvent.objects.count() == count
    deliver_all()
    # Every event since the endpoints were registered (the drawdowns before them went to nobody).
    told = WebhookEvent.objects.exclude(type="loan.disbursed")
    assert (
        WebhookDelivery.objects.filter(status="succeeded").count() == told.count() == len(receiver.requests)
    )
