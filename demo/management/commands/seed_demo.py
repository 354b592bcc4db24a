"""manage.py seed_demo: build the deterministic demo marketplace."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.cli import date_argument
from common.errors import ApplicationError
from demo.simulator import marketplace_seed
from demo.simulator.onboarding import DEMO_PASSWORD, marketplace_has_data


class Command(BaseCommand):
    help = (
        "Seed the demo marketplace: two partner platforms, merchants with owners and hidden "
        "profiles, and DAYS days of orders, refunds, complaints, ratings and settlements ending "
        "on --end-date (default yesterday); the business date becomes the day after. The same "
        "seed and dates always give the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchants", type=int, default=300)
        parser.add_argument("--days", type=int, default=180)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--end-date",
            type=date_argument,
            default=None,
            help="last traded day, YYYY-MM-DD (default: yesterday)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--reset", action="store_true", help="delete existing demo data first")
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the demo marketplace already has data (for `make run`)",
        )

    def handle(self, *args, merchants, days, seed, end_date, reset, if_empty, **options):
        if if_empty and marketplace_has_data():
            self.stdout.write("The demo marketplace already has data; leaving it as it is.")
            return
        ended_on = end_date or timezone.localdate() - dt.timedelta(days=1)
        try:
            report = marketplace_seed(
                merchants=merchants, days=days, seed=seed, ended_on=ended_on, reset=reset
            )
        except ApplicationError as exc:
            if if_empty and marketplace_has_data():
                # Another seed (a second `make run`) filled the database meanwhile.
                self.stdout.write("The demo marketplace already has data; leaving it as it is.")
                return
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Seeded {report.merchants} merchants, {report.orders} orders over "
            f"{report.started_on} .. {report.ended_on} in {report.seconds:.1f} s "
            f"(other apps' listeners {report.listener_seconds:.1f} s); "
            f"business date {report.ended_on + dt.timedelta(days=1)}."
        )
        for table, count in sorted(report.rows.items()):
            self.stdout.write(f"  {table}: {count}")
        self.stdout.write("Partner API keys (kept in the demo's database for `run_demo` to print):")
        for code, raw in report.raw_keys.items():
            self.stdout.write(f"  {code}: {raw}")
        self.stdout.write(f"Demo logins, password {DEMO_PASSWORD!r}:")
        for username, role in report.logins.items():
            self.stdout.write(f"  {username}: {role}")
