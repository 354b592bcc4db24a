"""manage.py build_demo: `make run`'s build in one process: migrate, seed_demo --if-empty, then
scoring_demo --if-needed, each as if run on its own, with the wall and CPU seconds of each step."""

import contextlib
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from common.cli import date_argument
from common.locks import AlreadyRunning, exclusive


class Command(BaseCommand):
    help = (
        "Build the demo as `make run` does, in one process: migrate, seed_demo --if-empty, "
        "scoring_demo --if-needed (one Python and Django start-up instead of three). Safe to run again."
    )
    # migrate checks nothing before it runs in `make run` (--skip-checks); neither does this.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--merchants", type=int, default=200)
        parser.add_argument("--days", type=int, default=120)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--end-date", type=date_argument, default=None, help="seed's last traded day")

    def handle(self, *args, merchants, days, seed, end_date, **options):
        seed_argv = ["--if-empty", "--merchants", str(merchants), "--days", str(days), "--seed", str(seed)]
        if end_date is not None:
            seed_argv += ["--end-date", end_date.isoformat()]
        steps = [
            ("migrate", ["--noinput", "--skip-checks"]),
            ("seed_demo", seed_argv),
            ("scoring_demo", ["--if-needed"]),
        ]
        # Started twice at once (two `make run`s), the second waits for the first, then finds
        # everything done: migrate does nothing, seed and scoring skip (two migrates at once on
        # one database would both create the tables).
        with contextlib.ExitStack() as held:
            try:
                held.enter_context(exclusive("build_demo"))
            except AlreadyRunning:
                self.stdout.write("[build_demo] another build of this database is running: waiting for it")
                held.enter_context(exclusive("build_demo", wait=True))
            self._steps(steps)

    def _steps(self, steps) -> None:
        for name, argv in steps:
            clock, cpu = time.monotonic(), time.process_time()
            call_command(name, *argv, stdout=self.stdout, stderr=self.stderr)
            self.stdout.write(
                f"[build_demo] {name}: {time.monotonic() - clock:.1f} s wall, "
                f"{time.process_time() - cpu:.1f} s CPU"
            )
