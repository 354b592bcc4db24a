"""Thinning the rating history. Every merchant is rated every night, so one row per merchant
per day would grow by the whole population daily (200,000 merchants: 73 million rows a year).
What reads old ratings needs far less: monitoring compares a week's or a month's latest ratings,
and outcomes by grade look up the latest rating at most 35 days before a disbursement. So daily
rows are kept for the recent weeks, and beyond that one a week (Mondays'), plus the current
rating and any rating an offer was made on."""

import datetime as dt

from django.db import transaction

from scoring.models import MerchantScore

KEEP_DAILY_DAYS = 42
WEEKLY_KEEP_WEEKDAY = 2  # Django's week_day lookup: 1 = Sunday, 2 = Monday
BATCH = 20_000


def scores_history_thin(*, as_of: dt.date, keep_daily_days: int = KEEP_DAILY_DAYS) -> int:
    """Delete ratings older than `keep_daily_days` before `as_of` that are not current, not a
    Monday's and not behind an offer; in batches, each its own transaction. Returns how many."""
    cutoff = as_of - dt.timedelta(days=keep_daily_days)
    old = (
        MerchantScore.objects.filter(is_current=False, as_of__lt=cutoff, offers__isnull=True)
        .exclude(as_of__week_day=WEEKLY_KEEP_WEEKDAY)
        .order_by("pk")
    )
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += MerchantScore.objects.filter(pk__in=ids).delete()[0]
