"""Days and seasons of the demo marketplace.

Times inside the simulator are whole seconds since the Unix epoch (UTC) in numpy int64 arrays;
a business day runs from local midnight to local midnight in the platform's time zone.
"""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.utils import timezone

DAY_SECONDS = 86_400

# 春节 (Spring Festival) dates: logistics stop for about two weeks around them.
SPRING_FESTIVAL = {
    2015: dt.date(2015, 2, 19),
    2016: dt.date(2016, 2, 8),
    2017: dt.date(2017, 1, 28),
    2018: dt.date(2018, 2, 16),
    2019: dt.date(2019, 2, 5),
    2020: dt.date(2020, 1, 25),
    2021: dt.date(2021, 2, 12),
    2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22),
    2024: dt.date(2024, 2, 10),
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}

# Share of a day's orders placed in each local hour: quiet at night, peaks late morning and
# in the evening, as on Chinese marketplaces.
HOURLY_WEIGHTS = np.array(
    [
        2.0,
        1.0,
        0.5,
        0.3,
        0.2,
        0.3,
        0.8,
        1.8,
        3.0,
        4.5,
        5.5,
        5.5,
        4.5,
        4.5,
        5.0,
        5.0,
        4.8,
        4.5,
        4.5,
        5.5,
        6.5,
        7.0,
        6.5,
        4.0,
    ]
)
HOURLY_P = HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()


def day_start(on: dt.date) -> int:
    """Local midnight at the start of a business day, as epoch seconds. Always the platform's
    time zone (settings.TIME_ZONE), whatever zone a request may have activated."""
    return _day_start_cached(settings.TIME_ZONE, on.toordinal())


@lru_cache(maxsize=8192)
def _day_start_cached(zone: str, ordinal: int) -> int:
    midnight = dt.datetime.combine(dt.date.fromordinal(ordinal), dt.time.min)
    return int(timezone.make_aware(midnight, ZoneInfo(zone)).timestamp())


def day_starts(first: dt.date, count: int) -> np.ndarray:
    """Epoch seconds of the starts of `count` consecutive days from `first` (DST-safe)."""
    base = first.toordinal()
    zone = settings.TIME_ZONE
    return np.array([_day_start_cached(zone, base + i) for i in range(count)], dtype=np.int64)


def local_day_ordinals(times: np.ndarray, first: dt.date, count: int) -> np.ndarray:
    """The local calendar day (as a date ordinal) of each epoch-second instant, for instants
    inside the `count` days starting on `first`."""
    starts = day_starts(first, count + 1)
    return first.toordinal() + np.searchsorted(starts, times, side="right") - 1


def _spring_festival(year: int) -> dt.date:
    return SPRING_FESTIVAL.get(year, dt.date(year, 2, 5))


def promotion_shape(on: dt.date) -> float:
    """How much busier than usual a day is before scaling by a shop's seasonality: a mild yearly
    swell towards winter plus the 618 and Double-11 (双十一) shopping festivals."""
    doy = on.timetuple().tm_yday
    shape = 0.3 * float(np.cos(2 * np.pi * (doy - 330) / 365.25))
    if on.month == 11 and 1 <= on.day <= 10:
        shape += 0.6
    elif on.month == 11 and on.day == 11:
        shape += 4.0
    elif on.month == 11 and on.day in (12, 13):
        shape += 0.8
    elif on.month == 6 and 1 <= on.day <= 17:
        shape += 0.3
    elif on.month == 6 and on.day == 18:
        shape += 1.5
    elif on.month == 12 and on.day == 12:
        shape += 0.8
    return shape


def festival_factor(on: dt.date) -> float:
    """Orders fall around the Spring Festival whatever the shop, because couriers stop."""
    for year in (on.year, on.year + 1):
        offset = (on - _spring_festival(year)).days
        if -7 <= offset <= 6:
            return 0.35
        if -12 <= offset <= -8 or 7 <= offset <= 10:
            return 0.7
    return 1.0
