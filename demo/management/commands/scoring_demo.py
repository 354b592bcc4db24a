"""manage.py scoring_demo: bring a seeded demo up to today and give it a champion, ratings and offers."""

import datetime as dt
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.business_date import business_date_today
from common.cli import date_argument
from merchants.simulator.onboarding import marketplace_has_data
from scoring.demo import demo_scoring_run


class Command(BaseCommand):
    help = (
        "For the demo, after seed_demo: close business days through --through (default yesterday) so "
        "loans mature, refresh features, train and promote a champion from the loans' outcomes if there "
        "is none, then rescore, rank and issue offers. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--through", type=date_argument, default=None, help="last date to close (default yesterday)"
        )
        parser.add_argument("--seed", type=int, default=0, help="training seed")

    def handle(self, *args, through, seed, **options):
        if not marketplace_has_data():
            raise CommandError("the demo marketplace is empty: run `manage.py seed_demo` first")
        started = time.monotonic()
        through = through or timezone.localdate() - dt.timedelta(days=1)
        if business_date_today() <= through:
            days = (through - business_date_today()).days + 1
            self.stdout.write(f"Closing {days} business days through {through} …")
            call_command("close_of_business", through=through, stdout=_Quiet())
            self.stdout.write(
                f"  closed in {time.monotonic() - started:.0f} s; business date {business_date_today()}"
            )
        demo_scoring_run(say=self.stdout.write, seed=seed)
        self.stdout.write(f"Scoring demo ready in {time.monotonic() - started:.0f} s.")


class _Quiet:
    """Swallows close_of_business's line per date (a hundred of them)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
