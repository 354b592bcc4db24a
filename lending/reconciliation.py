"""The loan book proved against the ledger and the funding pools, for `manage.py reconcile`, the
nightly check (settings.LEDGER_SUBLEDGER_CHECKS) and the trial-balance page:

- the open loans' principal, interest and penalty against the receivables (cob.lending_reconcile,
  as close of business checks them);
- each pool's principal outstanding against its own open loans, which the pools' total against
  loans receivable cannot see (principal moved from one pool to another keeps the total);
- each loan's principal outstanding against the ledger's entries for it, which the totals cannot
  see (principal moved from one loan to another of the same pool keeps every total). An entry
  names its loan through the loan's event (LoanEvent.entry: the drawdown, each repayment,
  deduction, pledge settlement and the write-off); an entry may carry several loans (a batch of
  drawdowns or deductions), and its events split it. So: each loan's row against its events, and
  each entry's loans-receivable postings against its events; a difference names the loans or the
  entry. Interest and penalty are accrued in the ledger per product and day, not per loan: for
  them the ledger tells only the total, checked above.

Set-based: a few aggregate queries, whatever the number of loans."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum

from lending.cob import lending_reconcile
from lending.models import LOAN_OPEN_STATUSES, Loan, LoanEvent
from payments.models import Account, FundingPool

# What each event does to the principal a loan still owes, as its entry posts it to loans
# receivable (debit positive). Other events (fell due, a pledged order refunded, a recovery after
# the write-off) move no principal on the receivable.
PRINCIPAL_SIGN = {
    LoanEvent.Kind.DISBURSED: 1,
    LoanEvent.Kind.REPAID: -1,
    LoanEvent.Kind.AUTO_DEDUCTED: -1,
    LoanEvent.Kind.PLEDGE_SETTLED: -1,
    LoanEvent.Kind.WRITTEN_OFF: -1,
}
SHOWN = 100  # differences listed per kind; the count says how many more


@dataclass
class PoolCheck:
    code: str
    name: str
    outstanding_fen: int
    loans_fen: int

    @property
    def difference_fen(self) -> int:
        return self.outstanding_fen - self.loans_fen


def _signed_principal() -> tuple[str, list]:
    whens = " ".join(
        f"WHEN %s THEN {'' if sign > 0 else '-'}principal_fen" for sign in PRINCIPAL_SIGN.values()
    )
    return f"CASE kind {whens} ELSE 0 END", list(PRINCIPAL_SIGN)


def pool_checks() -> list[PoolCheck]:
    """Each pool's principal outstanding beside its open loans' (one aggregate query and the
    pools); a pool id no pool has is listed with an empty code."""
    by_pool = dict(
        Loan.objects.filter(status__in=LOAN_OPEN_STATUSES)
        .values("pool_id")
        .annotate(total=Sum("principal_outstanding_fen"))
        .values_list("pool_id", "total")
    )
    checks = []
    for pk, code, name, outstanding in FundingPool.objects.order_by("pk").values_list(
        "pk", "code", "name", "principal_outstanding_fen"
    ):
        checks.append(PoolCheck(code, name, outstanding, int(by_pool.pop(pk, 0) or 0)))
    for pk, total in sorted(by_pool.items()):
        checks.append(PoolCheck("", f"#{pk}", 0, int(total or 0)))
    return checks


def loans_against_entries() -> list[str]:
    """Each loan whose principal outstanding differs from what the ledger's entries for it add
    up to, and each entry whose loans-receivable postings differ from its loans' events."""
    signed, kinds = _signed_principal()
    moving = ", ".join(["%s"] * len(kinds))
    differences = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH e AS (SELECT loan_id, SUM({signed}) AS principal FROM lending_loanevent GROUP BY loan_id)
            SELECT l.reference, l.principal_outstanding_fen, COALESCE(e.principal, 0)
            FROM lending_loan l LEFT JOIN e ON e.loan_id = l.id
            WHERE l.principal_outstanding_fen <> COALESCE(e.principal, 0)
            ORDER BY l.id
            """,  # noqa: S608 - fixed fragments, the kinds as parameters
            kinds,
        )
        rows = cursor.fetchall()
        for reference, outstanding, ledger in rows[:SHOWN]:
            differences.append(
                f"loan {reference}: principal outstanding {outstanding} != its ledger entries' {int(ledger)}"
            )
        if len(rows) > SHOWN:
            differences.append(f"{len(rows) - SHOWN} more loans differ from their ledger entries")
        cursor.execute(
            f"""
            WITH p AS (
                SELECT entry_id, SUM(amount_fen) AS ledger FROM payments_posting
                WHERE account_id IN (SELECT id FROM payments_account WHERE purpose = %s)
                GROUP BY entry_id
            ),
            e AS (
                SELECT entry_id, SUM({signed}) AS book, MIN(loan_id) AS first_loan, COUNT(*) AS loans
                FROM lending_loanevent WHERE entry_id IS NOT NULL AND kind IN ({moving})
                GROUP BY entry_id
            )
            SELECT COALESCE(p.entry_id, e.entry_id), COALESCE(p.ledger, 0), COALESCE(e.book, 0),
                   (SELECT reference FROM lending_loan WHERE id = e.first_loan), COALESCE(e.loans, 0)
            FROM p FULL OUTER JOIN e ON e.entry_id = p.entry_id
            WHERE COALESCE(p.ledger, 0) <> COALESCE(e.book, 0)
            ORDER BY 1
            """,  # noqa: S608 - fixed fragments, the kinds as parameters
            [Account.Purpose.LOANS_RECEIVABLE, *kinds, *kinds],
        )
        rows = cursor.fetchall()
    for entry, ledger, book, reference, loans in rows[:SHOWN]:
        named = "no loan" if not loans else reference + (f" and {loans - 1} more" if loans > 1 else "")
        differences.append(
            f"entry {entry}: loans receivable moves {int(ledger)}, its loans' events ({named}) {int(book)}"
        )
    if len(rows) > SHOWN:
        differences.append(f"{len(rows) - SHOWN} more entries differ from their loans' events")
    return differences


def loan_book_differences() -> list[str]:
    """Each difference in words; empty when the loan book agrees with the ledger and the pools."""
    differences = lending_reconcile()
    for check in pool_checks():
        if not check.code:
            differences.append(
                f"open loans of pool id {check.name[1:]} owe {check.loans_fen} principal that no pool counts"
            )
        elif check.difference_fen:
            differences.append(
                f"pool {check.code}: principal outstanding {check.outstanding_fen} "
                f"!= its open loans' {check.loans_fen}"
            )
    return differences + loans_against_entries()
