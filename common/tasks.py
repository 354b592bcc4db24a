"""Common background work: forgetting partner API idempotency keys once they are old."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.models import IdempotencyRecord

PURGE_BATCH = 5_000


def idempotency_records_purge(*, now: dt.datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the stored replies of keys older than IDEMPOTENCY_RETENTION_DAYS, in batches (no
    long lock on the table), and return how many went. A key resent after that is a new request;
    partners retry within minutes or hours, so the default of 30 days leaves a wide margin."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(id__in=ids).delete()[0]


@shared_task(acks_late=True)
def idempotency_records_purge_nightly() -> int:
    """Beat's nightly purge (idempotent: a second run finds nothing to delete)."""
    return idempotency_records_purge()
