"""`manage.py monitor --on DATE`: the post-loan monitoring of one closed business date, now."""

import datetime as dt

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand
from common.errors import ApplicationError
from riskcontrol.monitoring import services


class Command(ExclusiveCommand):
    help = "Run the post-loan monitoring (warnings, levels, actions) for a closed business date."

    def add_arguments(self, parser):
        parser.add_argument("--on", help="the business date, YYYY-MM-DD (default: the last closed one)")
        parser.add_argument("--chunk-size", type=int, default=None, help="merchants per chunk")

    def handle(self, *args, on=None, chunk_size=None, **options):
        today = business_date_today()
        if on:
            try:
                day = dt.date.fromisoformat(on)
            except ValueError:
                raise CommandError(f"--on: {on!r} is not a date (YYYY-MM-DD)") from None
        else:
            day = today - dt.timedelta(days=1)
        try:
            run = services.monitoring_run(on=day, chunk_size=chunk_size, today=today)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        s = run.summary
        self.stdout.write(
            f"monitoring of {day}: {s.get('merchants', 0)} merchants — "
            + ", ".join(f"{level} {s.get(level, 0)}" for level in ("green", "yellow", "orange", "red"))
            + f"; {s.get('warnings_raised', 0)} warnings raised, {s.get('warnings_closed', 0)} closed; "
            + ", ".join(f"{k[7:]} {v}" for k, v in sorted(s.items()) if k.startswith("action_"))
        )
