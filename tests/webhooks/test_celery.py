"""Delivery through a real Celery worker on Redis and PostgreSQL: the change commits, its task is
queued after the commit, and the retries are Celery messages with exponential countdowns; a slow
partner's receiver does not hold up another partner's webhooks."""

import itertools
import time
from asyncio import set_event_loop

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

from config.celery import app
from merchants import services as merchants
from merchants.webhooks import services
from merchants.webhooks.models import WebhookAttempt, WebhookDelivery
from merchants.webhooks.signing import verify
from tests.conftest import requires_postgres, requires_redis
from tests.merchants.factories import MerchantFactory

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]


def purge():
    with app.connection_for_write() as conn:
        for queue in django_settings.CELERY_QUEUES_ALL:
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def worker():
    purge()
    set_event_loop(None)
    with start_worker(
        app,
        queues=[django_settings.CELERY_QUEUE_WEBHOOKS],
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        shutdown_timeout=30,
        hostname="webhooks@test",
    ):
        yield
    set_event_loop(None)
    purge()


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_receiver_failing_three_times_gets_one_delivery_marked_succeeded_through_celery(receivers, worker):
    receiver = receivers([500, 500, 500, 200])
    merchant = MerchantFactory()
    _, secret = services.endpoint_create(
        partner=merchant.partner, url=receiver.url, event_types=["merchant.restricted"]
    )

    merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")

    assert wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").exists())
    time.sleep(0.5)  # anything still queued would arrive now
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.attempts == 4
    codes = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True))
    assert codes == [500, 500, 500, 200]
    assert len(receiver.requests) == 4
    assert {r.headers["Xiaodai-Event-Id"] for r in receiver.requests} == {delivery.event_id}
    for r in receiver.requests:
        verify(secret, r.body, r.headers["Xiaodai-Signature"])
    # The waits between attempts grew (0.05 s, 0.1 s, 0.2 s): backoff, not a tight loop.
    starts = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("started_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.05 * 2**i for i, gap in enumerate(gaps)), gaps


def test_a_slow_partner_does_not_hold_up_another(receivers, worker, settings):
    settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = 1
    settings.WEBHOOKS_BUSY_RETRY_SECONDS = 0.2
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5.0
    slow, fast = receivers([200], delays=[1.0]), receivers()
    laggard, prompt = MerchantFactory(), MerchantFactory()
    services.endpoint_create(partner=laggard.partner, url=slow.url, event_types=["merchant.restricted"])
    services.endpoint_create(partner=prompt.partner, url=fast.url, event_types=["merchant.restricted"])
    for _ in range(4):  # four webhooks to the slow receiver, one second each
        merchants.merchant_restrict(merchant=laggard, reason="defaulter", actor="risk")
        merchants.merchant_reinstate(merchant=laggard, reason="paid", actor="risk")

    merchants.merchant_restrict(merchant=prompt, reason="defaulter", actor="risk")

    assert wait_until(lambda: len(fast.requests) == 1, timeout=30)
    # The other partner's webhook arrived while the slow receiver still had work queued.
    assert WebhookDelivery.objects.filter(endpoint__partner=laggard.partner, status="pending").exists()
    assert wait_until(lambda: len(slow.requests) == 4, timeout=30)
    assert wait_until(lambda: WebhookDelivery.objects.filter(status="succeeded").count() == 5, timeout=30)
