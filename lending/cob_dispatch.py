"""Close of business fanned out over however many Celery workers consume the batch queue, without
any task waiting for another (a task that waited for chunks could be holding the very worker
those chunks need).

A business date's run moves by messages:
  start    the run opens with its chunks frozen on it (`cob.cob_run_start(by_wallet=True)`): the
           loan id ranges of the in-process close, and for the deduction and recovery steps
           ranges of wallet ids, so that all of a merchant's loans (which share one wallet) are
           in one chunk; pledged orders act on their loans; then the first step's chunk tasks
           are sent.
  chunk    one range of wallets through `cob.run_chunk`: its due step closes the chunk whole
           (due, deduction, accrual, each claimed once by its CobChunk row, in one
           transaction), the recovery follows once every chunk has closed. The task that finds
           its step's last row committed advances the run.
  advance  under the run's row lock, a step whose chunks are all done gets its report; only the
           task that wrote the report sends the next step's chunks, so two chunks finishing
           together do not send it twice. After the last step `cob.cob_run_finish` posts the
           day's aggregated entries, reconciles the books, marks the run done and moves the
           business date, and the next date up to `through` starts: dates close in order.
Every step's chunks run at once, over however many workers there are. A wallet too short for all
its loans pays them in loan id order, as the in-process close does: a chunk of wallets holds every
loan of its wallets and pays them in that order, and no two chunks share a wallet. The rows every
deduction chunk does share (the platform's accounts, the funding pools) are written last in its
transaction, after the ledger's deferred checks have run, locked in id order: chunks wait on each
other only for those few statements and the commit. A run that an older close started frozen by
loan ids alone (CobRun.wallet_bounds empty) keeps its deduction and recovery chunks one after
another, in chunk order (SERIAL_STEPS), since a wallet's loans may lie in several of them, and each
of its steps in its own transaction. A run frozen by wallet closes a chunk's due, deduction and
accrual in one transaction, as the in-process close does a chunk's: a worker killed mid-chunk, or
an API call between two chunks, finds every loan closed for the day or untouched.
Duplicates and redeliveries (every task is acks_late) are harmless: a claimed chunk is skipped,
a reported step is not reported again, a done run is not finished again. A chunk that raises is
retried (its transaction rolled back, so nothing is half-written); after the last retry the run
is marked failed and rerunning the close resumes it. A watch task re-sends the chunks that have
no row when nothing has moved for a while, which covers a message lost with a killed worker.
"""

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from common.business_date import business_date_today
from common.errors import ApplicationError
from lending import cob
from lending.models import CobChunk, CobRun
from lending.services.pledges import pledges_process

log = logging.getLogger(__name__)
SERIAL_STEPS = ("deduct", "recover")  # of a run frozen by loan ids alone: one at a time, in order
CHUNK_RETRIES = 5
# Set by a waiting dispatcher (cob_close_dispatch) while it lives; the stall check defers to it.
DISPATCHER_KEY = "lending:cob:dispatcher"
# Set by the stall check that took a date's close over, for a watch period: one take-over a period.
TAKEN_OVER_KEY = "lending:cob:taken-over:{on}"


def _ranges(run: CobRun | None, step: str) -> list[tuple[int, int]] | None:
    """The step's frozen chunks (cob.step_ranges), None without a run."""
    return None if run is None else cob.step_ranges(run, step)


def _serial(run: CobRun, step: str) -> bool:
    """Whether the step's chunks must run one after another: those that share wallets."""
    return step in SERIAL_STEPS and run.wallet_bounds is None


def _fail(run: CobRun, error: str) -> None:
    """Record why a run stopped (never over work another process finished); closing again
    resumes it."""
    CobRun.objects.filter(pk=run.pk).exclude(status=CobRun.Status.DONE).update(
        status=CobRun.Status.FAILED, error=error[:2000]
    )


def _reported(run: CobRun, step: str) -> bool:
    return any(report["step"] == step for report in run.steps)


def _send_chunks(
    on: dt.date,
    through: dt.date,
    step: str,
    ranges: list[tuple[int, int]],
    chunk_size: int | None,
    serial: bool = False,
) -> int:
    """Send the step's chunks that have no row yet (of a serial step, the first of them only);
    returns how many were sent."""
    from lending.tasks import cob_close_chunk

    done = set(CobChunk.objects.filter(business_on=on, step=step).values_list("chunk", flat=True))
    sent = 0
    for number, (lo, hi) in enumerate(ranges):
        if number not in done:
            cob_close_chunk.delay(
                on.isoformat(), through.isoformat(), step, number, lo, hi, len(ranges), chunk_size
            )
            sent += 1
            if serial:
                break
    return sent


