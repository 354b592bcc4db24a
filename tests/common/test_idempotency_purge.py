"""Old idempotency keys are forgotten each night; recent ones are kept."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from common.models import IdempotencyRecord
from common.tasks import idempotency_records_purge, idempotency_records_purge_nightly

pytestmark = pytest.mark.django_db


def _record(key: str, age: dt.timedelta) -> IdempotencyRecord:
    record = IdempotencyRecord.objects.create(
        scope="partner:1", endpoint="loans.draw", idempotency_key=key, fingerprint="0" * 64
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def test_purge_deletes_only_keys_past_retention_in_batches(settings):
    settings.IDEMPOTENCY_RETENTION_DAYS = 30
    old = [_record(f"old-{n}", dt.timedelta(days=30, minutes=1 + n)) for n in range(7)]
    kept = [_record("fresh", dt.timedelta(days=1)), _record("edge", dt.timedelta(days=29, hours=23))]

    assert idempotency_records_purge(batch=3) == len(old)
    assert set(IdempotencyRecord.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
    assert idempotency_records_purge_nightly() == 0  # a second run finds nothing


def test_purge_is_scheduled_nightly_on_the_batch_queue():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].startswith("common.tasks.")]
    assert [e["task"] for e in entries] == ["common.tasks.idempotency_records_purge_nightly"]
    assert settings.CELERY_TASK_ROUTES["common.tasks.*"]["queue"] == settings.CELERY_QUEUE_BATCH
