"""An instant approval paid asynchronously: its payout message (`application_fulfil`) is published
after the partner's reply has been sent, by the process that replied (when the server closes the
response), not while the partner waits; outside a request it is published at the commit; never
for a transaction rolled back; and a message lost with a process that died between the reply and
the publish is fulfilled by the beat's sweep. Through Django's WSGI handler, as gunicorn calls it:
the reply is whole before the response is closed."""

import base64
import datetime as dt
import json
import threading
import uuid
from unittest import mock

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from common.after_reply import publish_on_commit
from lending import tasks
from lending.models import Application, Loan
from lending.services.applications import applications_fulfil_sweep, applications_unfulfilled
from tests.conftest import requires_redis
from tests.lending.test_applications_api import TODAY, quote, shop
from tests.lending.test_applications_api import world as world  # the fixture
from tests.merchants.factories import ApiKeyFactory, PartnerPlatformFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("world")]


def application_environ(merchant: str, key: str) -> tuple[dict, object]:
    """A partner's instant application as a WSGI server hands it to Django, and its partner."""
    partner = PartnerPlatformFactory()
    raw = f"xd_{uuid.uuid4().hex[:8]}_" + "z" * 40
    ApiKeyFactory(partner=partner, raw_key=raw)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    shop(partner, merchant)
    sha = quote(client, merchant=merchant).json()["contract_sha256"]
    body = {"merchant": merchant, "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    request = RequestFactory().post(
        "/api/v1/applications/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    return request.environ, partner


def reply_without_closing(environ: dict):
    """What a WSGI server does up to writing the reply: (status, body, the response to close).
    As Django's test client does, the database connection is not closed around the request. The
    reply says its length, so the client has it whole before the server closes the connection."""
    statuses: list[str] = []
    lengths: list[str] = []
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(
            environ,
            lambda status, headers, exc_info=None: (
                statuses.append(status),
                lengths.extend(value for name, value in headers if name.lower() == "content-length"),
            ),
        )
        body = b"".join(response)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert lengths == [str(len(body))]
    return statuses[0], json.loads(body), response


def close(response) -> None:
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def queued_fulfilments(broker) -> list[tuple[str, list]]:
    """The messages waiting in the interactive queue on the Redis broker: (task, args) each."""
    found = []
    for raw in broker.lrange(settings.CELERY_QUEUE_INTERACTIVE, 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        found.append((message["headers"]["task"], args, raw))
    return found


@requires_redis
@override_settings(LENDING_INSTANT_PAYOUT="async")
def test_the_reply_is_sent_before_the_payout_is_published_to_redis_and_then_it_is():
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    environ, _ = application_environ("SHOP-AFTER-1", "after-1")
    before = {raw for *_, raw in queued_fulfilments(broker)}

    status, reply, response = reply_without_closing(environ)

    # The reply is whole (the approval committed) and nothing is queued yet.
    assert status.startswith("201"), reply
    assert reply["status"] == "approved"
    application = Application.objects.get(reference=reply["reference"])
    assert [m for m in queued_fulfilments(broker) if m[2] not in before] == []

    # The server closes the response once it has written it: then the message is in Redis.
    close(response)
    fresh = [m for m in queued_fulfilments(broker) if m[2] not in before]
    assert [(task, args) for task, args, _ in fresh] == [
        ("lending.tasks.application_fulfil", [application.pk, TODAY.isoformat()])
    ]
    for *_, raw in fresh:
        broker.lrem(settings.CELERY_QUEUE_INTERACTIVE, 1, raw)


@override_settings(LENDING_INSTANT_PAYOUT="async")
def test_the_publish_waits_for_the_response_to_be_closed_and_is_made_once():
    environ, _ = application_environ("SHOP-AFTER-2", "after-2")
    with mock.patch.object(tasks.application_fulfil, "delay") as publish:
        status, reply, response = reply_without_closing(environ)
        assert status.startswith("201") and reply["status"] == "approved"
        assert not publish.called
        close(response)
        application = Application.objects.get(reference=reply["reference"])
        publish.assert_called_once_with(application.pk, TODAY.isoformat())
        # The next request publishes only its own.
        close(reply_without_closing(application_environ("SHOP-AFTER-3", "after-3")[0])[2])
        assert publish.call_count == 2


@override_settings(LENDING_INSTANT_PAYOUT="async")
def test_a_publish_lost_with_the_process_that_replied_is_fulfilled_by_the_sweep():
    environ, partner = application_environ("SHOP-AFTER-4", "after-4")
    replies = []

    def serve_and_die():
        # The reply is written, then the process dies before it closes the response.
        try:
            replies.append(reply_without_closing(environ)[:2])
        finally:
            connection.close()

    with mock.patch.object(tasks.application_fulfil, "delay") as publish:
        worker = threading.Thread(target=serve_and_die)
        worker.start()
        worker.join()
        ((status, reply),) = replies
        assert status.startswith("201") and reply["status"] == "approved"
        assert not publish.called
    application = Application.objects.get(reference=reply["reference"])
    assert application.loan_id is None

    later = application.decided_at + dt.timedelta(minutes=1)
    assert applications_unfulfilled(now=later) == [application.pk]
    assert applications_fulfil_sweep(on=TODAY, now=later) == 1
    application.refresh_from_db()
    assert application.status == Application.Status.DISBURSED
    assert Loan.objects.filter(merchant__partner=partner).count() == 1


def test_outside_a_request_the_publish_is_made_at_the_commit_and_never_for_a_rollback():
    made = []
    with transaction.atomic():
        publish_on_commit(lambda: made.append("committed"))
        assert made == []
    assert made == ["committed"]

    with pytest.raises(RuntimeError), transaction.atomic():
        publish_on_commit(lambda: made.append("rolled back"))
        raise RuntimeError
    assert made == ["committed"]


def test_a_failed_publish_after_the_reply_is_logged_not_raised(caplog):
    from common import after_reply

    made = []

    def broken():
        raise ConnectionError("broker down")

    after_reply.request_started()
    with transaction.atomic():
        publish_on_commit(broken)
        publish_on_commit(lambda: made.append("next"))
    assert made == []
    after_reply.request_finished()
    assert made == ["next"]
    assert "publish after the reply failed" in caplog.text