def _send_start(through: dt.date, chunk_size: int | None) -> None:
    from lending.tasks import cob_close_start

    cob_close_start.delay(through.isoformat(), chunk_size)


def _watch_seconds() -> float:
    return settings.LENDING_COB_WATCH_SECONDS


def _send_watch(on: dt.date, through: dt.date, chunk_size: int | None, seen: int) -> None:
    from lending.tasks import cob_close_watch

    cob_close_watch.apply_async(
        (on.isoformat(), through.isoformat(), chunk_size, seen), countdown=_watch_seconds()
    )


def cob_close_start(*, through: dt.date, chunk_size: int | None = None) -> CobRun | None:
    """Start closing the current business date if it is not after `through`; the rest of the
    run, and the dates after it, follow by messages."""
    on = business_date_today()
    if on > through:
        return None
    run = cob.cob_run_start(on=on, chunk_size=chunk_size, by_wallet=True)
    if run.status == CobRun.Status.DONE:
        return run
    try:
        began = time.perf_counter()
        # Pledged orders that settled or were refunded act on their loans before due dates do
        # (each pledge once, so a repeated start does nothing more).
        handled = pledges_process(on=on)
        with transaction.atomic():
            run = CobRun.objects.select_for_update().get(pk=run.pk)
            if run.status == CobRun.Status.DONE:
                return run
            if not _reported(run, "pledges"):
                run.steps = [
                    *run.steps,
                    {
                        "step": "pledges",
                        "rows": handled,
                        "chunks": 0,
                        "seconds": round(time.perf_counter() - began, 3),
                    },
                ]
            run.status = CobRun.Status.RUNNING
            run.error = ""
            run.save(update_fields=["steps", "status", "error"])
    except Exception as exc:
        _fail(run, str(exc))
        raise
    # Sent after the commit: a chunk must find the start, and the start must stand.
    cob_close_advance(on=on, through=through, chunk_size=chunk_size, resend=True)
    _send_watch(on, through, chunk_size, seen=-1)
    return run


def cob_close_chunk_run(
    *,
    on: dt.date,
    through: dt.date,
    step: str,
    chunk: int,
    lo: int,
    hi: int,
    chunks: int,
    chunk_size: int | None = None,
) -> int | None:
    """One chunk, once; the task that completes its step advances the run."""
    status = CobRun.objects.filter(business_on=on).values_list("status", flat=True).first()
    if status is None or status == CobRun.Status.DONE:
        return None  # a stale message: nothing of a closed (or unknown) date runs again
    rows = cob.run_chunk(on=on, step=step, chunk=chunk, lo=lo, hi=hi)
    if CobChunk.objects.filter(business_on=on, step=step).count() >= chunks:
        cob_close_advance(on=on, through=through, chunk_size=chunk_size)
    elif step in SERIAL_STEPS and rows is not None:
        run = CobRun.objects.filter(business_on=on).first()
        if _serial(run, step):  # the next one, now this one is done
            _send_chunks(on, through, step, _ranges(run, step), chunk_size, serial=True)
    return rows


def _step_seconds(on: dt.date, step: str) -> float:
    """From the step's first claimed chunk to its report (chunks are claimed when they begin)."""
    first = CobChunk.objects.filter(business_on=on, step=step).aggregate(at=Min("done_at"))["at"]
    return (timezone.now() - first).total_seconds() if first else 0.0


