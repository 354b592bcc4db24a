"""The API's instant decision writes its application.decided event (with a delivery to each
subscribed endpoint) in the round trip of the kept Idempotency-Key reply on PostgreSQL
(common.sql.writes_may_wait): the rows are those event_emit writes, each delivery is queued once
the transaction commits, and a refused request leaves neither event nor record."""

from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from common.models import IdempotencyRecord
from merchants.webhooks import services as webhooks
from merchants.webhooks.models import WebhookDelivery, WebhookEvent
from tests.lending.test_applications_api import apply, quote, shop, world  # noqa: F401


@pytest.mark.parametrize("listening", [0, 2], ids=["no endpoint", "two endpoints"])
def test_the_decided_event_goes_with_the_kept_reply(
    world,  # noqa: F811
    partner_client,
    listening,
    django_capture_on_commit_callbacks,
):
    partner = partner_client.partner
    endpoints = [
        webhooks.endpoint_create(
            partner=partner, url=f"https://example.com/h/{n}", event_types=["application.decided"]
        )[0]
        for n in range(listening)
    ]
    webhooks.endpoint_create(partner=partner, url="https://example.com/other", event_types=["loan.overdue"])
    shop(partner, "SHOP-1")
    sha = quote(partner_client).json()["contract_sha256"]
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    queued = []
    with (
        override_settings(LENDING_INSTANT_PAYOUT="async"),
        mock.patch.object(webhooks, "_enqueue", side_effect=lambda ids: queued.extend(ids)),
        mock.patch("lending.tasks.application_fulfil.delay"),
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as made_queries,
    ):
        made = apply(partner_client, body, key="k-1")
    writes = [q["sql"] for q in made_queries if "merchants_webhookevent" in q["sql"]]
    assert len(writes) == 1
    # One round trip for the reply and the event on PostgreSQL; SQLite sends each alone.
    together = "UPDATE common_idempotencyrecord" in writes[0]
    assert together == (connection.vendor == "postgresql")
    assert made.status_code == 201 and made.json()["status"] == "approved"
    event = WebhookEvent.objects.get(type="application.decided")
    assert event.partner_id == partner.pk and event.data["application"] == made.json()["reference"]
    assert event.data["outcome"] == "approved" and event.business_on is not None
    deliveries = list(WebhookDelivery.objects.filter(event=event).order_by("pk"))
    assert [d.endpoint_id for d in deliveries] == [e.pk for e in endpoints]
    assert sorted(queued) == [d.pk for d in deliveries]
    record = IdempotencyRecord.objects.get(idempotency_key="k-1")
    assert record.response_status == 201 and record.response_body["reference"] == made.json()["reference"]
    # The replay answers from the record and emits nothing more.
    again = apply(partner_client, body, key="k-1")
    assert again.status_code == 200 and WebhookEvent.objects.filter(type="application.decided").count() == 1


def test_a_request_failing_after_the_decision_leaves_no_event_no_application_and_no_record(
    world,  # noqa: F811
    partner_client,
):
    """The event waits while the reply is made; the reply fails: the transaction is rolled back
    whole and the waiting event is never sent (nor any of it left waiting on the connection)."""
    from common.errors import ConflictError
    from lending.models import Application

    shop(partner_client.partner, "SHOP-1")
    sha = quote(partner_client).json()["contract_sha256"]
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    with (
        override_settings(LENDING_INSTANT_PAYOUT="async"),
        mock.patch("lending.api.applications._application_body", side_effect=ConflictError("no reply")),
    ):
        refused = apply(partner_client, body, key="k-2")
    assert refused.status_code == 409
    assert not WebhookEvent.objects.filter(type="application.decided").exists()
    assert not Application.objects.exists()
    assert not IdempotencyRecord.objects.filter(idempotency_key="k-2").exists()
    assert not connection.execute_wrappers and getattr(connection, "_write_waiting", None) is None
    # The same key then decides once.
    with (
        override_settings(LENDING_INSTANT_PAYOUT="async"),
        mock.patch("lending.tasks.application_fulfil.delay"),
    ):
        made = apply(partner_client, body, key="k-2")
    assert made.status_code == 201
    assert WebhookEvent.objects.filter(type="application.decided").count() == 1
