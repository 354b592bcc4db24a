import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.business_date import business_date_today
from common.cli import date_argument
from common.errors import ApplicationError
from lending import cob, cob_dispatch


class Command(BaseCommand):
    help = (
        "Close business dates in order: amounts fall due, wallets are debited, interest and penalties "
        "accrue, loans age, written-off loans recover, the books are reconciled. A date another "
        "process is closing is waited for (or finished), never failed."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--date", type=date_argument, help="close this date (it must be the current business date)"
        )
        which.add_argument(
            "--through", type=date_argument, help="close every date from the current one through this"
        )
        which.add_argument("--days", type=int, help="close this many dates from the current one")
        parser.add_argument(
            "--dispatch",
            action="store_true",
            help="fan the chunks out as Celery tasks over the running workers and wait for them here",
        )

    def handle(self, *args, date=None, through=None, days=None, dispatch=False, **options):
        try:
            if dispatch:
                runs = self._dispatch(date=date, through=through, days=days)
            elif through is not None or days is not None:
                through = through or business_date_today() + dt.timedelta(days=days - 1)
                runs = cob.close_through(through=through)
            else:
                runs = [cob.close_of_business(on=date or business_date_today())]
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for run in runs:
            steps = ", ".join(f"{s['step']} {s['rows']} in {s['seconds']}s" for s in run.steps)
            self.stdout.write(f"closed {run.business_on}: {steps}")
        self.stdout.write(f"business date is now {business_date_today()}")

    def _dispatch(self, *, date, through, days):
        current = business_date_today()
        if date is not None and date != current:
            # A date closed before is reported as it is; one out of order is refused.
            return [cob.close_of_business(on=date)]
        if through is None:
            through = current + dt.timedelta(days=(days or 1) - 1)
        timeout = settings.LENDING_COB_CHUNK_TIMEOUT_SECONDS * max((through - current).days + 1, 1)
        return cob_dispatch.cob_close_dispatch(through=through, timeout=timeout)
