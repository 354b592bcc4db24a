"""A partner's retry of a request whose answer it never got (a timeout, a dropped connection):
the order's status change resent as it was is answered as the first time and recorded once;
resent with another time it is a conflict naming `at`, and nothing moves."""

import datetime as dt

from django.utils import timezone

from merchants.models import Order, OrderStatusChange
from tests.api.test_bad_input import _problem_naming


def _move(client, body):
    return client.post("/api/v1/orders/ORD-A0/status/", body, format="json")


def test_a_status_change_resent_as_it_was_is_answered_again_and_recorded_once(world, client_a):
    at = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    first = _move(client_a, {"status": "delivered", "at": at})
    assert first.status_code == 200, first.content[:300]
    again = _move(client_a, {"status": "delivered", "at": at})
    assert again.status_code == 200, again.content[:300]
    assert again.json() == first.json()
    order = Order.objects.get(partner=world.partner_a, external_id="ORD-A0")
    assert OrderStatusChange.objects.filter(order=order, to_status="delivered").count() == 1


def test_a_status_change_resent_with_another_time_is_a_conflict_naming_at(world, client_a):
    at = timezone.now() - dt.timedelta(minutes=5)
    assert _move(client_a, {"status": "delivered", "at": at.isoformat()}).status_code == 200
    before = Order.objects.values().get(partner=world.partner_a, external_id="ORD-A0")
    other = _move(client_a, {"status": "delivered", "at": (at + dt.timedelta(minutes=1)).isoformat()})
    assert other.status_code == 409
    assert _problem_naming(other, "at") is None
    assert Order.objects.values().get(partner=world.partner_a, external_id="ORD-A0") == before
