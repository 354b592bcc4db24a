"""Scoring's background work."""

import datetime as dt

from celery import shared_task

from common.business_date import business_date_today
from scoring.features import merchant_days_catch_up, snapshots_refresh
from scoring.selectors import champion_get
from scoring.services import offers_issue, scores_history_thin, scores_refresh_all

# Closed dates built again each night: orders a partner sends a little late still count.
LATE_DATA_DAYS = 3


@shared_task(name="scoring.tasks.features_refresh")
def features_refresh(through: str | None = None) -> dict:
    """Build the daily aggregates of every closed date not yet built through `through` (ISO
    date; default the last closed business date) and of its last LATE_DATA_DAYS dates again,
    then every merchant's features as of the day after. Idempotent: a repeat writes the same
    rows and the same snapshots."""
    last = dt.date.fromisoformat(through) if through else business_date_today() - dt.timedelta(days=1)
    built = merchant_days_catch_up(through=last, redo_days=LATE_DATA_DAYS)
    written = snapshots_refresh(as_of=last + dt.timedelta(days=1))
    return {"days_built": [day.isoformat() for day in built], "snapshots": written}


@shared_task(name="scoring.tasks.scores_refresh_nightly")
def scores_refresh_nightly(as_of: str | None = None) -> dict:
    """Rescore and rank every active merchant from the snapshots features_refresh wrote, then
    issue the day's offers (score_all). Idempotent per date; without a champion it does nothing
    and says so."""
    on = dt.date.fromisoformat(as_of) if as_of else business_date_today()
    if champion_get() is None:
        return {"as_of": on.isoformat(), "skipped": "no champion model: train and promote one first"}
    summary = scores_refresh_all(as_of=on)
    summary["offers_issued"] = offers_issue(as_of=on)
    summary["history_thinned"] = scores_history_thin(as_of=on)
    return summary


from scoring.monitoring.tasks import monitoring_nightly  # noqa: E402,F401
from scoring.sandbox.tasks import sandbox_execute  # noqa: E402,F401
