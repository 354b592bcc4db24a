"""What the next automatic deduction takes from a loan's wallet, and when: close of business's own
rules (`cob._step_due`, `cob._accrual_total_sql`) projected forward in Python, for the merchant's
home page. Nothing here writes.

A loan with something already due is deducted at today's close of business; otherwise, on its
next due date D, the installment's unpaid principal falls due with all interest accrued through
D−1, and the deduction takes that (with any penalty and fee owed).
"""

import datetime as dt
from typing import NamedTuple

from django.db.models import F, Sum

from lending.models import Installment, Loan

HUNDRED_MILLION = 100_000_000


class NextDeduction(NamedTuple):
    loan: Loan
    amount_fen: int
    on: dt.date


def _interest_through(loan: Loan, last_day: dt.date) -> int:
    """Interest the loan will have accrued from its last accrued day through `last_day`, by the
    running-total rule of close of business (daily or spread mode), assuming no repayment."""
    if last_day <= loan.accrued_through_on:
        return 0
    k = (last_day - loan.accrual_segment_start_on).days + 1
    if k <= 0:
        return 0
    base, ppb, posted = loan.accrual_segment_base_fen, loan.rate_ppb, loan.accrual_segment_posted_fen
    if loan.accrual_mode == "daily":
        total = (base * ppb * k + HUNDRED_MILLION // 2) // HUNDRED_MILLION
    elif loan.accrual_segment_days:
        days = loan.accrual_segment_days
        total = (2 * base * min(k, days) + days) // (2 * days)
        # Spread mode: principal already past due accrues at the daily rate on top.
        overdue_days = (last_day - loan.accrued_through_on).days
        total += (loan.due_principal_fen * ppb * overdue_days + HUNDRED_MILLION // 2) // HUNDRED_MILLION
    else:
        total = posted
    return max(total - posted, 0)


def next_deduction_fen(loan: Loan, *, planned_through_fen: int, today: dt.date) -> NextDeduction | None:
    """The next deduction of one loan; `planned_through_fen` is the principal its schedule plans
    through its current installment (what `cob._step_due` reads)."""
    owed_now = (
        loan.due_principal_fen
        + loan.due_interest_fen
        + loan.penalty_outstanding_fen
        + loan.fee_outstanding_fen
    )
    if owed_now > 0:
        return NextDeduction(loan, owed_now, today)
    due_on = loan.next_due_on
    if due_on is None:
        return None
    repaid = loan.principal_fen - loan.principal_outstanding_fen
    shortfall = max(planned_through_fen - repaid - loan.due_principal_fen, 0)
    interest = loan.interest_outstanding_fen + _interest_through(loan, due_on - dt.timedelta(days=1))
    return NextDeduction(loan, shortfall + interest, due_on)


def loans_next_deductions(*, loans: list[Loan], today: dt.date) -> list[NextDeduction]:
    """Each open loan's next deduction, in the order given: one query whatever the number of loans."""
    if not loans:
        return []
    planned = dict(
        Installment.objects.filter(
            loan__in=[loan.pk for loan in loans], number__lte=F("loan__next_installment")
        )
        .values("loan_id")
        .annotate(total=Sum("principal_fen"))
        .values_list("loan_id", "total")
    )
    found = (
        next_deduction_fen(loan, planned_through_fen=int(planned.get(loan.pk) or 0), today=today)
        for loan in loans
    )
    return [d for d in found if d is not None]
