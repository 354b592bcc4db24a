"""Partners send the signals risk control reads through /api/v1/: each kind in batches, all or
nothing, idempotent by the partner's id, scoped to the partner's own merchants and orders (a
stranger's is a 404), every bad field named."""

import datetime as dt

import pytest
from django.utils import timezone

from merchants.models import (
    Complaint,
    DeclaredFinancials,
    Merchant,
    MerchantStatusChange,
    Rating,
    Refund,
    Verification,
)
from merchants.signal_models import LogisticsEvent, SignalReceipt
from tests.merchants.factories import MerchantFactory, OrderFactory


def _at(days_ago: float) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).isoformat()


@pytest.fixture
def shop(partner_client):
    merchant = MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    order = OrderFactory(
        merchant=merchant,
        external_id="O-1",
        amount_fen=10_000,
        placed_at=timezone.now() - dt.timedelta(days=5),
    )
    return merchant, order


@pytest.fixture
def stranger(db):
    merchant = MerchantFactory(external_id="THEIRS")
    order = OrderFactory(merchant=merchant, external_id="O-THEIRS")
    return merchant, order


def test_refunds_are_recorded_once_and_a_resend_changes_nothing(partner_client, shop):
    merchant, _ = shop
    body = {
        "refunds": [
            {"id": "RF-1", "order_id": "O-1", "amount": "30.00", "refunded_at": _at(1), "reason": "damaged"},
            {"id": "RF-2", "order_id": "O-1", "amount": "20.50", "refunded_at": _at(1)},
        ]
    }
    first = partner_client.post("/api/v1/refunds/", body, format="json")
    assert first.status_code == 200, first.content
    assert first.json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = partner_client.post("/api/v1/refunds/", body, format="json")
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert sorted(Refund.objects.filter(merchant=merchant).values_list("amount_fen", flat=True)) == [
        2050,
        3000,
    ]
    assert SignalReceipt.objects.filter(kind="refund").count() == 2


def test_a_resend_with_other_content_is_a_conflict_and_writes_nothing_of_the_batch(partner_client, shop):
    partner_client.post(
        "/api/v1/refunds/",
        {"refunds": [{"id": "RF-1", "order_id": "O-1", "amount": "30.00", "refunded_at": _at(1)}]},
        format="json",
    )
    reply = partner_client.post(
        "/api/v1/refunds/",
        {
            "refunds": [
                {"id": "RF-9", "order_id": "O-1", "amount": "1.00", "refunded_at": _at(1)},
                {"id": "RF-1", "order_id": "O-1", "amount": "31.00", "refunded_at": _at(1)},
            ]
        },
        format="json",
    )
    assert reply.status_code == 409
    assert "refunds.1.id" in reply.json()["error"]["fields"]
    assert Refund.objects.count() == 1


def test_refunds_beyond_the_orders_amount_are_refused_naming_the_item(partner_client, shop):
    reply = partner_client.post(
        "/api/v1/refunds/",
        {
            "refunds": [
                {"id": "RF-1", "order_id": "O-1", "amount": "60.00", "refunded_at": _at(1)},
                {"id": "RF-2", "order_id": "O-1", "amount": "40.01", "refunded_at": _at(1)},
            ]
        },
        format="json",
    )
    assert reply.status_code == 400
    assert list(reply.json()["error"]["fields"]) == ["refunds.1.amount"]
    assert Refund.objects.count() == 0


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"amount": 12.5}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"refunded_at": "2999-01-01T00:00:00+08:00"}, "refunded_at"),
        ({"refunded_at": "yesterday"}, "refunded_at"),
        ({"order_id": None}, "order_id"),
    ],
)
def test_bad_fields_are_named(partner_client, shop, item, field):
    refund = {"id": "RF-1", "order_id": "O-1", "amount": "1.00", "refunded_at": _at(1), **item}
    reply = partner_client.post("/api/v1/refunds/", {"refunds": [refund]}, format="json")
    assert reply.status_code == 400, reply.content
    assert field in reply.json()["error"]["fields"]["refunds"]["0"]
    assert Refund.objects.count() == 0


