"""Webhook delivery on the `webhooks` queue: one task per delivery, so a slow or failing receiver
holds up only its own deliveries (and at most WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT workers)."""

from celery import shared_task

from merchants.webhooks import services


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=120)
def webhook_deliver(delivery_id: int) -> str:
    """One attempt; a failure queues the next with exponential backoff (the sweep finds any lost)."""
    result = services.delivery_attempt(delivery_id=delivery_id)
    if result.retry_in_seconds is not None:
        webhook_deliver.apply_async((delivery_id,), countdown=result.retry_in_seconds)
    return result.status


@shared_task(acks_late=True, ignore_result=True)
def webhooks_sweep() -> int:
    """Queue every due delivery without a message in the queue: bulk emits (close of business),
    and retries whose message was lost with a worker."""
    ids = services.deliveries_due()
    for pk in ids:
        webhook_deliver.delay(pk)
    return len(ids)
