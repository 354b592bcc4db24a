"""Penalty and overdue interest accrue by running totals over each span of days in which the
principal past due stays the same, like interest: day k of a span posts round(base·rate·k) less
what the span has posted. The expectations are computed here independently, day by day, with
Decimal."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby

from lending import calculations as calc
from lending import cob
from lending.models import Loan
from payments import services as payments
from payments.reconciliation import reconcile
from tests.lending.conftest import draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

RATE = Decimal("0.00035")
MARKUP = Decimal("0.5")


def fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def spend_everything(loan: Loan) -> None:
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=payments.wallet_open(merchant=loan.merchant).balance_fen,
        idempotency_key=f"spent-{loan.pk}",
    )


def span_totals(days: list[tuple[dt.date, int]], rate: Decimal) -> int:
    """Σ over spans of consecutive days with the same base of round(base × rate × days)."""
    total = 0
    spans, run = [], []
    for on, base in days:
        if run and (on - run[-1][0] != dt.timedelta(days=1) or base != run[-1][1]):
            spans.append(run)
            run = []
        run.append((on, base))
    if run:
        spans.append(run)
    for span in spans:
        total += fen(span[0][1] * rate * len(span))
    return total


def test_ten_days_late_on_50016_yuan_costs_87_53_of_penalty(pool):
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=RATE, grace_days=0)
    line = CreditLineFactory(product=product, limit_fen=10_000_000, daily_rate=RATE)
    loan = draw(line, 5_001_600)
    spend_everything(loan)
    cob.close_through(through=loan.maturity_on + dt.timedelta(days=10))
    loan.refresh_from_db()
    assert loan.days_past_due == 10
    expected = fen(Decimal(5_001_600) * RATE * MARKUP * 10)
    assert expected == 8753  # 87.53 yuan; rounded day by day it would be 10 × 875 = 87.50
    assert loan.penalty_outstanding_fen == expected
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_four_missed_installments_accrue_penalty_and_overdue_interest_by_spans(pool):
    product = ProductFactory(credit_loan=True, daily_rate=RATE, grace_days=3)
    line = CreditLineFactory(product=product, limit_fen=20_000_000, daily_rate=RATE)
    loan = draw(line, 5_001_600)
    spend_everything(loan)
    schedule = list(loan.installments.order_by("number"))
    through = schedule[3].due_on + dt.timedelta(days=10)
    cob.close_through(through=through)
    loan.refresh_from_db()

    # Independently, day by day: the principal past due and whether penalty runs that day.
    first_due = schedule[0].due_on
    due_by_day = []
    on = first_due
    while on <= through:
        due_by_day.append((on, sum(i.principal_fen for i in schedule if i.due_on <= on)))
        on += dt.timedelta(days=1)
    grace = product.grace_days
    penalty = span_totals([(d, b) for d, b in due_by_day if (d - first_due).days > grace], RATE * MARKUP)
    overdue_interest = span_totals(due_by_day, RATE)
    # The periods' planned interest, spread over their days (the fifth period is 10 days in).
    planned = sum(i.interest_fen for i in schedule[:4])
    planned += sum(
        calc.spread_evenly(schedule[4].interest_fen, (schedule[4].due_on - schedule[3].due_on).days)[:11]
    )

    assert loan.status == Loan.Status.OVERDUE and loan.days_past_due == (through - first_due).days
    assert loan.penalty_outstanding_fen == penalty
    assert loan.interest_accrued_total_fen == planned + overdue_interest
    # Rounded day by day, each would come out differently.
    daily_penalty = sum(fen(b * RATE * MARKUP) for d, b in due_by_day if (d - first_due).days > grace)
    daily_overdue = sum(fen(b * RATE) for _, b in due_by_day)
    assert (daily_penalty, daily_overdue) != (penalty, overdue_interest)
    assert [len(list(g)) for _, g in groupby(b for _, b in due_by_day)] == [30, 31, 30, 11]
    assert reconcile().is_clean and cob.lending_reconcile() == []
