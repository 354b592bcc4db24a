"""manage.py monitor_models: population stability of the champion, outcomes by grade, drift alerts."""

import json

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand, date_argument
from common.errors import ApplicationError
from scoring.monitoring.services import monitoring_run, psi_thresholds


class Command(ExclusiveCommand):
    help = (
        "Monitor the champion: PSI of its score and of each feature for every closed week and month "
        "not reported yet (against its training window, or its first week), predicted versus actual "
        "default by grade and disbursement month, and one email to the risk managers about new "
        "warnings and alerts. Idempotent: reported periods are not computed or sent again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            type=date_argument,
            default=None,
            help="YYYY-MM-DD: periods that closed before it (default: the business date)",
        )
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_of, as_json, **options):
        try:
            summary = monitoring_run(as_of=as_of or business_date_today())
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if as_json:
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        drift = summary["drift"]
        if drift.get("skipped"):
            self.stdout.write(f"Drift: skipped ({drift['skipped']}).")
        else:
            warning, alert = psi_thresholds()
            periods = ", ".join(drift.get("periods") or []) or "none new"
            self.stdout.write(
                f"Drift of {drift['model']}: {drift['reports']} reports for {periods}; "
                f"{len(drift['alarms'])} at or above PSI {warning} (alert {alert}); "
                f"{summary['emails']} emails."
            )
            for line in drift["alarms"]:
                self.stdout.write(f"  {line}")
        outcomes = summary["outcomes"]
        self.stdout.write(
            f"Outcomes by grade: {outcomes['rows']} rows over {outcomes['cohorts']} cohorts, "
            f"{outcomes['matured']} matured."
        )
