"""End to end: what a partner sends through /api/v1/ reaches the merchant's features and the
nightly monitoring — a refund spike pushed through the API raises the refund-spike warning (and
the partner reads it back in the merchant's risk status); a suspension, returned parcels and a
failed verification each raise theirs; a default warns the defaulter's neighbours."""

import datetime as dt

import pytest
from django.utils import timezone

from common.business_date import business_date_set
from lending.models import Loan
from riskcontrol.models import MerchantRisk, RiskAction, Warning
from riskcontrol.monitoring import rules, services
from riskcontrol.monitoring.facts import facts_of_range
from scoring.features.aggregates import merchant_days_build
from scoring.features.snapshots import features_as_of
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import MerchantFactory, OrderFactory, OwnerFactory

TODAY = timezone.localdate()
ON = TODAY - dt.timedelta(days=1)  # the closed business date monitored
HISTORY_DAYS = 74


def _instant(day: dt.date, hour: int = 10) -> str:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone()).isoformat()


def _partner_merchant(client, external_id: str, n: int) -> None:
    reply = client.post(
        "/api/v1/merchants/",
        {
            "id": external_id,
            "shop_name": f"API shop {n}",
            "category": "apparel",
            "region": "zhejiang",
            "opened_on": (TODAY - dt.timedelta(days=400)).isoformat(),
            "owner": {
                "name": f"Owner {n}",
                "national_id": f"33010619900101{n:03d}" + "1",
                "phone": f"1390000{n:04d}",
                "address": f"Road {n}",
                "bank_card": f"62220000{n:08d}",
            },
        },
        format="json",
    )
    assert reply.status_code == 201, reply.content


def _orders(client, external_id: str, per_day: int = 4) -> list[str]:
    orders = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = TODAY - dt.timedelta(days=back)
        for k in range(per_day):
            at = _instant(day, 9 + k)
            orders.append(
                {
                    "id": f"{external_id}-{day:%m%d}-{k}",
                    "merchant_id": external_id,
                    "buyer_id": f"buyer-{back}-{k}",
                    "amount": "250.00",
                    "status": "paid",
                    "placed_at": at,
                    "paid_at": at,
                }
            )
    reply = client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert reply.status_code == 200, reply.content
    return [o["id"] for o in orders]


def _build_days() -> None:
    merchant_days_build(first_on=TODAY - dt.timedelta(days=HISTORY_DAYS + 1), last_on=ON, as_of=TODAY)


@pytest.fixture
def today(db):
    business_date_set(on=TODAY, allow_backwards=True)


