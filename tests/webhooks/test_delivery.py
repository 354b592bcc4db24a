"""The outbox and delivery, against a real receiver on 127.0.0.1: an event exists exactly when its
change committed; a receiver that fails three times then succeeds gets one delivery marked
succeeded, every attempt logged and signed with the same event id; retries back off and end; an
officer redelivers by hand; slow receivers time out and hold up nobody else; private addresses
are refused outside the demo."""

import time

import pytest
from django.db import transaction

from merchants import services as merchants
from merchants.models import Merchant
from merchants.webhooks import services
from merchants.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from merchants.webhooks.services import Event, delivery_attempt, events_emit
from merchants.webhooks.signing import verify
from tests.merchants.factories import MerchantFactory


def endpoint_for(partner, receiver, types=("merchant.restricted",)):
    return services.endpoint_create(partner=partner, url=receiver.url, event_types=list(types))


def restrict(merchant: Merchant) -> None:
    merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")


def run_until_final(delivery_id: int, *, max_calls: int = 30) -> WebhookDelivery:
    """What the Celery task does, in process: attempt, wait the backoff, attempt again."""
    for _ in range(max_calls):
        result = delivery_attempt(delivery_id=delivery_id)
        if result.retry_in_seconds is None:
            break
        time.sleep(result.retry_in_seconds)
    return WebhookDelivery.objects.get(pk=delivery_id)