def cob_close_advance(
    *, on: dt.date, through: dt.date, chunk_size: int | None = None, resend: bool = False
) -> CobRun | None:
    """Move the run of `on` on from what its rows say is done: report finished steps, send the
    next step's chunks, finish the run and start the next date. With `resend`, the current
    step's chunks without a row are sent again (after a start, or when the run stalled)."""
    run = CobRun.objects.filter(business_on=on).first()
    if run is None or run.status != CobRun.Status.RUNNING:
        return run
    may_send = resend
    for step in cob.ALL_STEPS:
        if _reported(run, step):
            continue
        ranges = _ranges(run, step)
        if CobChunk.objects.filter(business_on=on, step=step).count() < len(ranges):
            if may_send:
                _send_chunks(on, through, step, ranges, chunk_size, serial=_serial(run, step))
            return run
        with transaction.atomic():
            run = CobRun.objects.select_for_update().get(pk=run.pk)
            if run.status != CobRun.Status.RUNNING or _reported(run, step):
                return run  # another task reported it, and sends what follows
            rows = sum(CobChunk.objects.filter(business_on=on, step=step).values_list("rows", flat=True))
            report = {"step": step, "rows": rows, "chunks": len(ranges), "seconds": _step_seconds(on, step)}
            run.steps = [*run.steps, report]
            run.save(update_fields=["steps"])
        may_send = True
    run = CobRun.objects.get(pk=run.pk)
    if run.status != CobRun.Status.RUNNING:
        return run
    before = [report for report in run.steps if report["step"] not in cob.ALL_STEPS]
    timings = {report["step"]: report["seconds"] for report in run.steps if report["step"] in cob.ALL_STEPS}
    try:
        # Under the run's row lock, once: a second finishing task waits, then finds it done.
        run = cob.cob_run_finish(run=run, timings=timings, reports_before=before)
    except ApplicationError as exc:
        _fail(run, exc.message)
        log.error("close of business %s failed: %s", on, exc.message)
        return CobRun.objects.get(pk=run.pk)
    started = run.finished_at - run.started_at
    log.info("closed business date %s in %.1f s (fanned out)", on, started.total_seconds())
    if on < through:
        _send_start(through, chunk_size)
    return run


def cob_close_watch(*, on: dt.date, through: dt.date, chunk_size: int | None, seen: int) -> None:
    """If nothing moved since the last look, send again what is missing; then look again later.
    Stops when the run is done (the next date's start sends its own watch) or failed."""
    run = CobRun.objects.filter(business_on=on).first()
    if run is None or run.status == CobRun.Status.FAILED:
        return
    if run.status == CobRun.Status.DONE:
        following = on + dt.timedelta(days=1)
        if following <= through and not CobRun.objects.filter(business_on=following).exists():
            _send_start(through, chunk_size)  # the finishing task died before sending it
        return
    progress = CobChunk.objects.filter(business_on=on).count() + len(run.steps)
    if progress == seen:
        log.warning(
            "close of business %s has not moved for %s s: sending what is missing", on, _watch_seconds()
        )
        cob_close_advance(on=on, through=through, chunk_size=chunk_size, resend=True)
    _send_watch(on, through, chunk_size, seen=progress)


def cob_close_stop(*, on: dt.date, error: str) -> None:
    """A chunk that kept failing: the run is marked failed; closing again resumes it."""
    run = CobRun.objects.filter(business_on=on).first()
    if run is not None and run.status == CobRun.Status.RUNNING:
        _fail(run, error)


def _progress(first: dt.date, through: dt.date) -> tuple[int, int, int]:
    """What the dates from `first` through `through` have done so far: chunk rows, step reports
    and runs done (any of them grows as long as some worker works on the close)."""
    # One statement, summed by the database: polled every 0.1 s while a close is waited for.
    length = "jsonb_array_length" if connection.vendor == "postgresql" else "json_array_length"
    dates = (
        [first, through] if connection.vendor == "postgresql" else [first.isoformat(), through.isoformat()]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM lending_cobchunk WHERE business_on BETWEEN %s AND %s), "  # noqa: S608
            f"COALESCE(SUM({length}(steps)), 0), "
            "COALESCE(SUM(CASE WHEN status = %s THEN 1 ELSE 0 END), 0) "
            "FROM lending_cobrun WHERE business_on BETWEEN %s AND %s",
            [*dates, CobRun.Status.DONE.value, *dates],
        )
        chunks, reports, done = cursor.fetchone()
    return (int(chunks), int(reports), int(done))


def _take_over(through: dt.date, chunk_size: int | None) -> None:
    """The close has not moved for a while: its workers may have died with the messages they held
    (on Redis those come back only after the visibility timeout). Send again what the current
    date's run is missing; start it if no one did (a start killed before its pledges, or a
    finished date whose following start was lost with its worker)."""
    on = business_date_today()
    if on > through:
        return
    run = CobRun.objects.filter(business_on=on).first()
    log.warning("close of business %s has not moved for %s s: sending what is missing", on, _watch_seconds())
    if run is None or run.status != CobRun.Status.RUNNING or not _reported(run, "pledges"):
        cob_close_start(through=through, chunk_size=chunk_size)
    else:
        cob_close_advance(on=on, through=through, chunk_size=chunk_size, resend=True)


