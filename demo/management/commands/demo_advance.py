"""manage.py demo_advance: move the demo's time on, a business date at a time (trade, then close)."""

import datetime as dt

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand, date_argument
from common.errors import ApplicationError
from demo.services import demo_days_trade_and_close


class Command(ExclusiveCommand):
    lock_name = "demo.advance"  # the advance page's job takes it too (demo.tasks.ADVANCE_KIND)
    help = (
        "Move the demo on: for each business date from the current one, the marketplace trades "
        "the day (borrowers draw, spend and repay), then the day closes (amounts fall due, wallets "
        "are debited, interest accrues, loans age). Dates already closed are not closed again."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--days", type=int, help="trade and close this many dates from the current one")
        which.add_argument(
            "--through",
            type=date_argument,
            help="trade and close every date through this one",
        )
        parser.add_argument(
            "--dispatch",
            action="store_true",
            help="fan each close out as Celery tasks over the running workers and wait for it here",
        )

    def handle(self, *args, days=None, through=None, dispatch=False, **options):
        if days is not None:
            if days < 1:
                raise CommandError("--days must be at least 1")
            through = business_date_today() + dt.timedelta(days=days - 1)
        try:
            closed = demo_days_trade_and_close(through=through, dispatch=dispatch)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for day in closed:
            steps = ", ".join(f"{s['step']} {s['rows']}" for s in day.run.steps)
            self.stdout.write(f"{day.on}: traded {day.days_traded} day(s); closed: {steps}")
        self.stdout.write(f"business date is now {business_date_today()}")
