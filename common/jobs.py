"""Long jobs a person starts from a page and watches: one `Job` row per job, written by the worker
as it goes, read by the page through a JSON endpoint that static/common/jobs.js polls.

A page creates the job (`job_create`) and queues a task with its id; the task runs inside
`job_tracked`, which claims the job for this worker, reports progress (`done` of `total`, and a
message), and marks it done or failed. Every write is a compare-and-set UPDATE on the job's status,
so a finished job is never reopened by a late or repeated message. A worker that dies leaves its
jobs running: when a worker of that name starts again (Celery's `worker_ready`), its jobs are marked
failed, and a job whose worker has shown no sign of life for `JOBS_STALE_AFTER_SECONDS` is marked
failed when read. A message delivered again after that (acks late) claims the job anew and runs it.

While the body runs, a thread of the worker touches the job every `JOBS_HEARTBEAT_SECONDS`, so a
long step without progress reports is not taken for a dead worker, and a killed worker (the thread
dies with it) is.

Work that must not run twice at once (training, moving the demo's time) is created with a `lock`:
at most one job per lock is queued or running (a database constraint, so two pages posted at the
same moment cannot both start it); `job_create` refuses another with `JobAlreadyRunning`, naming
the job that runs. A job whose worker died stops counting once it is stale, so the work can always
be started again. The task also takes the lock of common/locks.py, which the management command
doing the same work holds: the job waits for a command that runs, and the other way round."""

import contextlib
import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, PositiveIntegerField, Q, Value, When
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from common.errors import ConflictError
from common.locks import exclusive
from common.models import Job

logger = logging.getLogger(__name__)

WORKER_GONE = gettext_noop("The worker running this job stopped before it finished. Start it again.")
STARTED = gettext_noop("Started")
WAITING = gettext_noop("Waiting for the same work started elsewhere to finish")


class JobAlreadyRunning(ConflictError):
    """A job with the same lock is queued or running: `job` is that one."""

    code = "already_running"

    def __init__(self, job: Job | None):
        super().__init__(gettext("The same work is already running; wait for it to finish."))
        self.job = job


def current_worker() -> str:
    """The Celery worker's node name (the same after a restart), or this process outside Celery."""
    from celery import current_task

    hostname = getattr(getattr(current_task, "request", None), "hostname", None) if current_task else None
    return hostname or f"process:{os.getpid()}"


def job_create(
    *, kind: str, created_by=None, subject: str = "", total: int = 0, result_url: str = "", lock: str = ""
) -> Job:
    """A queued job; the caller queues the task that runs it (on commit). With a `lock`, refused
    (`JobAlreadyRunning`) while another job with that lock is queued or running and not stale."""
    if lock:
        jobs_stale_fail(lock=lock)
    try:
        with transaction.atomic():
            return Job.objects.create(
                kind=kind,
                subject=subject,
                total=total,
                result_url=result_url,
                created_by=created_by,
                lock=lock,
            )
    except IntegrityError:
        if not lock:
            raise
        active = Job.objects.filter(lock=lock, status__in=ACTIVE).order_by("pk").first()
        raise JobAlreadyRunning(active) from None


ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)


def job_create_from_form(form, *, created_by, **fields) -> tuple[Job | None, bool]:
    """For a page's form that starts a job with a lock: (the new job, True); or (the running job
    this person started, False) to watch instead; or (None, False) with the form naming why when
    someone else's runs."""
    try:
        return job_create(created_by=created_by, **fields), True
    except JobAlreadyRunning as exc:
        if exc.job is not None and exc.job.created_by_id == created_by.pk:
            return exc.job, False
        form.add_error(None, exc.message)
        return None, False


def job_active(*, lock: str) -> Job | None:
    """The job holding `lock` now (stale ones failed first), for a page to show instead of a form."""
    jobs_stale_fail(lock=lock)
    return Job.objects.filter(lock=lock, status__in=ACTIVE).order_by("pk").first()


def jobs_stale_fail(*, lock: str) -> int:
    """Fail the jobs holding `lock` that no worker has shown life for in JOBS_STALE_AFTER_SECONDS:
    running with an old heartbeat, or queued that long with no worker taking them (a lost message).
    If such a message arrives after all, its job stays failed while another holds the lock."""
    stale_before = timezone.now() - dt.timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
    stale = Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale_before) | Q(
        status=Job.Status.QUEUED, created_at__lt=stale_before
    )
    return Job.objects.filter(stale, lock=lock).update(
        status=Job.Status.FAILED, error=WORKER_GONE, finished_at=timezone.now()
    )


def jobs_of(subject: str) -> list[int]:
    """The jobs working on `subject` (a page may have started it more than once)."""
    return list(Job.objects.filter(subject=subject).values_list("pk", flat=True))


def job_start(*, job_id: int, worker: str | None = None, total: int | None = None) -> bool:
    """Claim the job for this worker. False when it is done already (or gone), or when its work
    was started again since under the same lock (a message of a killed worker coming back after
    someone restarted the work must not do it a second time): nothing to do."""
    now = timezone.now()
    lock = Job.objects.filter(pk=job_id).values_list("lock", flat=True).first()
    if lock and Job.objects.filter(lock=lock, pk__gt=job_id).exists():
        return False
    fields = {
        "status": Job.Status.RUNNING,
        "worker": worker or current_worker(),
        "heartbeat_at": now,
        "error": "",
        "finished_at": None,
        "message": STARTED,
        "message_params": {},
    }
    if total is not None:
        fields["total"] = total
    try:
        with transaction.atomic():
            claimed = Job.objects.filter(pk=job_id).exclude(status=Job.Status.DONE).update(**fields)
    except IntegrityError:
        # A failed job's message came back while another job holds its lock: that one runs.
        return False
    if claimed:
        Job.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    return bool(claimed)