def test_a_refund_spike_pushed_through_the_api_raises_the_warning(partner_client, today):
    _partner_merchant(partner_client, "SHOP-E2E", 1)
    order_ids = _orders(partner_client, "SHOP-E2E")
    line = CreditLineFactory(merchant=partner_client.partner.merchants.get(external_id="SHOP-E2E"))
    merchant_id = line.merchant_id
    _build_days()
    t = services.thresholds()
    before = facts_of_range(low=merchant_id, high=merchant_id, on=ON, t=t)[merchant_id]
    assert before.refunds_recent == 0 and not rules.assess(before, t).signals
    rate_before = features_as_of([merchant_id], TODAY).loc[merchant_id, "refund_rate_90d"]

    # Eight refunds over the last five days, on orders of those days: 8 of 56 recent orders.
    refunds = [
        {
            "id": f"RF-{k}",
            "order_id": order_ids[-1 - 2 * k],
            "amount": "250.00",
            "refunded_at": _instant(ON - dt.timedelta(days=k // 2), 20),
            "reason": "not as described",
        }
        for k in range(8)
    ]
    reply = partner_client.post("/api/v1/refunds/", {"refunds": refunds}, format="json")
    assert reply.json() == {"created": 8, "updated": 0, "unchanged": 0}
    _build_days()

    assert features_as_of([merchant_id], TODAY).loc[merchant_id, "refund_rate_90d"] > (rate_before or 0)
    services.monitoring_run(on=ON)
    warning = Warning.objects.get(merchant_id=merchant_id, status="open")
    assert warning.kind == "refund_spike" and warning.facts["refunds_recent"] == 8
    assert MerchantRisk.objects.get(merchant_id=merchant_id).score >= 15

    status = partner_client.get("/api/v1/merchants/SHOP-E2E/risk/").json()
    assert [w["kind"] for w in status["warnings"]] == ["refund_spike"]


def test_a_suspension_returned_parcels_and_a_failed_check_sent_by_the_partner_raise_theirs(
    partner_client, today
):
    for n, name in enumerate(("SUSPENDED", "PARCELS", "CHECKED", "CALM"), start=2):
        _partner_merchant(partner_client, name, n)
    ids = {}
    for name in ("SUSPENDED", "PARCELS", "CHECKED", "CALM"):
        ids[name] = _orders(partner_client, name)
        CreditLineFactory(merchant=partner_client.partner.merchants.get(external_id=name))
    _build_days()
    post = partner_client.post
    assert (
        post(
            "/api/v1/merchant-status/",
            {
                "changes": [
                    {
                        "id": "ST-1",
                        "merchant_id": "SUSPENDED",
                        "status": "suspended",
                        "reason": "counterfeit goods",
                        "changed_at": _instant(ON),
                    }
                ]
            },
            format="json",
        ).status_code
        == 200
    )
    events = [
        {
            "id": f"LG-{k}",
            "order_id": ids["PARCELS"][-1 - k],
            "kind": "returned",
            "occurred_at": _instant(ON, 21),
        }
        for k in range(7)
    ]
    assert post("/api/v1/logistics-events/", {"events": events}, format="json").status_code == 200
    check = {
        "id": "V-1",
        "merchant_id": "CHECKED",
        "kind": "business_licence",
        "provider": "registry",
        "result": "failed",
        "checked_on": ON.isoformat(),
    }
    assert post("/api/v1/verifications/", {"verifications": [check]}, format="json").status_code == 200

    services.monitoring_run(on=ON)
    merchants = partner_client.partner.merchants
    kinds = {
        name: set(
            Warning.objects.filter(merchant=merchants.get(external_id=name)).values_list("kind", flat=True)
        )
        for name in ids
    }
    assert kinds == {
        "SUSPENDED": {"shop_suspended"},
        "PARCELS": {"logistics_failures"},
        "CHECKED": {"verification_failed"},
        "CALM": set(),
    }
    # Suspended by its platform: 40 points, orange: the unused line is cut.
    suspended = merchants.get(external_id="SUSPENDED")
    assert MerchantRisk.objects.get(merchant=suspended).level == "orange"
    assert RiskAction.objects.filter(merchant=suspended, kind="cut_unused_line").exists()


def test_a_default_warns_the_shops_linked_to_the_defaulter_and_no_one_else(db, today):
    from tests.lending.conftest import draw, open_pool

    open_pool()
    business_date_set(on=TODAY, allow_backwards=True)
    shared = OwnerFactory()
    defaulter = CreditLineFactory(merchant=MerchantFactory(owner=shared))
    sibling = CreditLineFactory(merchant=MerchantFactory(owner=OwnerFactory(phone=shared.phone)))
    buyer = CreditLineFactory()
    stranger = CreditLineFactory()
    # The buyer bought from the defaulter: a trade link.
    OrderFactory(merchant=defaulter.merchant, buyer_merchant=buyer.merchant)
    loan = draw(defaulter, 1_000_000, key="defaulter")
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.OVERDUE, days_past_due=95, max_days_past_due=95)

    services.monitoring_run(on=ON)
    warned = dict(Warning.objects.filter(kind="linked_default").values_list("merchant_id", "reasons"))
    assert set(warned) == {sibling.merchant_id, buyer.merchant_id}
    # The run writes its reasons in the default language, zh-Hans: "same phone", "trading partner".
    assert "同一手机号" in warned[sibling.merchant_id][0]["text"]
    assert "交易往来" in warned[buyer.merchant_id][0]["text"]
    # The defaulter is never named to its neighbours.
    assert defaulter.merchant.shop_name not in str(warned)
    # None of them trades (each has gone quiet); the link adds its 20 points on top.
    score = dict(MerchantRisk.objects.values_list("merchant_id", "score"))
    assert score[sibling.merchant_id] == score[stranger.merchant_id] + 20 == score[buyer.merchant_id]
