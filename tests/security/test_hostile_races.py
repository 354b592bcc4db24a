"""The same write sent several times at once without an Idempotency-Key (a partner's retry that
does not wait, two workers of one partner): every caller gets the order as recorded, never a 500,
and the order is recorded once. Real threads on PostgreSQL (transaction=True)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.models import Order, OrderStatusChange
from tests.conftest import requires_postgres
from tests.merchants.factories import MerchantFactory
from tests.security.conftest import at_once, partner_client_for

CALLERS = 8
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client():
    client = partner_client_for()
    client.raise_request_exception = False  # a 500 is an answer to check, not an exception here
    MerchantFactory(partner=client.partner, external_id="SHOP-1")
    return client


def _order(external_id: str) -> dict:
    placed = timezone.now() - dt.timedelta(hours=2)
    return {
        "id": external_id,
        "merchant_id": "SHOP-1",
        "buyer_id": "buyer-1",
        "amount": "19.90",
        "status": "paid",
        "placed_at": placed.isoformat(),
        "paid_at": (placed + dt.timedelta(minutes=5)).isoformat(),
    }


def _replies(client, path: str, body: dict) -> list:
    def call():
        caller = APIClient(raise_request_exception=False)
        caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
        return caller.post(path, body, format="json")

    replies = at_once([call for _ in range(CALLERS)])
    raised = [reply for reply in replies if isinstance(reply, BaseException)]
    assert not raised, raised[:3]
    return replies


def test_one_order_sent_at_once_is_recorded_once_and_every_caller_gets_it(client):
    replies = _replies(client, "/api/v1/orders/", _order("ORD-1"))
    assert sorted({reply.status_code for reply in replies}) in ([200, 201], [201]), [
        (reply.status_code, reply.content[:120]) for reply in replies
    ]
    assert [reply.status_code for reply in replies].count(201) == 1
    assert all(reply.json()["id"] == "ORD-1" for reply in replies)
    assert Order.objects.filter(partner=client.partner, external_id="ORD-1").count() == 1


def test_one_batch_sent_at_once_is_recorded_once(client):
    body = {"orders": [_order(f"ORD-B{n}") for n in range(20)]}
    replies = _replies(client, "/api/v1/orders/batch/", body)
    assert all(reply.status_code == 200 for reply in replies), [
        (reply.status_code, reply.content[:120]) for reply in replies if reply.status_code != 200
    ]
    assert sum(reply.json()["created"] for reply in replies) == 20
    assert sum(reply.json()["unchanged"] for reply in replies) == 20 * (CALLERS - 1)
    assert Order.objects.filter(partner=client.partner).count() == 20


def test_one_status_change_sent_at_once_moves_the_order_once_and_every_caller_gets_it(client):
    body = _order("ORD-S")
    assert client.post("/api/v1/orders/", body, format="json").status_code == 201
    at = (timezone.now() - dt.timedelta(minutes=30)).isoformat()
    replies = _replies(client, "/api/v1/orders/ORD-S/status/", {"status": "shipped", "at": at})
    assert all(reply.status_code == 200 for reply in replies), [
        (reply.status_code, reply.content[:120]) for reply in replies if reply.status_code != 200
    ]
    order = Order.objects.get(partner=client.partner, external_id="ORD-S")
    assert order.status == "shipped"
    assert OrderStatusChange.objects.filter(order=order, to_status="shipped").count() == 1