def cob_close_dispatch(*, through: dt.date, chunk_size: int | None = None, timeout: float) -> list[CobRun]:
    """Close every date from the current one through `through` on the workers, and wait for it
    here (outside any worker), taking the close over when nothing has moved for
    LENDING_COB_WATCH_SECONDS (a worker killed with what it held); returns the runs, in order."""
    first = business_date_today()
    # The first date starts here, so that a run that failed before is running again before the
    # wait below looks at it; the dates after it are started by the workers.
    cob_close_start(through=through, chunk_size=chunk_size)
    deadline = time.monotonic() + timeout
    # Each take-over that brings no progress doubles the wait before the next (no worker running
    # at all should not fill the queue with copies), up to ten watch periods.
    seen, still_since, patience = None, time.monotonic(), _watch_seconds()
    beat_at = 0.0
    while True:
        if time.monotonic() - beat_at >= 1:  # the stall check leaves a waited-for close to us
            cache.set(DISPATCHER_KEY, through.isoformat(), timeout=2 * _watch_seconds())
            beat_at = time.monotonic()
        runs = list(CobRun.objects.filter(business_on__range=(first, through)).order_by("business_on"))
        failed = [run for run in runs if run.status == CobRun.Status.FAILED]
        if failed:
            raise ApplicationError(f"close of business {failed[0].business_on} failed: {failed[0].error}")
        if first > through or (
            runs and runs[-1].business_on == through and runs[-1].status == CobRun.Status.DONE
        ):
            return runs
        if time.monotonic() > deadline:
            raise ApplicationError(
                f"close of business through {through} did not finish in time; rerun to resume"
            )
        progress = _progress(first, through)
        if progress != seen:
            seen, still_since, patience = progress, time.monotonic(), _watch_seconds()
        elif time.monotonic() - still_since >= patience:
            _take_over(through, chunk_size)
            still_since, patience = time.monotonic(), min(2 * patience, 10 * _watch_seconds())
        time.sleep(0.1)


def _last_moved(run: CobRun) -> dt.datetime:
    """When the run last showed progress: its start, or its last chunk row (claimed as the chunk
    begins)."""
    last = CobChunk.objects.filter(business_on=run.business_on).aggregate(at=Max("done_at"))["at"]
    return max(filter(None, [run.started_at, last, run.finished_at]))


def cob_stall_check(*, through: dt.date) -> dt.date | None:
    """Beat, every few minutes: a fanned-out close that has not moved for
    LENDING_COB_WATCH_SECONDS while no dispatcher waits for it (the nightly task's, whose workers
    were killed with the messages they held: on Redis those come back only after the visibility
    timeout) is taken over, as a waiting dispatcher would (_take_over: what the current date's
    run misses is sent again, or the date started if the one before it finished and its
    following start was lost). Returns the date taken over, None if nothing was stalled.

    Safe to run twice at once: the decision is made under the lock of the latest run's row
    (another check holding it is skipped, not waited for) and marked for a watch period, so one
    check takes a date over per period; what it sends is claimed chunk by chunk, so a chunk
    still running (only slow) or closed meanwhile is never closed twice."""
    on = business_date_today()
    if on > through:
        return None
    watch = dt.timedelta(seconds=_watch_seconds())
    now = timezone.now()
    with transaction.atomic():
        run = (
            CobRun.objects.select_for_update(skip_locked=True)
            .filter(business_on__in=[on, on - dt.timedelta(days=1)])
            .order_by("-business_on")
            .first()
        )
        if run is None or run.wallet_bounds is None:
            return None  # no close started, or one in process (its own process resumes it)
        if run.business_on == on:
            if run.status != CobRun.Status.RUNNING:
                return None  # done (the next date's start is the nightly's), or failed (for a person)
        elif run.status != CobRun.Status.DONE or run.finished_at < timezone.localtime(now).replace(
            hour=0, minute=0, second=0, microsecond=0
        ):
            return None  # the day before closed on an earlier night: today's close is the nightly's
        if now - _last_moved(run) < watch or cache.get(DISPATCHER_KEY):
            return None
        if not cache.add(
            TAKEN_OVER_KEY.format(on=on.isoformat()), now.isoformat(), timeout=watch.total_seconds()
        ):
            return None  # another check took it over within the period
    # Sent after the commit: the messages must find what the take-over wrote.
    _take_over(through, None)
    return on
