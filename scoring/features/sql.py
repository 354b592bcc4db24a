"""The few SQL fragments that differ between PostgreSQL and SQLite, for the feature pipeline."""

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@lru_cache(maxsize=4)
def _fixed_offset_minutes(tzname: str) -> int | None:
    """The zone's UTC offset in minutes if it has been the same since 2000 (Asia/Shanghai: +480),
    else None. A fixed offset lets SQLite turn instants into local dates with its own date()."""
    zone = ZoneInfo(tzname)
    offsets = {
        zone.utcoffset(dt.datetime(year, month, 15, 12))
        for year in range(2000, 2041)
        for month in (1, 4, 7, 10)
    }
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds() // 60)


def local_date(column: str) -> str:
    """The business date (local day in the platform's time zone) of a timestamp column."""
    tzname = settings.TIME_ZONE
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", tzname):  # a zone name goes into the SQL text
        raise ValueError(f"unexpected time zone name {tzname!r}")
    if is_postgres():
        return f"(({column}) AT TIME ZONE '{tzname}')::date"
    minutes = _fixed_offset_minutes(tzname)
    if minutes is not None:
        # Django stores instants on SQLite as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return f"date({column}, '{minutes:+d} minutes')"
    return f"django_datetime_cast_date({column}, '{tzname}', 'UTC')"


def day_start_param(on: dt.date):
    """Local midnight starting a business date, as a parameter compared with timestamp columns."""
    start = timezone.make_aware(dt.datetime.combine(on, dt.time.min))
    return connection.ops.adapt_datetimefield_value(start)


def date_param(on: dt.date):
    return on if is_postgres() else on.isoformat()


def days_before(later_param: str, column: str) -> str:
    """Whole days from a date column to a date parameter (later − column)."""
    if is_postgres():
        return f"(CAST({later_param} AS date) - {column})"
    return f"CAST(julianday({later_param}) - julianday({column}) AS INTEGER)"


def to_date(value) -> dt.date | None:
    """A DATE column's value as a date: SQLite hands back text."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def id_list(ids) -> str:
    """Integer ids inlined into an IN list (ints only, so nothing can be injected)."""
    return ",".join(str(int(pk)) for pk in ids) or "NULL"
