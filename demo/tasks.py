"""The demo's background work: nightly, the marketplace trades each new day and the day closes."""

import datetime as dt

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext_noop

from common.business_date import business_date_today
from common.jobs import job_tracked
from common.models import Job
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


ADVANCE_KIND = "demo.advance"


@shared_task(name="demo.tasks.demo_advance_job")
def demo_advance_job(job_id: int, through: str) -> list[str]:
    """Trade, then close, every business date through `through` (ISO) for someone watching from
    the demo's page (a job, common/jobs.py, whose total is the number of dates): progress after
    each date. A date already closed is not closed again, so a redelivered message goes on from
    where the last one stopped."""
    with job_tracked(job_id, lock=ADVANCE_KIND) as job:
        if job is None:
            return []
        total = Job.objects.values_list("total", flat=True).get(pk=job_id)

        def closed(day, days_left: int) -> None:
            job.progress(total - days_left, total, gettext_noop("Closed %(date)s"), date=day.on.isoformat())

        last = dt.date.fromisoformat(through)
        dates = [day.on.isoformat() for day in demo_days_trade_and_close(through=last, on_closed=closed)]
        job.result = {"closed": dates, "business_date": business_date_today().isoformat()}
    return dates
