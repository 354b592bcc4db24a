"""Scoring's background work."""

import datetime as dt

from celery import shared_task

from common.business_date import business_date_today
from scoring.features import merchant_days_catch_up, snapshots_refresh

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
