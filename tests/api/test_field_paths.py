"""One form of a field's path in every error of the API: names and list positions joined by dots
(`orders.3.amount`), in `errors` and in `detail` alike, whichever part refused it — a serializer,
the order batch's reader, a service checking the batch against what is recorded, a webhook's or an
application's nested list. Never `orders[3].amount`."""

import json
import re

import pytest
from django.test import Client
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from common.api import field_errors
from common.errors import field_path, field_path_canonical
from merchants.api import batch
from merchants.models import Order

PROBLEM = "application/problem+json"
# A name, then names or list positions, joined by dots; a header's name has a hyphen.
PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[0-9]+|[A-Za-z_][A-Za-z0-9_]*))*")


def named(response, status: int = 400) -> list[str]:
    """The fields a problem names, each checked to be in the one form; a 400's `detail` starts
    with the first of them (a 409's sums the conflicts up)."""
    assert response.status_code == status, response.content[:400]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    fields = [error["field"] for error in body["errors"]]
    assert fields, body
    for field in fields:
        assert PATH.fullmatch(field), (field, body)
    assert "[" not in body["detail"], body["detail"]
    first = fields[0]
    if first != "body" and status == 400:
        assert body["detail"].startswith(f"{first}: "), (first, body["detail"])
    return fields


def order(n: int, **changes) -> dict:
    return {
        "id": f"PATH-{n}",
        "merchant_id": "SHOP-A",
        "buyer_id": "buyer-1",
        "amount": "120.50",
        "status": "placed",
        "placed_at": "2026-02-01T10:00:00+08:00",
        **changes,
    }


def plain(body) -> bytes:
    return json.dumps(body).encode()


def not_plain(body) -> bytes:
    # The same JSON with a space before each colon: the batch reader leaves it to the serializer.
    return json.dumps(body, separators=(", ", " : ")).encode()


def reader_takes(raw: bytes) -> bool:
    request = APIRequestFactory().post("/api/v1/orders/batch/", raw, content_type="application/json")
    try:
        batch._plain_rows(Request(request, parsers=[JSONParser()]))
    except Exception:
        return False
    return True


def post_batch(client, raw: bytes, key: str):
    return client.post(
        "/api/v1/orders/batch/", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_the_form_is_names_and_positions_joined_by_dots():
    assert field_path("orders", 3, "amount") == "orders.3.amount"
    assert field_path_canonical("orders[377].merchant_id") == "orders.377.merchant_id"
    assert field_path_canonical("orders.411.merchant_id") == "orders.411.merchant_id"
    assert field_errors({"orders[2].id": ["twice"], "orders": [{}, {"amount": ["bad"]}]}) == [
        {"field": "orders.2.id", "message": "twice"},
        {"field": "orders.1.amount", "message": "bad"},
    ]


@pytest.mark.parametrize("encode", [plain, not_plain], ids=["reader", "serializer"])
def test_a_batch_names_an_order_the_same_way_on_both_readers(world, client_a, encode):
    # What the batch checks against what is recorded: an order twice, an unknown merchant.
    twice = {"orders": [order(0), order(1), order(0)]}
    assert reader_takes(encode(twice)) == (encode is plain)
    assert named(post_batch(client_a, encode(twice), "twice")) == ["orders.2.external_id"]
    unknown = {"orders": [order(0), order(1, merchant_id="SHOP-B")]}
    assert named(post_batch(client_a, encode(unknown), "unknown")) == ["orders.1.merchant_id"]
    # What the serializer refuses.
    bad = {"orders": [order(0), order(1, amount="1.005")]}
    assert named(post_batch(client_a, encode(bad), "bad")) == ["orders.1.amount"]
    assert not Order.objects.filter(external_id__startswith="PATH-").exists()


def test_a_batch_conflicting_with_a_recorded_order_names_it_by_its_path(world, client_a):
    assert post_batch(client_a, plain({"orders": [order(0)]}), "first").status_code == 200
    changed = {"orders": [order(1), order(0, amount="99.00")]}
    assert named(post_batch(client_a, plain(changed), "second"), 409) == ["orders.1.external_id"]
    assert not Order.objects.filter(external_id="PATH-1").exists()


def test_a_single_order_names_its_own_fields(world, client_a):
    response = client_a.post(
        "/api/v1/orders/", order(0, merchant_id="SHOP-B"), format="json", HTTP_IDEMPOTENCY_KEY="one"
    )
    assert named(response) == ["merchant_id"]


def test_a_signal_batch_names_the_item_by_its_path(world, client_a):
    refund = {"id": "R-1", "order_id": "ORD-A0", "amount": "1.00", "refunded_at": "2026-02-20T10:00:00+08:00"}
    response = client_a.post(
        "/api/v1/refunds/",
        {"refunds": [refund, {**refund, "id": "R-2", "order_id": "ORD-B0"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="refunds",
    )
    assert named(response, 404) == ["refunds.1.order_id"]


def test_a_webhook_endpoints_event_types_are_named_by_position(world, client_a):
    response = client_a.post(
        "/api/v1/webhooks/endpoints/",
        {"url": "https://hooks.example.com/x", "event_types": ["loan.disbursed", "loan.paid"]},
        format="json",
    )
    assert named(response) == ["event_types.1"]


def test_an_applications_orders_are_named_by_position(world, client_a):
    body = {"merchant": "SHOP-A", "product": "order_loan", "amount": "100.00"}
    twice = client_a.post(
        "/api/v1/applications/quote/", {**body, "orders": ["ORD-A0", "ORD-A1", "ORD-A0"]}, format="json"
    )
    assert named(twice) == ["orders.2"]
    theirs = client_a.post(
        "/api/v1/applications/quote/", {**body, "orders": ["ORD-A0", "ORD-B0"]}, format="json"
    )
    assert named(theirs) == ["orders.1"]
    too_long = client_a.post(
        "/api/v1/applications/quote/", {**body, "orders": ["ORD-A0", "x" * 65]}, format="json"
    )
    assert named(too_long) == ["orders.1"]


def test_the_schema_says_how_fields_are_named(world):
    schema = Client().get("/api/schema/?format=json").json()
    assert "`orders.3.amount`" in schema["info"]["description"]
