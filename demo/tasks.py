"""The demo's background work: nightly, the marketplace trades each new day and the day closes."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from demo.models import SimulatorState
from demo.services import demo_days_trade_and_close
from demo.simulator import marketplace_trade_through


@shared_task(name="demo.tasks.demo_days_trade_and_close")
def demo_days_trade_and_close_nightly(through: str | None = None) -> list[str]:
    """Trade, then close, every business date up to `through` (ISO date; default yesterday on
    the wall clock), in place of lending's nightly close. Closed dates and traded days are never
    done again, so a repeated or re-delivered run does nothing. Returns the dates closed."""
    if not SimulatorState.objects.filter(pk=1).exists():
        return []
    last = dt.date.fromisoformat(through) if through else timezone.localdate() - dt.timedelta(days=1)
    return [day.on.isoformat() for day in demo_days_trade_and_close(through=last)]


@shared_task(name="demo.tasks.marketplace_catch_up")
def marketplace_catch_up(on: str | None = None) -> list[str]:
    """Trade every untraded day of the demo marketplace through `on` (ISO date; default
    yesterday on the wall clock) without closing any. A day already traded is never traded
    again, so a repeated or re-delivered run does nothing. Returns the days traded."""
    state = SimulatorState.objects.filter(pk=1).first()
    if state is None:
        return []
    last = dt.date.fromisoformat(on) if on else timezone.localdate() - dt.timedelta(days=1)
    return [report.on.isoformat() for report in marketplace_trade_through(through=last)]
