"""manage.py simulate_day: trade the demo marketplace forward."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from common.cli import date_argument
from common.errors import ApplicationError
from demo.models import SimulatorState
from demo.simulator import DayReport, marketplace_trade_day, marketplace_trade_through


class Command(BaseCommand):
    help = (
        "Trade the demo marketplace one more day (default: the day after the last simulated "
        "one), or every day up to --through; orders placed earlier move along their lifecycle "
        "and the business date becomes the traded day. A day already traded is skipped."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--date", type=date_argument, help="the one day to trade, YYYY-MM-DD")
        group.add_argument("--through", type=date_argument, help="trade every day up to this one")

    def handle(self, *args, date, through, **options):
        try:
            if through is not None:
                reports = marketplace_trade_through(through=through)
            else:
                state = SimulatorState.objects.filter(pk=1).first()
                if state is None:
                    raise CommandError("no demo marketplace yet: run `manage.py seed_demo` first")
                on = date or state.last_simulated_on + dt.timedelta(days=1)
                report = marketplace_trade_day(on=on)
                reports = [report] if report else []
                if report is None:
                    self.stdout.write(
                        f"{on} was already traded (last traded day: "
                        f"{state.last_simulated_on}); nothing to do."
                    )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for report in reports:
            self.stdout.write(_summary(report))
        if through is not None and not reports:
            self.stdout.write(f"every day through {through} was already traded; nothing to do.")


def _summary(report: DayReport) -> str:
    rows = ", ".join(f"{table} {count}" for table, count in sorted(report.rows.items()))
    skipped = f", {report.orders_skipped} changed elsewhere and left alone" if report.orders_skipped else ""
    return (
        f"{report.on}: {report.orders_created} new orders, {report.orders_advanced} moved on"
        f"{skipped}; rows written: {rows}"
    )
