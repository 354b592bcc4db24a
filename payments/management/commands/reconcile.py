import datetime as dt
import json

from django.core.management.base import CommandError

from common.business_date import business_date_today
from common.cli import ExclusiveCommand
from common.money import format_yuan
from payments.reconciliation import reconcile, trial_balance


class Command(ExclusiveCommand):
    help = (
        "Prove the books balance, the loan book against the ledger included; print every "
        "difference. Exit 1 if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, help="business date (default: today's)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--trial-balance",
            dest="with_trial_balance",
            action="store_true",
            help="also print the trial balance",
        )

    def handle(self, *args, date=None, as_json=False, with_trial_balance=False, **options):
        on = date or business_date_today()
        report = reconcile(on=on, subledgers=True)
        if as_json:
            self.stdout.write(_json(report.as_dict()))
        else:
            self.stdout.write(
                f"reconciliation for {on}: {report.accounts_checked} accounts, "
                f"{report.entries_checked} entries, "
                f"postings sum to {report.postings_total_fen} fen"
            )
            for line in report.differences:
                self.stdout.write(f"  DIFFERENCE {line}")
            if with_trial_balance:
                for row in trial_balance(through=on):
                    self.stdout.write(
                        f"  {row.code:<40} {row.type:<9} "
                        f"Dr {format_yuan(row.debit_fen):>18}  Cr {format_yuan(row.credit_fen):>18}"
                    )
            self.stdout.write("books balance: no differences" if report.is_clean else "books do NOT balance")
        if not report.is_clean:
            raise CommandError(f"{len(report.differences)} difference(s)")


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
