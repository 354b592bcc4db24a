"""Scoring's background work. The nightly jobs are coordinators: each starts (or resumes) its
run for the date and sends the run's chunks to the batch queue, where any number of workers
share them (scoring/services/nightly.py). Called as plain functions (a command, the demo, a
test) they do the same chunks in this process instead."""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext_noop

from common.business_date import business_date_today
from common.jobs import job_fail, job_tracked
from scoring.models import NightlyRun
from scoring.services import nightly
from scoring.services.rating import rating_model
from scoring.services.registry import TrainingRefused, model_train

# Closed dates built again each night: orders a partner sends a little late still count.
LATE_DATA_DAYS = 3
# A job that needs an earlier one's run (rescoring needs the night's snapshots) looks again after
# this many seconds, at most WAIT_TRIES times (then it goes ahead with what there is).
WAIT_SECONDS = 60
WAIT_TRIES = 60


def _is_dispatched(task, dispatch: bool | None) -> bool:
    """Chunks go to the workers when a worker runs the coordinator, unless told otherwise; a
    direct call (or an eager one) does them here."""
    if dispatch is not None:
        return dispatch
    return not task.request.called_directly and not task.request.is_eager


def _go(task, run: NightlyRun, dispatch: bool | None) -> dict:
    if _is_dispatched(task, dispatch):
        return nightly.nightly_dispatch(run)
    return nightly.nightly_run_inline(run)


def _waits_for(task, *, kind: str, key: str, waited: int, dispatch: bool | None) -> bool:
    """Re-enqueue the coordinator with a countdown while the run it needs is still going: a
    worker is never held waiting for chunks that may need that same worker."""
    if not _is_dispatched(task, dispatch) or waited >= WAIT_TRIES:
        return False
    if nightly.nightly_is_finished(kind=kind, key=key) is not False:
        return False
    task.apply_async(
        kwargs={**task.request.kwargs, "waited": waited + 1},
        countdown=WAIT_SECONDS,
        queue=settings.CELERY_QUEUE_BATCH,
    )
    return True


@shared_task(bind=True, name="scoring.tasks.features_refresh")
def features_refresh(
    self, through: str | None = None, dispatch: bool | None = None, chunk_size: int | None = None
) -> dict:
    """Build the daily aggregates of every closed date not yet built through `through` (ISO
    date; default the last closed business date) and of its last LATE_DATA_DAYS dates again,
    then every merchant's features as of the day after. Idempotent: run again for the same date,
    it finishes what a crash left and writes nothing twice. `chunk_size`: merchants per chunk
    (default SCORING_NIGHTLY_CHUNK_SIZE, else 5,000), fixed when the run starts."""
    today = business_date_today()
    last = dt.date.fromisoformat(through) if through else today - dt.timedelta(days=1)
    run = nightly.features_run_start(through=last, on=today, redo_days=LATE_DATA_DAYS, chunk_size=chunk_size)
    return _go(self, run, dispatch)


@shared_task(bind=True, name="scoring.tasks.scores_refresh_nightly")
def scores_refresh_nightly(
    self,
    as_of: str | None = None,
    dispatch: bool | None = None,
    waited: int = 0,
    chunk_size: int | None = None,
) -> dict:
    """Rescore every active merchant from the snapshots features_refresh wrote (after its run of
    the night has finished), then rank them, issue the day's offers and thin the history
    (score_all). Idempotent per date; before any model is promoted it rates with the expert
    scorecard, so a new book gets ratings and offers from its first night."""
    on = dt.date.fromisoformat(as_of) if as_of else business_date_today()
    champion = rating_model()
    previous = (on - dt.timedelta(days=1)).isoformat()
    if _waits_for(self, kind=NightlyRun.Kind.FEATURES, key=previous, waited=waited, dispatch=dispatch):
        return {"as_of": on.isoformat(), "waiting_for": f"features {previous}"}
    run = nightly.scores_run_start(as_of=on, model=champion, chunk_size=chunk_size)
    return _go(self, run, dispatch)


@shared_task(acks_late=True, name="scoring.tasks.nightly_chunk")
def nightly_chunk(run_id: int, step: str, chunk: int) -> int | None:
    """One chunk of a nightly run; a redelivered or duplicate task writes nothing. The chunk
    that completes its phase sends the next one (or finishes the run)."""
    rows = nightly.nightly_chunk_run(run_id=run_id, step=step, chunk=chunk)
    if nightly.nightly_phase_completed(run_id=run_id, step=step):
        nightly.nightly_dispatch(NightlyRun.objects.get(pk=run_id))
    return rows


from scoring.monitoring.tasks import monitoring_nightly  # noqa: E402,F401
from scoring.sandbox.tasks import sandbox_execute  # noqa: E402,F401


@shared_task(name="scoring.tasks.portfolio_snapshot_nightly")
def portfolio_snapshot_nightly() -> str:
    """The portfolio page's history for the date just closed, so its first reader does not wait
    for it (scoring/portfolio.py); a date already taken is read, not computed again."""
    from scoring.portfolio import portfolio_snapshot_take

    last_closed = business_date_today() - dt.timedelta(days=1)
    portfolio_snapshot_take(last_closed=last_closed)
    return last_closed.isoformat()


TRAINING_KIND = "scoring.train"
TRAINING_STEPS = 2


@shared_task(name="scoring.tasks.model_train_job")
def model_train_job(
    job_id: int, *, actor: str, outcome_days: int = 90, bad_dpd: int = 30, seed: int = 0, promote: bool = True
) -> dict:
    """Train a scorecard on the platform's loans for a risk manager who watches it from a page
    (a job, common/jobs.py). Data that cannot train a model fails the job with the reason."""
    with job_tracked(job_id, lock=TRAINING_KIND) as job:
        if job is None:
            return {"job": job_id, "status": "done already"}
        job.progress(0, TRAINING_STEPS, gettext_noop("Reading the loans' outcomes and training"))
        try:
            model = model_train(
                actor=actor,
                as_of=business_date_today(),
                seed=seed,
                promote=promote,
                outcome_days=outcome_days,
                bad_dpd=bad_dpd,
            )
        except TrainingRefused as exc:
            job_fail(job_id=job_id, error=exc.message)
            return {"job": job_id, "status": "refused", "error": exc.message}
        job.progress(
            TRAINING_STEPS, TRAINING_STEPS, gettext_noop("Trained %(version)s"), version=model.version
        )
        job.result = {"model": model.pk, "version": model.version, "status": model.status}
    return {"job": job_id, "model": model.version}
