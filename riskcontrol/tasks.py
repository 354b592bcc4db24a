"""Risk control's background work: the nightly post-loan monitoring, run after close of business
and the scoring nightly (its daily trading aggregates). The coordinator starts (or resumes) the
run of the date and sends its missing chunks to the batch queue; the chunk that completes the
run finishes it. Called directly (a command, a test) it does the chunks here."""

import datetime as dt

from celery import shared_task
from django.conf import settings

from common.business_date import business_date_today
from riskcontrol.models import MonitoringRun
from riskcontrol.monitoring import services


@shared_task(bind=True, name="riskcontrol.tasks.monitoring_nightly")
def monitoring_nightly(self, on: str | None = None, dispatch: bool | None = None) -> dict:
    """Monitor the closed business date `on` (ISO; default the last closed date). Idempotent."""
    today = business_date_today()
    day = dt.date.fromisoformat(on) if on else today - dt.timedelta(days=1)
    if dispatch is None:
        dispatch = not self.request.called_directly and not self.request.is_eager
    if not dispatch:
        run = services.monitoring_run(on=day, today=today)
        return {"on": day.isoformat(), "status": run.status, **run.summary}
    run = services.monitoring_run_start(on=day)
    missing = services.monitoring_missing_chunks(run=run)
    for chunk in missing:
        monitoring_chunk.apply_async(
            args=[run.pk, chunk, today.isoformat()], queue=settings.CELERY_QUEUE_BATCH
        )
    if not missing:
        services.monitoring_run_finish(run=run)
    return {"on": day.isoformat(), "chunks_sent": len(missing)}


@shared_task(acks_late=True, name="riskcontrol.tasks.monitoring_chunk")
def monitoring_chunk(run_id: int, chunk: int, today: str | None = None) -> int | None:
    """One chunk of a monitoring run, done once; the last one finishes the run. `today`: the
    business date when the run's chunks were sent (ISO; a message sent before it was added has
    none and is read as the date after the monitored one)."""
    day = dt.date.fromisoformat(today) if today else None
    merchants = services.monitoring_chunk(run_id=run_id, chunk=chunk, today=day)
    run = MonitoringRun.objects.get(pk=run_id)
    if not services.monitoring_missing_chunks(run=run):
        services.monitoring_run_finish(run=run)
    return merchants