@pytest.mark.django_db
def test_a_receiver_failing_three_times_then_succeeding_gets_one_delivery_marked_succeeded(receivers):
    receiver = receivers([500, 502, 503, 200])
    merchant = MerchantFactory()
    _, secret = endpoint_for(merchant.partner, receiver)
    restrict(merchant)

    (delivery,) = WebhookDelivery.objects.all()
    final = run_until_final(delivery.pk)

    assert final.status == WebhookDelivery.Status.SUCCEEDED and final.attempts == 4
    assert final.last_status_code == 200 and final.succeeded_at is not None
    log = list(WebhookAttempt.objects.filter(delivery=final).values_list("number", "status_code"))
    assert log == [(1, 500), (2, 502), (3, 503), (4, 200)]
    assert all(a.latency_ms >= 0 and not a.is_manual for a in WebhookAttempt.objects.all())
    # Four POSTs of the same bytes, the same event id, each signed afresh with the endpoint's secret.
    assert len(receiver.requests) == 4
    assert {r.headers["Xiaodai-Event-Id"] for r in receiver.requests} == {final.event_id}
    assert len({r.body for r in receiver.requests}) == 1
    assert [r.headers["Xiaodai-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3", "4"]
    for r in receiver.requests:
        verify(secret, r.body, r.headers["Xiaodai-Signature"])
    body = receiver.requests[-1].json
    assert body["type"] == "merchant.restricted" and body["id"] == final.event_id
    assert body["data"] == {
        "merchant": merchant.external_id,
        "status": "restricted",
        "reason_code": "",
        "reason": "defaulter",
    }
    # Done is done: another message for it sends nothing.
    assert delivery_attempt(delivery_id=final.pk).sent is False
    assert len(receiver.requests) == 4


@pytest.mark.django_db
def test_retries_back_off_exponentially():
    from django.conf import settings

    settings_base = settings.WEBHOOKS_RETRY_BASE_SECONDS
    waits = [services.backoff_seconds(n) for n in range(1, 7)]
    assert waits[:4] == [settings_base * 2**k for k in range(4)]
    assert max(waits) == settings.WEBHOOKS_RETRY_MAX_SECONDS


@pytest.mark.django_db
def test_a_rolled_back_change_emits_nothing(receivers):
    receiver = receivers()
    merchant = MerchantFactory()
    endpoint_for(merchant.partner, receiver)

    with pytest.raises(RuntimeError), transaction.atomic():
        restrict(merchant)
        assert WebhookEvent.objects.count() == 1  # written beside the change …
        raise RuntimeError("the request fails after the change")

    # … and gone with it.
    assert Merchant.objects.get(pk=merchant.pk).status == Merchant.Status.ACTIVE
    assert WebhookEvent.objects.count() == 0 and WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_queues_its_delivery_after_the_commit_and_not_before(receivers, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "_enqueue", lambda ids: queued.extend(ids))
    receiver = receivers()
    merchant = MerchantFactory()
    endpoint_for(merchant.partner, receiver)

    with transaction.atomic():
        restrict(merchant)
        assert queued == []  # nothing leaves before the change is committed
    assert queued == list(WebhookDelivery.objects.values_list("pk", flat=True)) and len(queued) == 1

    with pytest.raises(RuntimeError), transaction.atomic():
        merchants.merchant_reinstate(merchant=merchant, reason="paid", actor="risk")
        restrict(merchant)
        raise RuntimeError
    assert len(queued) == 1 and WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_emitting_outside_a_transaction_is_refused():
    merchant = MerchantFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.event_emit(partner=merchant.partner, type="merchant.restricted", payload={})
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_only_the_partners_own_endpoints_subscribed_to_the_type_get_a_delivery(receivers):
    receiver = receivers()
    merchant = MerchantFactory()
    other = MerchantFactory()
    mine, _ = endpoint_for(merchant.partner, receiver)
    endpoint_for(merchant.partner, receiver, types=["loan.overdue"])
    endpoint_for(other.partner, receiver)
    off, _ = services.endpoint_create(
        partner=merchant.partner, url=receiver.url, event_types=["merchant.restricted"], description="off"
    )
    services.endpoint_update(endpoint=off, is_active=False)

    restrict(merchant)

    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [mine.pk]
    assert WebhookEvent.objects.get().partner_id == merchant.partner_id


@pytest.mark.django_db
def test_a_receiver_that_never_succeeds_is_given_up_after_the_last_attempt_and_redelivered_by_hand(
    receivers, settings
):
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    receiver = receivers([500, 500, 500, 200])
    merchant = MerchantFactory()
    endpoint_for(merchant.partner, receiver)
    restrict(merchant)
    delivery = WebhookDelivery.objects.get()

    final = run_until_final(delivery.pk)
    assert final.status == WebhookDelivery.Status.FAILED and final.attempts == 3
    assert final.next_attempt_at is None and len(receiver.requests) == 3
    assert delivery_attempt(delivery_id=delivery.pk).sent is False

    services.delivery_redeliver(delivery=final, actor="officer")
    final = run_until_final(delivery.pk)
    assert final.status == WebhookDelivery.Status.SUCCEEDED and final.attempts == 4
    manual = WebhookAttempt.objects.get(delivery=final, number=4)
    assert manual.is_manual and manual.status_code == 200
    assert receiver.requests[-1].headers["Xiaodai-Event-Id"] == final.event_id


@pytest.mark.django_db
def test_a_slow_receiver_times_out_and_is_retried_later(receivers, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    receiver = receivers([200], delays=[3.0])
    merchant = MerchantFactory()
    endpoint_for(merchant.partner, receiver)
    restrict(merchant)
    delivery = WebhookDelivery.objects.get()

    result = delivery_attempt(delivery_id=delivery.pk)

    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "timed out" in attempt.error
    assert attempt.latency_ms < 3000  # it did not wait for the slow answer
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and result.retry_in_seconds is not None


@pytest.mark.django_db
def test_one_endpoint_gets_at_most_its_share_of_workers(receivers, settings):
    settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT = 1
    slow, fast = receivers(), receivers()
    merchant, other = MerchantFactory(), MerchantFactory()
    endpoint_for(merchant.partner, slow)
    endpoint_for(other.partner, fast)
    restrict(merchant)
    merchants.merchant_reinstate(merchant=merchant, reason="ok", actor="risk")
    restrict(merchant)
    restrict(other)
    first, second, theirs = WebhookDelivery.objects.order_by("pk")
    # A worker is sending the first delivery to the slow endpoint right now (its claim is held).
    assert services._claim(first.pk, first.next_attempt_at) == "claimed"

    busy = delivery_attempt(delivery_id=second.pk)
    assert busy.sent is False and busy.status == "busy" and busy.retry_in_seconds > 0
    assert delivery_attempt(delivery_id=theirs.pk).status == WebhookDelivery.Status.SUCCEEDED
    assert len(fast.requests) == 1 and slow.requests == []


@pytest.mark.django_db
def test_redirects_are_answers_not_followed(receivers):
    receiver = receivers([302])
    merchant = MerchantFactory()
    endpoint_for(merchant.partner, receiver)
    restrict(merchant)
    delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    assert WebhookAttempt.objects.get().status_code == 302 and len(receiver.requests) == 1


@pytest.mark.django_db
def test_private_addresses_are_refused_outside_the_demo(receivers, settings):
    receiver = receivers()
    merchant = MerchantFactory()
    endpoint, _ = endpoint_for(merchant.partner, receiver)
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    settings.WEBHOOKS_ALLOW_HTTP = False

    for url, why in [
        (receiver.url, "must start with https://"),
        ("https://127.0.0.1/hooks", "private, loopback or reserved"),
        ("https://10.1.2.3/hooks", "private, loopback or reserved"),
        ("https://169.254.169.254/latest/meta-data", "private, loopback or reserved"),
        ("https://user:pw@example.com/hooks", "user name or password"),
    ]:
        with pytest.raises(Exception, match=why) as refused:
            services.endpoint_create(partner=merchant.partner, url=url, event_types=["loan.overdue"])
        assert "url" in refused.value.extra["fields"]

    # An endpoint registered before is not sent to either.
    restrict(merchant)
    delivery_attempt(delivery_id=WebhookDelivery.objects.get(endpoint=endpoint).pk)
    assert receiver.requests == [] and "https://" in WebhookAttempt.objects.get().error


@pytest.mark.django_db
def test_a_bulk_emit_writes_one_insert_of_events_and_one_of_deliveries(receivers, monkeypatch):
    from common.sql import values_execute

    statements = []

    def counting(sql, rows, **kwargs):
        statements.append((sql.split("(")[0].strip(), len(rows)))
        return values_execute(sql, rows, **kwargs)

    monkeypatch.setattr(services, "values_execute", counting)
    receiver = receivers()
    merchant = MerchantFactory()
    endpoint_for(merchant.partner, receiver, types=["loan.overdue"])
    partner = merchant.partner_id
    events = [Event(partner_id=partner, type="loan.overdue", data={"loan": f"L{i}"}) for i in range(3000)]
    assert events_emit(events=events) == 3000

    # One multi-row statement each (common.sql: a single VALUES list per 5,000 rows).
    assert statements == [
        ("INSERT INTO merchants_webhookevent", 3000),
        ("INSERT INTO merchants_webhookdelivery", 3000),
    ]
    assert WebhookDelivery.objects.count() == 3000
    assert WebhookEvent.objects.filter(data__loan="L2999", type="loan.overdue").count() == 1

    due = services.deliveries_due(limit=5000)
    assert sorted(due) == sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    assert services.deliveries_due() == []  # queued once, not again on the next sweep
