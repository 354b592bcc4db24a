"""Model monitoring on the workers: nightly, after the ratings are refreshed, fanned out by
period and cohort month (scoring/services/nightly.py)."""

import datetime as dt

from celery import shared_task

from common.business_date import business_date_today
from scoring.models import NightlyRun
from scoring.services import nightly


@shared_task(bind=True, name="scoring.monitoring.tasks.monitoring_nightly")
def monitoring_nightly(self, as_of: str | None = None, dispatch: bool | None = None, waited: int = 0) -> dict:
    """Drift reports for the closed weeks and months, outcomes by grade, alerts for new drift,
    once the night's rescoring has finished. Idempotent: a period already reported is not
    computed again, and alerts go out once."""
    from scoring.tasks import _go, _waits_for

    on = dt.date.fromisoformat(as_of) if as_of else business_date_today()
    if _waits_for(self, kind=NightlyRun.Kind.SCORES, key=on.isoformat(), waited=waited, dispatch=dispatch):
        return {"as_of": on.isoformat(), "waiting_for": f"scores {on.isoformat()}"}
    run = nightly.monitoring_run_start(as_of=on)
    return _go(self, run, dispatch)
