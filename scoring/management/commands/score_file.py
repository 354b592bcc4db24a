"""manage.py score_file: score any CSV with a registered model's points table."""

from django.core.management.base import BaseCommand, CommandError

from common.errors import ApplicationError
from scoring.selectors import model_get
from scoring.services import score_file


class Command(BaseCommand):
    help = (
        "Score every row of --csv with a registered model (a version, 'latest' or 'champion') and write "
        "--out: the rows with probability of default, points and the top four reasons added. Streams the "
        "file a chunk at a time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", default="champion", help="VERSION, latest or champion (default)")
        parser.add_argument("--csv", required=True, help="the file to score")
        parser.add_argument("--out", required=True, help="where to write the scored rows")

    def handle(self, *args, model, csv, out, **options):
        try:
            registered = model_get(ref=model)
            summary = score_file(model=registered, csv_in=csv, csv_out=out)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc
        self.stdout.write(
            f"Scored {summary['rows']} rows of {csv} with {summary['model']} into {summary['out']} "
            f"in {summary['seconds']} s."
        )
        if summary["features_missing_from_file"]:
            self.stdout.write(
                "Model features not in the file (scored as missing): "
                + ", ".join(summary["features_missing_from_file"])
            )
