import dataclasses
import json

from common.business_date import business_date_today
from common.cli import ExclusiveCommand
from payments.payouts import payouts_process


class Command(ExclusiveCommand):
    help = "Send the waiting payouts to the channel in batch files and settle the answers (as the beat does)."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=600.0, help="stop after this long (default 600)")
        parser.add_argument("--batch-size", type=int, default=None, help="payouts per batch file")

    def handle(self, *args, seconds, batch_size, **options):
        done = payouts_process(business_on=business_date_today(), seconds=seconds, batch_size=batch_size)
        self.stdout.write(json.dumps(dataclasses.asdict(done)))
