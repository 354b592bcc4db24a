from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand, date_argument
from common.errors import ApplicationError
from riskcontrol.models import NetworkRun
from riskcontrol.network.services import network_build, network_run_build


class Command(ExclusiveCommand):
    help = (
        "Rebuild the relationship network's ring flags for a business date (today's by default): "
        "running it again on the same date replaces that date's flags."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=date_argument, help="business date of the run (default: today's)")
        parser.add_argument(
            "--detector", choices=NetworkRun.Detector.values, help="only this detector (default: every one)"
        )

    def handle(self, *args, date=None, detector=None, **options):
        on = date or business_date_today()
        try:
            runs = [network_run_build(on=on, detector=detector)] if detector else network_build(on=on)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        for run in runs:
            self.stdout.write(
                f"{run.business_on} {run.detector} {run.version}: {run.rings} rings, "
                f"{run.flagged} merchants flagged of {run.merchants} ({run.seconds:.2f} s)"
            )