def test_a_refund_before_the_order_was_placed_is_refused(partner_client, shop):
    reply = partner_client.post(
        "/api/v1/refunds/",
        {"refunds": [{"id": "RF-1", "order_id": "O-1", "amount": "1.00", "refunded_at": _at(30)}]},
        format="json",
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["fields"] == {"refunds.0.refunded_at": ["earlier than the order was placed"]}


def test_another_partners_order_or_merchant_is_not_found_and_nothing_is_written(
    partner_client, shop, stranger
):
    refunds = partner_client.post(
        "/api/v1/refunds/",
        {
            "refunds": [
                {"id": "RF-1", "order_id": "O-1", "amount": "1.00", "refunded_at": _at(1)},
                {"id": "RF-2", "order_id": "O-THEIRS", "amount": "1.00", "refunded_at": _at(1)},
            ]
        },
        format="json",
    )
    assert refunds.status_code == 404
    assert refunds.json()["error"]["fields"] == {"refunds.1.order_id": ["unknown order O-THEIRS"]}
    status = partner_client.post(
        "/api/v1/merchant-status/",
        {
            "changes": [
                {
                    "id": "S-1",
                    "merchant_id": "THEIRS",
                    "status": "closed",
                    "reason": "x",
                    "changed_at": _at(0),
                }
            ]
        },
        format="json",
    )
    assert status.status_code == 404
    assert Refund.objects.count() == 0
    assert Merchant.objects.get(external_id="THEIRS").status == Merchant.Status.ACTIVE


def test_complaints_are_upheld_by_a_resend(partner_client, shop):
    complaint = {
        "id": "C-1",
        "merchant_id": "SHOP-1",
        "order_id": "O-1",
        "category": "counterfeit",
        "filed_at": _at(1),
    }
    assert (
        partner_client.post("/api/v1/complaints/", {"complaints": [complaint]}, format="json").json()[
            "created"
        ]
        == 1
    )
    upheld = partner_client.post(
        "/api/v1/complaints/", {"complaints": [{**complaint, "is_upheld": True}]}, format="json"
    )
    assert upheld.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert Complaint.objects.get().is_upheld is True
    moved = partner_client.post(
        "/api/v1/complaints/", {"complaints": [{**complaint, "category": "service"}]}, format="json"
    )
    assert moved.status_code == 409


def test_ratings_once_per_order(partner_client, shop):
    rating = {"id": "R-1", "order_id": "O-1", "stars": 2, "rated_at": _at(1)}
    assert partner_client.post("/api/v1/ratings/", {"ratings": [rating]}, format="json").status_code == 200
    other = partner_client.post(
        "/api/v1/ratings/", {"ratings": [{**rating, "id": "R-2", "stars": 5}]}, format="json"
    )
    assert other.status_code == 409
    assert other.json()["error"]["fields"] == {"ratings.0.order_id": ["order O-1 already has a rating"]}
    bad = partner_client.post(
        "/api/v1/ratings/", {"ratings": [{**rating, "id": "R-3", "stars": 6}]}, format="json"
    )
    assert "stars" in bad.json()["error"]["fields"]["ratings"]["0"]
    assert Rating.objects.get().stars == 2


def test_logistics_events_are_recorded(partner_client, shop):
    _, order = shop
    reply = partner_client.post(
        "/api/v1/logistics-events/",
        {
            "events": [
                {"id": "L-1", "order_id": "O-1", "kind": "picked_up", "occurred_at": _at(4), "carrier": "SF"},
                {
                    "id": "L-2",
                    "order_id": "O-1",
                    "kind": "returned",
                    "occurred_at": _at(1),
                    "tracking_number": "SF1",
                },
            ]
        },
        format="json",
    )
    assert reply.json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert list(
        LogisticsEvent.objects.filter(order=order).order_by("occurred_at").values_list("kind", flat=True)
    ) == [
        "picked_up",
        "returned",
    ]
    unknown = partner_client.post(
        "/api/v1/logistics-events/",
        {"events": [{"id": "L-3", "order_id": "O-1", "kind": "teleported", "occurred_at": _at(1)}]},
        format="json",
    )
    assert "kind" in unknown.json()["error"]["fields"]["events"]["0"]


def test_a_pending_verification_is_completed_by_a_resend(partner_client, shop):
    check = {
        "id": "V-1",
        "merchant_id": "SHOP-1",
        "kind": "tax",
        "provider": "tax bureau",
        "result": "pending",
    }
    partner_client.post("/api/v1/verifications/", {"verifications": [check]}, format="json")
    undated = partner_client.post(
        "/api/v1/verifications/", {"verifications": [{**check, "result": "failed"}]}, format="json"
    )
    assert undated.json()["error"]["fields"]["verifications"]["0"] == {
        "checked_on": ["required when result is failed"]
    }
    done = partner_client.post(
        "/api/v1/verifications/",
        {"verifications": [{**check, "result": "failed", "checked_on": timezone.localdate().isoformat()}]},
        format="json",
    )
    assert done.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert Verification.objects.get().result == "failed"


def test_declared_financials_replace_the_year_and_refuse_floats(partner_client, shop):
    merchant, _ = shop
    year = timezone.localdate().year - 1
    row = {
        "id": "F-1",
        "merchant_id": "SHOP-1",
        "fiscal_year": year,
        "sales": "3200000.00",
        "net_profit_margin": "0.0800",
        "total_assets": "1500000.00",
        "total_liabilities": "400000.00",
        "platform_sales_share": "0.6500",
    }
    assert partner_client.post("/api/v1/financials/", {"financials": [row]}, format="json").status_code == 200
    again = partner_client.post(
        "/api/v1/financials/", {"financials": [{**row, "id": "F-2", "sales": "3300000.00"}]}, format="json"
    )
    assert again.json()["created"] == 1
    assert DeclaredFinancials.objects.get(merchant=merchant).sales_fen == 330_000_000
    floats = partner_client.post(
        "/api/v1/financials/",
        {"financials": [{**row, "id": "F-3", "net_profit_margin": 0.08}]},
        format="json",
    )
    assert "net_profit_margin" in floats.json()["error"]["fields"]["financials"]["0"]


def test_a_platform_suspends_closes_and_may_lift_only_its_own_suspension(partner_client, shop):
    merchant, _ = shop
    suspend = {
        "id": "S-1",
        "merchant_id": "SHOP-1",
        "status": "suspended",
        "reason": "fake goods",
        "changed_at": _at(0),
    }
    assert (
        partner_client.post("/api/v1/merchant-status/", {"changes": [suspend]}, format="json").json()[
            "created"
        ]
        == 1
    )
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.RESTRICTED
    assert (
        MerchantStatusChange.objects.get(merchant=merchant).actor == f"partner:{partner_client.partner.code}"
    )
    lift = {**suspend, "id": "S-2", "status": "active", "reason": "cleared"}
    assert (
        partner_client.post("/api/v1/merchant-status/", {"changes": [lift]}, format="json").status_code == 200
    )
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.ACTIVE

    # The lender's own restriction is not the platform's to lift.
    from merchants.services import merchant_restrict

    merchant_restrict(merchant=merchant, reason="defaulter", actor="post-loan monitoring")
    refused = partner_client.post(
        "/api/v1/merchant-status/", {"changes": [{**lift, "id": "S-3"}]}, format="json"
    )
    assert refused.status_code == 409
    assert "changes.0.status" in refused.json()["error"]["fields"]
    close = {**suspend, "id": "S-4", "status": "closed", "reason": "shop closed by owner"}
    assert (
        partner_client.post("/api/v1/merchant-status/", {"changes": [close]}, format="json").status_code
        == 200
    )
    reopen = partner_client.post(
        "/api/v1/merchant-status/", {"changes": [{**lift, "id": "S-5"}]}, format="json"
    )
    assert reopen.status_code == 409
    merchant.refresh_from_db()
    assert merchant.status == Merchant.Status.CLOSED


def test_an_oversize_batch_and_a_repeated_id_are_refused(partner_client, shop, settings):
    settings.PARTNER_API_MAX_BATCH = 2
    item = {"id": "RF-1", "order_id": "O-1", "amount": "1.00", "refunded_at": _at(1)}
    big = partner_client.post("/api/v1/refunds/", {"refunds": [item, item, item]}, format="json")
    assert big.status_code == 400 and "at most 2" in big.json()["error"]["fields"]["refunds"][0]
    twice = partner_client.post("/api/v1/refunds/", {"refunds": [item, item]}, format="json")
    assert twice.status_code == 400 and "refunds.1.id" in twice.json()["error"]["fields"]


def test_without_a_key_nothing_is_recorded(client, shop):
    reply = client.post("/api/v1/refunds/", {"refunds": []}, content_type="application/json")
    assert reply.status_code == 401


def test_the_schema_documents_the_signal_endpoints_with_examples(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/refunds/",
        "/api/v1/complaints/",
        "/api/v1/ratings/",
        "/api/v1/logistics-events/",
        "/api/v1/verifications/",
        "/api/v1/financials/",
        "/api/v1/merchant-status/",
    ):
        operation = schema["paths"][path]["post"]
        assert "risk signals" in operation["tags"]
        assert operation["requestBody"]["content"]["application/json"]["examples"], path
        assert {"200", "400", "404", "409"} <= set(operation["responses"]), path
