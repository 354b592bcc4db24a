"""event_emit's one statement on PostgreSQL (the event and its deliveries,
merchants.webhooks.services._event_insert_with_deliveries) stores what the two statements store:
the event as the ORM saves it, then a delivery per active subscribed endpoint."""

import datetime as dt

import pytest
from django.db import connection, transaction

from merchants.webhooks import services
from merchants.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.merchants.factories import PartnerPlatformFactory

PAYLOAD = {
    "application": "A-1",
    "amount": "2000.00",
    "reasons": [{"code": "x", "text": "说明"}],
    "term": None,
}
SKIPPED_EVENT = {"id", "created_at"}
SKIPPED_DELIVERY = {"id", "event_id", "next_attempt_at", "enqueued_at", "created_at"}


def _event(pk: str) -> dict:
    return {k: v for k, v in WebhookEvent.objects.filter(pk=pk).values()[0].items() if k not in SKIPPED_EVENT}


def _deliveries(event_id: str) -> list[dict]:
    rows = WebhookDelivery.objects.filter(event_id=event_id).order_by("pk").values()
    return [{k: v for k, v in row.items() if k not in SKIPPED_DELIVERY} for row in rows]


def _by_two_statements(partner, type: str, business_on) -> tuple[WebhookEvent, list[int]]:
    """What event_emit wrote before: the event by the ORM, then the deliveries' INSERT … SELECT."""
    event = WebhookEvent.objects.create(
        partner=partner, type=type, data=dict(PAYLOAD), business_on=business_on
    )
    return event, services._deliveries_create(event)


def _endpoint(partner, types: list[str], *, active: bool = True) -> WebhookEndpoint:
    # A distinct URL each: the same create twice is refused as a resend.
    url = f"https://example.com/hook/{WebhookEndpoint.objects.count()}"
    endpoint, _ = services.endpoint_create(partner=partner, url=url, event_types=types)
    if not active:
        services.endpoint_update(endpoint=endpoint, is_active=False)
    return endpoint


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="one statement on PostgreSQL only (SQLite: no writes in a WITH)"
)
@pytest.mark.parametrize("endpoints", ["none", "one", "several"])
@pytest.mark.parametrize("business_on", [None, dt.date(2026, 3, 2)])
def test_the_event_and_its_deliveries_in_one_statement_are_stored_as_in_two(endpoints, business_on):
    partner = PartnerPlatformFactory()
    other = PartnerPlatformFactory()
    listening = []
    if endpoints != "none":
        listening.append(_endpoint(partner, ["application.decided"]))
        _endpoint(partner, ["loan.overdue"])  # another type
        _endpoint(partner, ["application.decided"], active=False)  # switched off
        _endpoint(other, ["application.decided"])  # another partner's
    if endpoints == "several":
        listening.append(_endpoint(partner, ["loan.overdue", "application.decided"]))
    with transaction.atomic():
        by_orm, orm_ids = _by_two_statements(partner, "application.decided", business_on)
        written = WebhookEvent(partner_id=partner.pk, type="application.decided", data=dict(PAYLOAD))
        written.business_on = business_on
        ids = services._event_insert_with_deliveries(written)

    assert not written._state.adding
    assert WebhookEvent.objects.get(pk=written.pk).created_at == written.created_at
    assert _event(written.pk) == _event(by_orm.pk)
    assert len(ids) == len(orm_ids) == len(listening)
    assert sorted(ids) == sorted(
        WebhookDelivery.objects.filter(event_id=written.pk).values_list("pk", flat=True)
    )
    assert _deliveries(written.pk) == _deliveries(by_orm.pk)
    assert [d["endpoint_id"] for d in _deliveries(written.pk)] == [e.pk for e in listening]


@pytest.mark.django_db
def test_event_emit_writes_the_event_and_queues_each_delivery_after_the_commit(
    django_capture_on_commit_callbacks,
):
    partner = PartnerPlatformFactory()
    endpoint = _endpoint(partner, ["application.decided"])
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        event = services.event_emit(
            partner=partner, type="application.decided", payload=PAYLOAD, business_on=dt.date(2026, 3, 2)
        )
    stored = WebhookEvent.objects.get(pk=event.pk)
    assert (stored.partner_id, stored.type, stored.data, stored.business_on) == (
        partner.pk,
        "application.decided",
        PAYLOAD,
        dt.date(2026, 3, 2),
    )
    assert list(WebhookDelivery.objects.filter(event=stored).values_list("endpoint_id", flat=True)) == [
        endpoint.pk
    ]
    assert len(callbacks) == 1
