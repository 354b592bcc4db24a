"""The same risk signal sent several times at once (a partner's retry that does not wait): every
caller gets 200, the signal is recorded once, and none is refused by a rule that only the other
callers' copy of the same signal broke (an order "already has a rating", refunds "over the
order's amount"). Real threads on PostgreSQL (transaction=True)."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.models import Rating, Refund
from tests.conftest import requires_postgres
from tests.merchants.factories import MerchantFactory, OrderFactory
from tests.security.conftest import at_once, partner_client_for

CALLERS = 10
ROUNDS = 4
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def client():
    client = partner_client_for()
    client.merchant = MerchantFactory(partner=client.partner, external_id="SHOP-1")
    return client


def _at_once(client, path: str, body: dict) -> list:
    def call():
        caller = APIClient(raise_request_exception=False)
        caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
        return caller.post(path, body, format="json")

    replies = at_once([call for _ in range(CALLERS)])
    assert not [reply for reply in replies if isinstance(reply, BaseException)]
    return replies


def _orders(client, n: int) -> list:
    placed = timezone.now() - dt.timedelta(days=2)
    return [
        OrderFactory(merchant=client.merchant, external_id=f"ORD-{i}", amount_fen=10_000, placed_at=placed)
        for i in range(n)
    ]


def test_one_rating_sent_at_once_is_recorded_once_and_refused_to_none(client):
    at = (timezone.now() - dt.timedelta(days=1)).isoformat()
    for order in _orders(client, ROUNDS):
        body = {
            "ratings": [
                {"id": f"R-{order.external_id}", "order_id": order.external_id, "stars": 4, "rated_at": at}
            ]
        }
        replies = _at_once(client, "/api/v1/ratings/", body)
        assert [reply.status_code for reply in replies] == [200] * CALLERS, [
            reply.content[:200] for reply in replies if reply.status_code != 200
        ]
        assert sum(reply.json()["created"] for reply in replies) == 1
        assert Rating.objects.filter(order=order).count() == 1


def test_one_refund_of_the_whole_order_sent_at_once_is_recorded_once_and_refused_to_none(client):
    at = (timezone.now() - dt.timedelta(days=1)).isoformat()
    for order in _orders(client, ROUNDS):
        body = {
            "refunds": [
                {
                    "id": f"F-{order.external_id}",
                    "order_id": order.external_id,
                    "amount": "100.00",
                    "refunded_at": at,
                }
            ]
        }
        replies = _at_once(client, "/api/v1/refunds/", body)
        assert [reply.status_code for reply in replies] == [200] * CALLERS, [
            reply.content[:200] for reply in replies if reply.status_code != 200
        ]
        assert Refund.objects.filter(order=order).count() == 1
