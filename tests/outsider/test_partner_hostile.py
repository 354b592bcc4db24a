"""The partner API as a hostile second partner uses it: every field of the risk signals, the
application's device and the rest, sent as huge strings, control characters, nested JSON, wrong
types and impossible amounts; and partner A's merchant ids, order ids and idempotency keys sent
as its own. Always a 4xx problem naming the field, never a 500, nothing written, and nothing of
partner A's in any answer. (Schemathesis covers the spec's shapes; these are the values and the
cross-partner references it cannot know.)"""

import datetime as dt
import json

import pytest
from django.utils import timezone

from lending.models import Application
from merchants.models import (
    Complaint,
    Merchant,
    MerchantStatusChange,
    Order,
    Rating,
    Refund,
    Settlement,
    Verification,
)
from merchants.signal_models import Guarantee, LogisticsEvent, MerchantDevice
from tests.api.conftest import KEY_A, KEY_B, client_for, world_build
from tests.api.test_bad_input import _problem_naming, _set

WATCHED = [
    Application,
    Complaint,
    Guarantee,
    LogisticsEvent,
    Merchant,
    MerchantDevice,
    Order,
    Rating,
    Refund,
    Settlement,
    MerchantStatusChange,
    Verification,
]


@pytest.fixture
def world(db):
    return world_build()


def _at(days_ago: float) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).isoformat()


def _bodies(world) -> dict:
    """Partner B's valid requests, each on its own shop SHOP-B and order ORD-B0, and the fields
    whose values name something (merchant or order ids) or carry text or money."""
    return {
        "/api/v1/refunds/": (
            {"refunds": [{"id": "R-1", "order_id": "ORD-B0", "amount": "1.00", "refunded_at": _at(0.01)}]},
            {
                "refunds.0.id": "text",
                "refunds.0.order_id": "order",
                "refunds.0.amount": "amount",
                "refunds.0.reason": "text",
                "refunds.0.refunded_at": "instant",
            },
        ),
        "/api/v1/complaints/": (
            {
                "complaints": [
                    {"id": "C-1", "merchant_id": "SHOP-B", "category": "late_delivery", "filed_at": _at(0.01)}
                ]
            },
            {
                "complaints.0.id": "text",
                "complaints.0.merchant_id": "merchant",
                "complaints.0.order_id": "optional order",
                "complaints.0.category": "text",
                "complaints.0.filed_at": "instant",
            },
        ),
        "/api/v1/ratings/": (
            {"ratings": [{"id": "RT-1", "order_id": "ORD-B0", "stars": 4, "rated_at": _at(0.01)}]},
            {"ratings.0.id": "text", "ratings.0.order_id": "order", "ratings.0.stars": "int"},
        ),
        "/api/v1/logistics-events/": (
            {"events": [{"id": "L-1", "order_id": "ORD-B0", "kind": "picked_up", "occurred_at": _at(0.01)}]},
            {
                "events.0.id": "text",
                "events.0.order_id": "order",
                "events.0.carrier": "text",
                "events.0.tracking_number": "text",
            },
        ),
        "/api/v1/verifications/": (
            {
                "verifications": [
                    {
                        "id": "V-1",
                        "merchant_id": "SHOP-B",
                        "kind": "business_licence",
                        "provider": "天眼查",
                        "result": "verified",
                        "checked_on": "2026-02-20",
                    }
                ]
            },
            {
                "verifications.0.id": "text",
                "verifications.0.merchant_id": "merchant",
                "verifications.0.provider": "text",
                "verifications.0.reference": "text",
            },
        ),
        "/api/v1/merchant-status/": (
            {
                "changes": [
                    {
                        "id": "MS-1",
                        "merchant_id": "SHOP-B",
                        "status": "suspended",
                        "reason": "audit",
                        "changed_at": _at(0.01),
                    }
                ]
            },
            {"changes.0.id": "text", "changes.0.merchant_id": "merchant", "changes.0.reason": "text"},
        ),
        "/api/v1/devices/": (
            {
                "devices": [
                    {
                        "id": "D-1",
                        "merchant_id": "SHOP-B",
                        "fingerprint": "fp-0123456789",
                        "seen_at": _at(0.01),
                    }
                ]
            },
            {
                "devices.0.id": "text",
                "devices.0.merchant_id": "merchant",
                "devices.0.fingerprint": "text",
                "devices.0.seen_at": "instant",
            },
        ),
        "/api/v1/settlements/": (
            {
                "id": "SET-B",
                "merchant_id": "SHOP-B",
                "amount": "10.00",
                "settled_on": "2026-02-27",
                "order_count": 1,
            },
            {"id": "text", "merchant_id": "merchant", "amount": "amount", "order_count": "int"},
        ),
        "/api/v1/orders/": (
            {
                "id": "ORD-B-NEW",
                "merchant_id": "SHOP-B",
                "buyer_id": "buyer-1",
                "amount": "19.90",
                "status": "paid",
                "placed_at": _at(0.02),
                "paid_at": _at(0.01),
            },
            {"id": "text", "merchant_id": "merchant", "buyer_id": "text", "amount": "amount"},
        ),
        "/api/v1/applications/": (
            {"merchant": "SHOP-B", "product": "credit_loan", "amount": "2000.00", "device": "fp-0123456789"},
            {
                "merchant": "merchant",
                "product": "text",
                "amount": "amount",
                "device": "text",
                "accepted_sha256": "text",
            },
        ),
    }


