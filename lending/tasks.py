"""Lending's background work: close of business, nightly, and its chunks on any worker."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from lending import cob


@shared_task(acks_late=True)
def cob_chunk(on: str, step: str, chunk: int, lo: int, hi: int) -> int | None:
    """One step over one chunk of loans; a redelivered or duplicate task does nothing."""
    return cob.run_chunk(on=dt.date.fromisoformat(on), step=step, chunk=chunk, lo=lo, hi=hi)


@shared_task
def close_of_business_nightly() -> list[str]:
    """Close every business date up to yesterday's calendar date. Runs the chunks in this task:
    dispatching them to other workers is `manage.py close_of_business --dispatch`, which must not
    run inside a worker that the chunks would wait for."""
    through = timezone.localdate() - dt.timedelta(days=1)
    return [run.business_on.isoformat() for run in cob.close_through(through=through)]
