"""The relationship network's background work: the nightly rebuild of ring flags. Registered
through CELERY_IMPORTS (or imported from riskcontrol/tasks.py when the parts are merged)."""

import datetime as dt

from celery import shared_task

from common.business_date import business_date_today
from riskcontrol.network.services import network_build


@shared_task(acks_late=True)
def network_build_nightly(on: str | None = None) -> list[int]:
    """Rebuild every detector's flags for a business date (today's by default); idempotent."""
    day = dt.date.fromisoformat(on) if on else business_date_today()
    return [run.pk for run in network_build(on=day)]
