"""Celery tasks of the merchants app: interfaces that call one simulator service."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from merchants.models import SimulatorState
from merchants.simulator import marketplace_trade_through


@shared_task(name="merchants.tasks.marketplace_catch_up")
def marketplace_catch_up(on: str | None = None) -> list[str]:
    """Trade every untraded day of the demo marketplace through `on` (ISO date; default
    yesterday on the wall clock). A day already traded is never traded again, so a repeated or
    re-delivered run does nothing. Returns the days traded."""
    state = SimulatorState.objects.filter(pk=1).first()
    if state is None:
        return []
    through = dt.date.fromisoformat(on) if on else timezone.localdate() - dt.timedelta(days=1)
    return [report.on.isoformat() for report in marketplace_trade_through(through=through)]
