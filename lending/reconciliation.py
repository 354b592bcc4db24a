"""The loan book proved against the ledger and the funding pools, for `manage.py reconcile` and
the nightly check (settings.LEDGER_SUBLEDGER_CHECKS): the open loans' principal, interest and
penalty against the receivables (cob.lending_reconcile, as close of business checks them), and
each pool's principal outstanding against its own open loans, which the pools' total against
loans receivable cannot see (principal moved from one pool to another keeps the total). Two
aggregate queries."""

from django.db.models import Sum

from lending.cob import lending_reconcile
from lending.models import LOAN_OPEN_STATUSES, Loan
from payments.models import FundingPool


def loan_book_differences() -> list[str]:
    """Each difference in words; empty when the loan book agrees with the ledger and the pools."""
    differences = lending_reconcile()
    by_pool = dict(
        Loan.objects.filter(status__in=LOAN_OPEN_STATUSES)
        .values("pool_id")
        .annotate(total=Sum("principal_outstanding_fen"))
        .values_list("pool_id", "total")
    )
    for pk, code, outstanding in FundingPool.objects.order_by("pk").values_list(
        "pk", "code", "principal_outstanding_fen"
    ):
        loans = int(by_pool.pop(pk, 0) or 0)
        if loans != outstanding:
            differences.append(f"pool {code}: principal outstanding {outstanding} != its open loans' {loans}")
    for pk, total in sorted(by_pool.items()):
        differences.append(f"open loans of pool id {pk} owe {total} principal that no pool counts")
    return differences