HOSTILE = {
    "text": [
        "x" * 100_000,
        "a\u202eb-reversed",
        "a\x1b[31mred",
        "a\x07bell-and-more",
        "a\u2066isolate\u2069",
        "a\x85nel-c1-control",
        {"nested": {"json": [1, {"deep": True}]}},
        ["a", "b"],
        12345678,
        1.5,
        True,
        None,
    ],
    "amount": ["-1.00", "-0.01", -5, "1e26", "9" * 40, "99999999999999999999.00", "NaN", {"yuan": "1"}, True],
    "int": [-1, 10**30, "1", 1.5, True, None, {"n": 1}],
    "instant": ["2999-01-01T00:00:00+08:00", "x" * 10_000, {"at": 1}, 1767225600],
}
# Partner A's objects, sent by partner B as its own.
FOREIGN = {"merchant": "SHOP-A", "order": "ORD-A0"}


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in WATCHED}


def _post(client, path: str, body, key: str = "hostile-1"):
    return client.post(
        path,
        json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def _refusal_problem(response, path: str) -> str | None:
    """None for a 4xx problem naming the field by its path (refunds.0.amount, the one form the
    API names fields by, whether the serializer or a service refused it), else what is wrong."""
    return _problem_naming(response, path)


def test_partner_bs_valid_bodies_are_accepted(world):
    """The baseline the hostile cases mutate: each is accepted as it is (so a refusal below is
    the hostile value's doing)."""
    client = client_for(KEY_B)
    for number, (path, (body, _)) in enumerate(_bodies(world).items()):
        response = _post(client, path, body, key=f"valid-{number}")
        assert response.status_code in (200, 201), (path, response.content[:300])


@pytest.mark.parametrize("path", list(_bodies(None)), ids=lambda p: p.strip("/").rsplit("/", 1)[-1])
def test_every_hostile_value_in_every_field_is_a_4xx_naming_it_and_writes_nothing(world, path):
    client = client_for(KEY_B)
    body, fields = _bodies(world)[path]
    before = _counts()
    failures = []
    for field, kind in fields.items():
        values = HOSTILE["text" if kind in ("merchant", "order", "optional order") else kind]
        for value in values if kind != "optional order" else [v for v in values if v is not None]:
            response = _post(client, path, _set(body, field, value))
            problem = _refusal_problem(response, field)
            if problem:
                failures.append(f"{field} = {json.dumps(value, ensure_ascii=False)[:60]}: {problem}")
    assert not failures, "\n".join(failures)
    assert _counts() == before


@pytest.mark.parametrize("path", list(_bodies(None)), ids=lambda p: p.strip("/").rsplit("/", 1)[-1])
def test_partner_as_merchant_and_order_ids_are_unknown_to_partner_b(world, path):
    """Partner B naming partner A's shop or order: a 4xx naming the field (404, as if there were
    no such thing), nothing written, and nothing of partner A's shop in the answer."""
    client = client_for(KEY_B)
    body, fields = _bodies(world)[path]
    before = _counts()
    failures = []
    for field, kind in fields.items():
        if kind not in FOREIGN:
            continue
        response = _post(client, path, _set(body, field, FOREIGN[kind]))
        problem = _refusal_problem(response, field)
        if problem:
            failures.append(f"{field} = {FOREIGN[kind]}: {problem}")
        elif response.status_code not in (400, 404):
            failures.append(f"{field} = {FOREIGN[kind]}: {response.status_code}, not 404")
        if world.shop_a.shop_name in response.content.decode():
            failures.append(f"{field}: partner A's shop name in the answer")
    assert not failures, "\n".join(failures)
    assert _counts() == before


def test_the_same_ids_under_two_partners_are_two_things(world):
    """Partner B may use ids partner A uses (ids are each partner's own): its SHOP-A and ORD-A0
    are new rows, and partner A's are untouched."""
    client_b = client_for(KEY_B)
    shop_a_before = Merchant.objects.values().get(pk=world.shop_a.pk)
    merchant = {
        "id": "SHOP-A",
        "shop_name": "乙方的店",
        "category": "服装",
        "region": "浙江",
        "opened_on": "2021-03-01",
        "owner": {
            "name": "李雷",
            "national_id": "110101199003070038",
            "phone": "13800002222",
            "address": "北京市东城区",
        },
    }
    response = _post(client_b, "/api/v1/merchants/", merchant, key="b-shop")
    assert response.status_code in (200, 201), response.content[:300]
    order = {
        "id": "ORD-A0",
        "merchant_id": "SHOP-A",
        "buyer_id": "b-buyer",
        "amount": "5.00",
        "status": "paid",
        "placed_at": _at(0.02),
        "paid_at": _at(0.01),
    }
    response = _post(client_b, "/api/v1/orders/", order, key="b-order")
    assert response.status_code in (200, 201), response.content[:300]
    assert Merchant.objects.values().get(pk=world.shop_a.pk) == shop_a_before
    assert Merchant.objects.filter(external_id="SHOP-A").count() == 2
    assert Order.objects.get(merchant=world.shop_a, external_id="ORD-A0").amount_fen == 500_000
    seen_by_b = client_b.get("/api/v1/merchants/SHOP-A/").json()
    assert seen_by_b["shop_name"] == "乙方的店"
    seen_by_a = client_for(KEY_A).get("/api/v1/merchants/SHOP-A/").json()
    assert seen_by_a["shop_name"] == world.shop_a.shop_name


def test_an_idempotency_key_partner_a_used_is_new_for_partner_b(world):
    """Keys are each partner's own: partner B sending partner A's key gets its own application,
    never partner A's answer."""
    client_a, client_b = client_for(KEY_A), client_for(KEY_B)
    mine = _post(
        client_a,
        "/api/v1/applications/",
        {"merchant": "SHOP-A", "product": "credit_loan", "amount": "2000.00"},
        key="shared-key",
    )
    assert mine.status_code in (200, 201), mine.content[:300]
    theirs = _post(
        client_b,
        "/api/v1/applications/",
        {"merchant": "SHOP-B", "product": "credit_loan", "amount": "2000.00"},
        key="shared-key",
    )
    assert theirs.status_code in (200, 201), theirs.content[:300]
    assert theirs.json()["reference"] != mine.json()["reference"]
    assert theirs.json()["merchant"] == "SHOP-B"
    listed = client_b.get("/api/v1/applications/").json()
    references = json.dumps(listed)
    assert mine.json()["reference"] not in references and "SHOP-A" not in references