def job_progress(
    *, job_id: int, done: int, total: int | None = None, message: str = "", params: dict | None = None
) -> None:
    """Record how far a running job got (and that its worker lives); `message` is an English msgid."""
    # Never past the total (a database check): clamped in the UPDATE against the row's total.
    fields = {
        "done": Case(
            When(total=0, then=Value(done)),
            default=Least(Value(done), F("total"), output_field=PositiveIntegerField()),
            output_field=PositiveIntegerField(),
        ),
        "heartbeat_at": timezone.now(),
    }
    if total is not None:
        fields["total"] = total
        fields["done"] = min(done, total) if total else done
    if message:
        fields["message"] = message
        fields["message_params"] = params or {}
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(**fields)


def job_finish(
    *, job_id: int, result: dict | None = None, message: str = "", params: dict | None = None
) -> None:
    job = Job.objects.filter(pk=job_id).only("total", "done").first()
    if job is None:
        return
    now = timezone.now()
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        status=Job.Status.DONE,
        done=max(job.total, job.done) if job.total else job.done,
        total=max(job.total, job.done) if job.total else job.total,
        result=result or {},
        message=message,
        message_params=params or {},
        heartbeat_at=now,
        finished_at=now,
    )


def job_fail(*, job_id: int, error: str) -> None:
    now = timezone.now()
    Job.objects.filter(pk=job_id).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, error=error[:2000], heartbeat_at=now, finished_at=now
    )


def jobs_orphaned_fail(*, worker: str | None = None, stale_before: dt.datetime | None = None) -> int:
    """Mark failed the running jobs of a worker that has just (re)started, or whose last sign of
    life is older than `stale_before`. Returns how many."""
    if worker is None and stale_before is None:
        return 0
    which = Q()
    if worker is not None:
        which |= Q(worker=worker)
    if stale_before is not None:
        which |= Q(heartbeat_at__lt=stale_before)
    return Job.objects.filter(which, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED, error=WORKER_GONE, finished_at=timezone.now()
    )


@dataclass
class JobReporter:
    job_id: int
    result: dict | None = None  # what the job leaves for its result page

    def progress(self, done: int, total: int | None = None, message: str = "", **params) -> None:
        job_progress(job_id=self.job_id, done=done, total=total, message=message, params=params)


def _heartbeat(job_id: int, stop: threading.Event, every: float) -> None:
    """The worker lives: touch the running job until told to stop (a thread with its own
    connection; a failed write is only logged, the next one may succeed)."""
    try:
        while not stop.wait(every):
            try:
                Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
            except Exception:  # the job must not die of its heartbeat
                logger.warning("job %s: heartbeat not written", job_id, exc_info=True)
    finally:
        connection.close()


@contextlib.contextmanager
def _heartbeating(job_id: int) -> Iterator[None]:
    every = settings.JOBS_HEARTBEAT_SECONDS
    if not every:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_heartbeat, args=(job_id, stop, every), daemon=True, name=f"job-{job_id}-heartbeat"
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def job_tracked(job_id: int, *, total: int | None = None, lock: str = "") -> Iterator[JobReporter | None]:
    """Run a task's body as the job: claimed, then done when the body returns (its result set with
    `reporter.result`), failed with the exception's text when it raises (and the exception goes
    on, for the worker's log). Yields None when the job is done already or gone. With a `lock`,
    the body runs holding that lock of common/locks.py, waiting while a command holds it."""
    if not job_start(job_id=job_id, total=total):
        yield None
        return
    reporter = JobReporter(job_id)
    try:
        with _heartbeating(job_id), contextlib.ExitStack() as held:
            if lock:
                job_progress(job_id=job_id, done=0, message=WAITING)
                held.enter_context(exclusive(lock, wait=True))
                job_progress(job_id=job_id, done=0, message=STARTED)
            yield reporter
    except Exception as exc:
        job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    job_finish(job_id=job_id, result=reporter.result)


def job_for_reading(job: Job) -> Job:
    """The job as a page should see it: running without a sign of life for too long is failed."""
    if job.status == Job.Status.RUNNING and job.heartbeat_at is not None:
        stale_before = timezone.now() - dt.timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
        if job.heartbeat_at < stale_before and Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, heartbeat_at__lt=stale_before
        ).update(status=Job.Status.FAILED, error=WORKER_GONE, finished_at=timezone.now()):
            job.refresh_from_db()
    return job


def job_status_json(job: Job) -> dict:
    """What the page polls (in the reader's language)."""
    message = gettext(job.message) if job.message else ""
    if job.message_params:
        with contextlib.suppress(KeyError, ValueError, TypeError):
            message = message % job.message_params
    percent = 100 if job.status == Job.Status.DONE else (job.done * 100 // job.total if job.total else 0)
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "done": job.done,
        "total": job.total,
        "percent": min(percent, 100),
        "message": message,
        "error": gettext(job.error) if job.error == WORKER_GONE else job.error,
        "finished": job.status in (Job.Status.DONE, Job.Status.FAILED),
        "result_url": job.result_url if job.status == Job.Status.DONE else "",
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def on_worker_ready(sender=None, **kwargs) -> None:
    """Celery's worker_ready: a worker of this name that starts cannot still be running a job, so
    the jobs it held when it stopped are failed (they claim themselves again if redelivered)."""
    hostname = getattr(sender, "hostname", None)
    if hostname:
        count = jobs_orphaned_fail(worker=hostname)
        if count:
            logger.warning("%s job(s) of %s marked failed: their worker had stopped", count, hostname)
