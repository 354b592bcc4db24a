"""The business date is not the wall clock: the demo fast-forwards it, production closes it
nightly. Everything that asks "what day is it" for business purposes asks here."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from common.errors import ApplicationError
from common.models import BusinessCalendar
from common.sql import fixed_rows


def business_date_today() -> dt.date:
    """The current business date; the wall-clock date until a calendar row exists."""
    rows = fixed_rows(
        "SELECT current_on FROM common_businesscalendar WHERE id = 1",
        [],
        [BusinessCalendar._meta.get_field("current_on")],
    )
    return rows[0][0] if rows else timezone.localdate()


@transaction.atomic
def business_date_set(*, on: dt.date, allow_backwards: bool = False) -> dt.date:
    """Move the business date; it never goes backwards except when a demo is rebuilt."""
    row = BusinessCalendar.objects.select_for_update().filter(pk=1).first()
    if row is None:
        BusinessCalendar.objects.create(pk=1, current_on=on)
        return on
    if on < row.current_on and not allow_backwards:
        raise ApplicationError(
            f"business date cannot go back from {row.current_on} to {on}",
            {"fields": {"on": ["earlier than the current business date"]}},
        )
    if on != row.current_on:
        # Setting the same date again leaves the business clock (business_now) running.
        row.current_on = on
        row.save(update_fields=["current_on", "updated_at"])
    return on


def business_now(now: dt.datetime | None = None) -> dt.datetime:
    """The business clock: what "now" is for a case (a stage's start, end and time limit, an
    interview slot, the assembly line's dwell times and days).

    A business date begins when it is set, at the wall clock's time of day, runs with the wall
    clock and stops at its last instant until the next date is set. In production close of
    business sets the new date a few minutes after midnight, so this is the wall clock but for
    those minutes; when the demo moves the date on many days in minutes, each new date begins at
    the hour the wall clock shows, whether the date lies behind or ahead of the wall date. It
    never goes back while the date moves forward. The wall clock until a calendar row exists."""
    now = now or timezone.now()
    rows = fixed_rows(
        "SELECT current_on, updated_at FROM common_businesscalendar WHERE id = 1",
        [],
        [BusinessCalendar._meta.get_field("current_on"), BusinessCalendar._meta.get_field("updated_at")],
    )
    if not rows:
        return now
    return business_clock(*rows[0], now=now)


def business_clock(on: dt.date, set_at: dt.datetime, *, now: dt.datetime) -> dt.datetime:
    """`business_now` from the calendar row already read (its date and when it was set)."""
    began = timezone.make_aware(dt.datetime.combine(on, timezone.localtime(set_at).time()))
    return min(began + max(now - set_at, dt.timedelta(0)), business_day_end(on))


def business_day_end(on: dt.date) -> dt.datetime:
    """The last instant of a business date in the platform's time zone."""
    start = timezone.make_aware(dt.datetime.combine(on, dt.time.min))
    return start + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
