"""Model monitoring on a Celery worker: nightly, after the ratings are refreshed."""

from celery import shared_task

from scoring.monitoring.services import monitoring_run


@shared_task(name="scoring.monitoring.tasks.monitoring_nightly")
def monitoring_nightly(as_of: str | None = None) -> dict:
    """Drift reports for the closed weeks and months, outcomes by grade, alerts for new drift.
    Idempotent: a period already reported is not computed again, and alerts go out once."""
    import datetime as dt

    return monitoring_run(as_of=dt.date.fromisoformat(as_of) if as_of else None)
