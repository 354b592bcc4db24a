"""manage.py scoring_demo: bring a seeded demo up to today and give it a champion, ratings and offers."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.business_date import business_date_today
from common.cli import date_argument
from common.errors import ApplicationError
from demo.scoring import demo_scoring_run
from demo.services import demo_days_trade_and_close
from demo.simulator.onboarding import marketplace_has_data
from scoring.models import MerchantScore
from scoring.selectors import champion_get


class Command(BaseCommand):
    help = (
        "For the demo, after seed_demo: trade and close business days through --through (default "
        "yesterday) so loans mature, refresh features, train and promote a champion from the loans' "
        "outcomes if there is none, then rescore, rank and issue offers. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--through", type=date_argument, default=None, help="last date to close (default yesterday)"
        )
        parser.add_argument("--seed", type=int, default=0, help="training seed")
        parser.add_argument(
            "--if-needed",
            action="store_true",
            help="do nothing when no date is left to close and merchants are rated as of the business date "
            "(for `make run`: the second start is quick)",
        )

    def handle(self, *args, through, seed, if_needed=False, **options):
        if not marketplace_has_data():
            raise CommandError("the demo marketplace is empty: run `manage.py seed_demo` first")
        started = time.monotonic()
        through = through or timezone.localdate() - dt.timedelta(days=1)
        if if_needed and business_date_today() > through and self._rated_today():
            self.stdout.write(
                f"The scoring demo is up to date (business date {business_date_today()}); nothing to do."
            )
            return
        if business_date_today() <= through:
            days = (through - business_date_today()).days + 1
            self.stdout.write(f"Trading and closing {days} business days through {through} …")
            try:
                demo_days_trade_and_close(through=through)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(
                f"  closed in {time.monotonic() - started:.0f} s; business date {business_date_today()}"
            )
        demo_scoring_run(say=self.stdout.write, seed=seed)
        self.stdout.write(f"Scoring demo ready in {time.monotonic() - started:.0f} s.")

    @staticmethod
    def _rated_today() -> bool:
        return (
            champion_get() is not None
            and MerchantScore.objects.filter(is_current=True, as_of=business_date_today()).exists()
        )
