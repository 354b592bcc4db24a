"""manage.py score_all: rescore every merchant, rank them, issue pre-approved offers."""

import json

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand, date_argument
from common.errors import ApplicationError
from scoring.services import offers_issue, scores_refresh_all


class Command(ExclusiveCommand):
    help = (
        "Rescore every active merchant from its feature snapshot with the champion and the 360° terms, "
        "rank them, then issue pre-approved offers to the top of the ranking (acceptance target and "
        "funding capacity permitting). Default date: the business date."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=date_argument, default=None, help="YYYY-MM-DD (default: the business date)"
        )
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument("--no-offers", action="store_true", help="rescore and rank only")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_of, chunk_size, no_offers, as_json, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        as_of = as_of or business_date_today()
        try:
            summary = scores_refresh_all(as_of=as_of, chunk_size=chunk_size)
            summary["offers_issued"] = None if no_offers else offers_issue(as_of=as_of)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if as_json:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        grades = ", ".join(f"{g} {n}" for g, n in summary["grades"].items())
        self.stdout.write(
            f"Scored {summary['scored']} merchants as of {summary['as_of']} with {summary['model']} in "
            f"{summary['seconds']} s ({summary['merchants_per_minute']} a minute); grades: {grades}."
        )
        if summary["without_features"]:
            self.stdout.write(
                f"{summary['without_features']} active merchants have no current features "
                "(run features_refresh): not scored."
            )
        if summary["offers_issued"] is not None:
            self.stdout.write(f"Offers issued: {summary['offers_issued']}.")
