"""manage.py train_model: train a scorecard (platform loans or a CSV), register it, print its report."""

import json
from pathlib import Path

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand
from common.errors import ApplicationError
from scoring.report_text import report_lines
from scoring.services import model_train


class Command(ExclusiveCommand):
    lock_name = "scoring.train"  # the training page's job takes it too (scoring.tasks.TRAINING_KIND)
    help = (
        "Train a WoE scorecard (and a gradient-boosted challenger) from the platform's loan outcomes, "
        "or from --csv FILE with a --target COLUMN of defaults; register it as a candidate, compare it "
        "with the champion on the same held-out rows and print the report. --promote makes it the "
        "champion when there is none or when it beats the champion's held-out AUC."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", help="train on this CSV file instead of the platform's loans")
        parser.add_argument("--target", help="the CSV's default column (1/0, bad/good, yes/no …)")
        parser.add_argument(
            "--promote", action="store_true", help="promote if first or better than the champion"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--outcome-days", type=int, default=90, help="platform: days a loan is watched")
        parser.add_argument(
            "--bad-dpd", type=int, default=30, help="platform: days past due that make it bad"
        )
        parser.add_argument("--actor", default="train_model", help="who trains it (recorded)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")

    def handle(self, *args, **options):
        csv, target, promote = options["csv"], options["target"], options["promote"]
        outcome_days, bad_dpd = options["outcome_days"], options["bad_dpd"]
        if target and not csv:
            raise CommandError("--target goes with --csv (the platform's target is its loans' outcome)")
        if csv and not target:
            raise CommandError("--csv needs --target naming the column that says whether a row defaulted")
        if outcome_days < 1 or bad_dpd < 1:
            raise CommandError("--outcome-days and --bad-dpd must be at least 1")
        if csv and not Path(csv).is_file():
            raise CommandError(f"cannot read {csv}: no such file")
        try:
            model = model_train(
                source=csv or "platform",
                target=target,
                actor=options["actor"],
                seed=options["seed"],
                promote=promote,
                outcome_days=outcome_days,
                bad_dpd=bad_dpd,
                as_of=business_date_today(),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if options["as_json"]:
            self.stdout.write(
                _dumps({"version": model.version, "status": model.status, "report": model.report})
            )
            return
        self.stdout.write(
            "\n".join(report_lines(version=model.version, status=model.status, report=model.report))
        )


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
