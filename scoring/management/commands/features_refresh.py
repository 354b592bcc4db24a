"""manage.py features_refresh: rebuild the daily aggregates of closed dates and every merchant's
features now — what the nightly run does, for history a partner sent late (a new merchant's)."""

import datetime as dt

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand, date_argument
from scoring.features import merchant_days_build, snapshots_refresh

LATE_DATA_DAYS = 3


class Command(ExclusiveCommand):
    help = (
        "Build again the daily aggregates of the closed business dates from --since (default: the last "
        f"{LATE_DATA_DAYS}, as the nightly run does) and write every merchant's features as of the business "
        "date, so that score_all rates merchants whose history has just been sent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=date_argument, default=None, help="YYYY-MM-DD, a closed date")

    def handle(self, *args, since, **options):
        today = business_date_today()
        last = today - dt.timedelta(days=1)
        first = since or last - dt.timedelta(days=LATE_DATA_DAYS - 1)
        if first > last:
            raise CommandError(f"--since must be a closed date, before the business date {today}")
        days = merchant_days_build(first_on=first, last_on=last, as_of=today)
        written = snapshots_refresh(as_of=today)
        self.stdout.write(
            f"Daily aggregates of {first} .. {last} built ({days} rows); features of {written} merchants "
            f"as of {today}."
        )
