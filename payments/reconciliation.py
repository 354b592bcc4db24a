"""Proof that the books balance: every entry sums to zero, all postings sum to zero, every
cached balance equals its postings, every held amount equals its pending holds, and the pools'
principal outstanding equals loans receivable. Set-based: a handful of aggregate queries."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum

from payments.models import Account, FundingPool, Hold, Posting


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


@dataclass
class ReconciliationReport:
    on: dt.date | None
    accounts_checked: int = 0
    entries_checked: int = 0
    postings_total_fen: int = 0
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


def reconcile(*, on: dt.date | None = None) -> ReconciliationReport:
    """Check the whole ledger (cached balances are current, so they are compared with all
    postings; `on` only labels the report)."""
    report = ReconciliationReport(on=on)
    sums = dict(
        Posting.objects.values("account_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("account_id", "total")
    )
    held = dict(
        Hold.objects.filter(status=Hold.Status.PENDING)
        .values("account_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("account_id", "total")
    )
    for account in Account.objects.only("pk", "code", "type", "balance_fen", "held_fen").iterator(
        chunk_size=5000
    ):
        report.accounts_checked += 1
        expected = sums.get(account.pk, 0) * account.normal_sign
        if account.balance_fen != expected:
            report.differences.append(
                f"{account.code}: cached balance {account.balance_fen} != postings {expected} "
                f"(difference {account.balance_fen - expected})"
            )
        if account.held_fen != held.get(account.pk, 0):
            report.differences.append(
                f"{account.code}: held {account.held_fen} != pending holds {held.get(account.pk, 0)}"
            )
    report.postings_total_fen = sum(sums.values())
    if report.postings_total_fen != 0:
        report.differences.append(f"all postings sum to {report.postings_total_fen}, not zero")
    by_entry = Posting.objects.values("entry_id").annotate(total=Sum("amount_fen"), legs=Count("id"))
    report.entries_checked = by_entry.count()
    for row in by_entry.filter(~Q(total=0) | Q(legs__lt=2))[:100]:
        report.differences.append(
            f"entry {row['entry_id']}: {row['legs']} postings summing to {row['total']}"
        )
    outstanding = FundingPool.objects.aggregate(total=Sum("principal_outstanding_fen"))["total"] or 0
    receivable = (
        Account.objects.filter(purpose=Account.Purpose.LOANS_RECEIVABLE).aggregate(t=Sum("balance_fen"))["t"]
        or 0
    )
    if outstanding != receivable:
        report.differences.append(
            f"funding pools' principal outstanding {outstanding} != loans receivable {receivable}"
        )
    return report


def trial_balance(*, through: dt.date) -> list[TrialBalanceRow]:
    """Debit and credit totals per account for entries up to and including a business date."""
    rows = (
        Posting.objects.filter(entry__business_on__lte=through)
        .values("account__code", "account__name", "account__type")
        .annotate(
            debit=Sum("amount_fen", filter=Q(amount_fen__gt=0)),
            credit=Sum("amount_fen", filter=Q(amount_fen__lt=0)),
        )
        .order_by("account__type", "account__code")
    )
    return [
        TrialBalanceRow(
            code=r["account__code"],
            name=r["account__name"],
            type=r["account__type"],
            debit_fen=r["debit"] or 0,
            credit_fen=-(r["credit"] or 0),
        )
        for r in rows
    ]
