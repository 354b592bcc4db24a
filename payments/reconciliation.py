"""Proof that the books balance: every entry sums to zero, all postings sum to zero, every
cached balance equals its postings, every held amount equals its pending holds, and the pools'
principal outstanding equals loans receivable. Set-based: a handful of aggregate queries."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils.module_loading import import_string

from payments.ledger_totals import LedgerView, entries_check, ledger_view
from payments.models import Account, FundingPool, Hold, Posting, account_label


@dataclass
class TrialBalanceRow:
    code: str
    name: str
    type: str
    debit_fen: int
    credit_fen: int

    @property
    def net_fen(self) -> int:
        return self.debit_fen - self.credit_fen


class Difference(str):
    """One difference the check found: its English text (what logs, close of business and the
    `reconcile` command print, and what compares equal to a string) with what it is in data, for
    a page to say it in the reader's language with amounts in yuan.

    kind: "balance" (an account's cached balance `first_fen` against its postings `second_fen`),
    "held" (an account's held amount `first_fen` against its pending holds `second_fen`),
    "postings_total" (all postings sum to `first_fen`, not zero), "entry" (entry `entry_id`'s
    `legs` postings sum to `first_fen`) or "pools" (the pools' principal outstanding `first_fen`
    against loans receivable `second_fen`). Amounts in fen."""

    kind: str
    account: str
    first_fen: int | None
    second_fen: int | None
    entry_id: int | None
    legs: int | None

    def __new__(
        cls,
        text: str,
        *,
        kind: str = "",
        account: str = "",
        first_fen: int | None = None,
        second_fen: int | None = None,
        entry_id: int | None = None,
        legs: int | None = None,
    ):
        self = super().__new__(cls, text)
        self.kind, self.account, self.entry_id, self.legs = kind, account, entry_id, legs
        self.first_fen, self.second_fen = first_fen, second_fen
        return self

    @property
    def difference_fen(self) -> int | None:
        if self.first_fen is None or self.second_fen is None:
            return None
        return self.first_fen - self.second_fen


def _postings_total_difference(total: int) -> Difference:
    return Difference(f"all postings sum to {total}, not zero", kind="postings_total", first_fen=total)


def _entry_difference(entry_id: int, legs: int, total: int) -> Difference:
    return Difference(
        f"entry {entry_id}: {legs} postings summing to {total}",
        kind="entry",
        entry_id=entry_id,
        legs=legs,
        first_fen=int(total),
    )


@dataclass
class ReconciliationReport:
    on: dt.date | None
    accounts_checked: int = 0
    entries_checked: int = 0
    postings_total_fen: int = 0
    # Difference (a str) for the ledger's own checks; plain str from the books kept beside it.
    differences: list[str] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.differences and self.postings_total_fen == 0

    def as_dict(self) -> dict:
        return {
            "on": self.on.isoformat() if self.on else None,
            "accounts_checked": self.accounts_checked,
            "entries_checked": self.entries_checked,
            "postings_total_fen": self.postings_total_fen,
            "differences": self.differences,
            "is_clean": self.is_clean,
        }


def reconcile(
    *, on: dt.date | None = None, entries_of: dt.date | None = None, subledgers: bool = False
) -> ReconciliationReport:
    """Check the ledger. Cached balances are current, so they are compared with all postings;
    `on` only labels the report. Every entry is checked to balance, or with `entries_of` only
    the entries of that business date (entries are append-only: one checked balanced stays so,
    which is what lets the nightly check skip earlier days). The comparisons run in the database
    and only differences come back. With `subledgers` the books kept beside the ledger
    (settings.LEDGER_SUBLEDGER_CHECKS: the loan book) are proved against it too."""
    report = ReconciliationReport(on=on)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH p AS (SELECT account_id, SUM(amount_fen) AS total FROM payments_posting GROUP BY account_id),
                 h AS (SELECT account_id, SUM(amount_fen) AS total FROM payments_hold
                       WHERE status = %s GROUP BY account_id),
                 c AS (SELECT a.code, a.balance_fen, a.held_fen, COALESCE(h.total, 0) AS pending,
                              COALESCE(p.total, 0) * (CASE WHEN a.type IN (%s, %s) THEN 1 ELSE -1 END)
                                  AS expected
                       FROM payments_account a
                       LEFT JOIN p ON p.account_id = a.id LEFT JOIN h ON h.account_id = a.id)
            SELECT code, balance_fen, expected, held_fen, pending FROM c
            WHERE balance_fen <> expected OR held_fen <> pending ORDER BY code
            """,
            [Hold.Status.PENDING, Account.Type.ASSET, Account.Type.EXPENSE],
        )
        for code, balance, expected, held, pending in cursor.fetchall():
            report.differences += _account_differences(code, balance, int(expected), held, int(pending))
    report.accounts_checked = Account.objects.count()
    report.postings_total_fen = int(Posting.objects.aggregate(t=Sum("amount_fen"))["t"] or 0)
    if report.postings_total_fen != 0:
        report.differences.append(_postings_total_difference(report.postings_total_fen))
    postings = Posting.objects.all()
    if entries_of is not None:
        postings = postings.filter(entry__business_on=entries_of)
    by_entry = postings.values("entry_id").annotate(total=Sum("amount_fen"), legs=Count("id"))
    report.entries_checked = by_entry.count()
    for row in by_entry.filter(~Q(total=0) | Q(legs__lt=2)).order_by("entry_id")[:100]:
        report.differences.append(_entry_difference(row["entry_id"], row["legs"], row["total"]))
    report.differences += _pools_differences()
    if subledgers:
        report.differences += subledger_differences()
    return report


def subledger_differences() -> list[str]:
    """What each book kept beside the ledger (settings.LEDGER_SUBLEDGER_CHECKS) finds wrong."""
    return [difference for path in settings.LEDGER_SUBLEDGER_CHECKS for difference in import_string(path)()]


def subledger_sections() -> list:
    """The books kept beside the ledger on the trial-balance page
    (settings.LEDGER_SUBLEDGER_SECTIONS): each with its `html` and `is_clean`."""
    return [import_string(path)() for path in getattr(settings, "LEDGER_SUBLEDGER_SECTIONS", [])]


def _pools_differences() -> list[Difference]:
    outstanding = FundingPool.objects.aggregate(total=Sum("principal_outstanding_fen"))["total"] or 0
    receivable = (
        Account.objects.filter(purpose=Account.Purpose.LOANS_RECEIVABLE).aggregate(t=Sum("balance_fen"))["t"]
        or 0
    )
    if outstanding != receivable:
        return [
            Difference(
                f"funding pools' principal outstanding {outstanding} != loans receivable {receivable}",
                kind="pools",
                first_fen=int(outstanding),
                second_fen=int(receivable),
            )
        ]
    return []


def _account_differences(code: str, balance: int, expected: int, held: int, pending: int) -> list[Difference]:
    differences = []
    if balance != expected:
        differences.append(
            Difference(
                f"{code}: cached balance {balance} != postings {expected} (difference {balance - expected})",
                kind="balance",
                account=code,
                first_fen=int(balance),
                second_fen=int(expected),
            )
        )
    if held != pending:
        differences.append(
            Difference(
                f"{code}: held {held} != pending holds {pending}",
                kind="held",
                account=code,
                first_fen=int(held),
                second_fen=int(pending),
            )
        )
    return differences


def _trial_balance_rows(view: LedgerView) -> list[TrialBalanceRow]:
    return [
        TrialBalanceRow(
            code=line.code,
            name=account_label(line.name, line.code),
            type=line.type,
            debit_fen=line.debit_through_fen,
            credit_fen=line.credit_through_fen,
        )
        for line in view.lines
        if line.debit_through_fen or line.credit_through_fen
    ]


def trial_balance(*, through: dt.date) -> list[TrialBalanceRow]:
    """Debit and credit totals per account for entries up to and including a business date: the
    running totals (payments.ledger_totals) and the postings after their checkpoint."""
    return _trial_balance_rows(ledger_view(through=through))


def trial_balance_checked(*, on: dt.date) -> tuple[list[TrialBalanceRow], ReconciliationReport]:
    """The trial balance through a business date and the proof `reconcile` gives, both from the
    running totals, so neither sums the whole journal: every cached balance and held amount
    against the totals and the pending holds, all postings summing to zero, the entries after
    the checkpoint balancing (those before it were checked as they were folded, and the ones
    that did not are kept), the pools against loans receivable."""
    view = ledger_view(through=on)
    report = ReconciliationReport(on=on, accounts_checked=len(view.lines))
    for line in view.lines:
        report.differences += _account_differences(
            line.code, line.balance_fen, line.expected_balance_fen, line.held_fen, line.pending_holds_fen
        )
    report.postings_total_fen = sum(line.debit_fen - line.credit_fen for line in view.lines)
    if report.postings_total_fen != 0:
        report.differences.append(_postings_total_difference(report.postings_total_fen))
    count, unbalanced = entries_check(after=view.through_posting_id)
    report.entries_checked = view.entries_checked + count
    for entry_id, legs, total in (view.unbalanced_entries + unbalanced)[:100]:
        report.differences.append(_entry_difference(entry_id, legs, total))
    report.differences += _pools_differences()
    return _trial_balance_rows(view), report
