"""Lending's background work: close of business, nightly, fanned out as chunk tasks over however
many workers consume the batch queue (lending.cob_dispatch); no task waits for another."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from lending import cob_dispatch


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


@shared_task(acks_late=True)
def close_of_business_nightly() -> str | None:
    """Close every business date up to yesterday's calendar date: starts the first one; its
    chunks, and the dates after it, follow on the workers."""
    through = timezone.localdate() - dt.timedelta(days=1)
    run = cob_dispatch.cob_close_start(through=through)
    return None if run is None else run.business_on.isoformat()


@shared_task(acks_late=True)
def cob_close_start(through: str, chunk_size: int | None = None) -> str | None:
    """Start the current business date's close if it is not after `through`."""
    run = cob_dispatch.cob_close_start(through=_date(through), chunk_size=chunk_size)
    return None if run is None else run.business_on.isoformat()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def cob_close_chunk(
    self, on: str, through: str, step: str, chunk: int, lo: int, hi: int, chunks: int, chunk_size=None
) -> int | None:
    """One chunk of a fanned-out close; one that raises is rolled back and tried again, and
    after the last try its run is marked failed (closing again resumes it)."""
    try:
        return cob_dispatch.cob_close_chunk_run(
            on=_date(on),
            through=_date(through),
            step=step,
            chunk=chunk,
            lo=lo,
            hi=hi,
            chunks=chunks,
            chunk_size=chunk_size,
        )
    except Exception as exc:
        if self.request.retries >= cob_dispatch.CHUNK_RETRIES:
            cob_dispatch.cob_close_stop(on=_date(on), error=f"{step} chunk {chunk}: {exc}")
            raise
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc


@shared_task(acks_late=True)
def cob_close_watch(on: str, through: str, chunk_size: int | None, seen: int) -> None:
    """Re-send a stalled run's missing chunks; look again later."""
    cob_dispatch.cob_close_watch(on=_date(on), through=_date(through), chunk_size=chunk_size, seen=seen)


@shared_task
def cob_stall_check() -> str | None:
    """Beat: take over a fanned-out close that stalled with no dispatcher waiting for it (its
    workers killed with their messages): what it misses is sent again."""
    through = timezone.localdate() - dt.timedelta(days=1)
    taken = cob_dispatch.cob_stall_check(through=through)
    return None if taken is None else taken.isoformat()


@shared_task(acks_late=True)
def application_fulfil(application_id: int, on: str) -> str:
    """The instant path's payout when it is asynchronous: the approved application's line and
    loan (idempotent: a redelivered task finds them made)."""
    from lending.services.applications import application_fulfil as fulfil

    return fulfil(application_id=application_id, on=_date(on)).status


@shared_task(acks_late=True)
def applications_fulfil_sweep() -> int:
    """Approved applications whose payout message never reached a worker (the broker down at the
    commit, the process killed right after it), fulfilled on the current business date."""
    from common.business_date import business_date_today
    from lending.services.applications import applications_fulfil_sweep as sweep

    return sweep(on=business_date_today())


@shared_task(acks_late=True)
def loan_book_check_job(job_id: int) -> dict:
    """Each loan against its ledger entries and each entry against its loans, for the trial-balance
    page (queued from its button, or by `loan_book_check_nightly`): what it found kept on the job."""
    from lending.reconciliation import each_loan_check_run

    return each_loan_check_run(job_id=job_id)


@shared_task
def loan_book_check_nightly() -> int | None:
    """Beat, after the nightly reconcile: the check of each loan the trial-balance page shows."""
    from lending.reconciliation import each_loan_check_queue

    job, new = each_loan_check_queue()
    return job.pk if new else None
