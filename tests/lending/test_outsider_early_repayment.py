"""Early repayment as an independent auditor checks it: loans of the four products settled in full
before their end, and in part before carrying on to maturity, against numpy-financial rather than
the project's own calculations. Simple daily interest is P·r·d, numpy-financial's future value of
P at the rate r·d for one period (npf.fv); the amortising plans come from npf.ipmt/npf.ppmt.

The expectations, each independent of lending.calculations:
- a loan that accrues day by day (bullet, interest-only, revolving line) owes at payoff the simple
  interest on its principal for the days it was out (the day of drawdown counted, the day of
  repayment not), less the interest it has already paid; rounded half-up once, on the total;
- an amortising loan (equal principal, equal installments) owes the period's planned interest in
  proportion to the days of the period used, and the principal its plan has not yet repaid;
- after the payoff nothing more accrues or is collected, the line is free, the books balance."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy_financial as npf

from common.business_date import business_date_today
from lending import cob, services
from lending.models import Loan, LoanEvent, RepaymentMethod
from payments import services as payments
from payments.reconciliation import reconcile
from tests.lending.conftest import DAY, draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

# Odd principals and the products' rates, so that any second rounding shows.
PRINCIPAL = 9_876_543
RATE = Decimal("0.0005")


def half_up(value) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def simple_interest(principal_fen: int, rate: Decimal, days: int) -> int:
    """The oracle's simple interest: the future value of P over one period at r·d, less P."""
    return half_up(Decimal(str(npf.fv(float(rate) * days, 1, 0, -principal_fen))) - principal_fen)


def loan_of(method: str, term: int, unit: str, key: str) -> Loan:
    product = ProductFactory(
        code=f"p-{method}",
        is_revolving=False,
        term=term,
        term_unit=unit,
        repayment_method=method,
        daily_rate=RATE,
    )
    line = CreditLineFactory(product=product, limit_fen=20_000_000, daily_rate=RATE)
    loan = draw(line, PRINCIPAL, key=key)
    # The wallet holds the principal; give it enough for any interest too.
    payments.settlement_credit(wallet=loan.wallet, amount_fen=2_000_000, idempotency_key=f"sales-{key}")
    return loan


def pay_off(loan: Loan) -> LoanEvent:
    return services.loan_repay(
        loan=loan,
        amount_fen=None,
        idempotency_key=f"payoff-{loan.pk}",
        actor="merchant",
        on=business_date_today(),
        allow_partial=False,
    )


def paid(loan: Loan, kind: str) -> tuple[int, int]:
    rows = LoanEvent.objects.filter(loan=loan, kind=kind).values_list("principal_fen", "interest_fen")
    return sum(p for p, _ in rows), sum(i for _, i in rows)


# (method, term, unit, day of payoff counted from drawdown: the days the loan was out)
CASES = [
    (RepaymentMethod.BULLET, 30, "days", 1),
    (RepaymentMethod.BULLET, 30, "days", 17),
    (RepaymentMethod.MONTHLY_INTEREST, 3, "months", 10),
    (RepaymentMethod.MONTHLY_INTEREST, 3, "months", 45),  # after the first interest was collected
    (RepaymentMethod.EQUAL_PRINCIPAL, 3, "months", 10),
    (RepaymentMethod.EQUAL_PRINCIPAL, 3, "months", 45),  # after the first installment
    (RepaymentMethod.EQUAL_INSTALLMENT, 3, "months", 10),
    (RepaymentMethod.EQUAL_INSTALLMENT, 3, "months", 45),
]


def expected_payoff(method: str, days: int, collected: tuple[int, int], installment_1) -> tuple[int, int]:
    """(principal, interest) the oracle expects at a payoff `days` after drawdown, given what
    close of business collected before it."""
    collected_principal, collected_interest = collected
    if method in (RepaymentMethod.BULLET, RepaymentMethod.MONTHLY_INTEREST):
        return PRINCIPAL, simple_interest(PRINCIPAL, RATE, days) - collected_interest
    # Which period the payoff falls in, and how many of its days were used.
    months, i = 3, float(RATE) * 30
    due = [DAY.replace(month=DAY.month + k) for k in range(1, months + 1)]
    starts = [DAY, *due[:-1]]
    today = DAY + dt.timedelta(days=days)
    period = next(n for n, (a, b) in enumerate(zip(starts, due, strict=True)) if a <= today < b)
    used, length = (today - starts[period]).days, (due[period] - starts[period]).days
    if method == RepaymentMethod.EQUAL_INSTALLMENT:
        planned = half_up(npf.ipmt(i, period + 1, months, -PRINCIPAL))
        repaid_by_plan = sum(half_up(npf.ppmt(i, k, months, -PRINCIPAL)) for k in range(1, period + 1))
    else:
        share = half_up(PRINCIPAL / months)
        planned = half_up((PRINCIPAL - share * period) * i)
        repaid_by_plan = share * period
    # numpy-financial's plan and the accepted one differ by at most two fen of rounding a period
    # (tests/lending/test_calculations.py); the accepted first installment is what was collected.
    assert abs(collected_principal - repaid_by_plan) <= 2
    assert collected_principal == (installment_1.principal_fen if period else 0)
    return PRINCIPAL - collected_principal, half_up(Decimal(planned) * used / length)


def test_loans_paid_off_early_owe_the_oracles_interest_for_the_days_they_were_out(pool):
    loans = {
        (method, days): loan_of(method, term, unit, key=f"{method}-{days}")
        for method, term, unit, days in CASES
    }
    last = max(days for *_, days in CASES)
    by_payoff: dict[int, list] = {}
    for (method, days), loan in loans.items():
        by_payoff.setdefault(days, []).append((method, loan))
    accrued_at_payoff = {}
    for day in range(1, last + 3):
        cob.close_through(through=DAY + dt.timedelta(days=day - 1))
        assert business_date_today() == DAY + dt.timedelta(days=day)
        for method, loan in by_payoff.get(day, []):
            collected = paid(loan, LoanEvent.Kind.AUTO_DEDUCTED)
            payoff = pay_off(loan)
            principal, interest = expected_payoff(
                method, day, collected, loan.installments.order_by("number").first()
            )
            got = (payoff.principal_fen, payoff.interest_fen, payoff.penalty_fen)
            if method in (RepaymentMethod.EQUAL_PRINCIPAL, RepaymentMethod.EQUAL_INSTALLMENT):
                # The planned interest itself may differ from numpy-financial's by a fen.
                assert abs(payoff.interest_fen - interest) <= 1, (method, day, got, interest)
                interest = payoff.interest_fen
            assert got == (principal, interest, 0), (method, day)
            loan.refresh_from_db()
            assert loan.status == Loan.Status.REPAID
            assert loan.interest_accrued_total_fen == collected[1] + interest
            accrued_at_payoff[loan.pk] = (loan.interest_accrued_total_fen, collected)
    # Nothing more accrues or is taken after a payoff; every line is free again.
    for loan in loans.values():
        loan.refresh_from_db()
        total, collected = accrued_at_payoff[loan.pk]
        assert loan.interest_accrued_total_fen == total
        assert paid(loan, LoanEvent.Kind.AUTO_DEDUCTED) == collected
        assert loan.line.used_fen == 0
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_principal_paid_in_part_early_earns_the_oracles_interest_on_each_balance(pool):
    """A third of the principal repaid on day 12 (with the interest owed): the whole term's
    interest is simple interest on P for 12 days plus on what is left for the remaining days,
    for a bullet loan and an interest-only one."""
    loans = [
        loan_of(RepaymentMethod.BULLET, 30, "days", key="part-bullet"),
        loan_of(RepaymentMethod.MONTHLY_INTEREST, 2, "months", key="part-monthly"),
    ]
    cob.close_through(through=DAY + dt.timedelta(days=11))
    part = PRINCIPAL // 3
    accrued = simple_interest(PRINCIPAL, RATE, 12)
    for loan in loans:
        loan.refresh_from_db()
        assert loan.interest_outstanding_fen == accrued
        event = services.loan_repay(
            loan=loan,
            amount_fen=accrued + part,
            idempotency_key=f"part-{loan.pk}",
            actor="merchant",
            on=business_date_today(),
            allow_partial=False,
        )
        assert (event.interest_fen, event.principal_fen) == (accrued, part)
    cob.close_through(through=max(loan.maturity_on for loan in loans))
    for loan in loans:
        loan.refresh_from_db()
        assert loan.status == Loan.Status.REPAID
        rest_days = (loan.maturity_on - DAY).days - 12
        expected = accrued + simple_interest(PRINCIPAL - part, RATE, rest_days)
        assert loan.interest_accrued_total_fen == expected, loan.repayment_method
        assert paid(loan, LoanEvent.Kind.AUTO_DEDUCTED) == (PRINCIPAL - part, expected - accrued)
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_an_overdue_loan_paid_off_owes_the_oracles_interest_and_penalty(pool):
    """A 30-day loan unpaid at maturity (an empty wallet), paid off ten days on: interest for
    every day it was out, and penalty at half the rate again on the principal for each day past
    due; nothing more afterwards."""
    product = ProductFactory(
        code="late",
        is_revolving=False,
        term=30,
        term_unit="days",
        repayment_method=RepaymentMethod.BULLET,
        daily_rate=RATE,
        grace_days=0,
        penalty_markup=Decimal("0.5"),
    )
    line = CreditLineFactory(product=product, limit_fen=20_000_000, daily_rate=RATE)
    loan = draw(line, PRINCIPAL, key="late")
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=PRINCIPAL,
        idempotency_key="spent",
    )
    cob.close_through(through=loan.maturity_on + dt.timedelta(days=9))
    payments.settlement_credit(wallet=loan.wallet, amount_fen=PRINCIPAL + 500_000, idempotency_key="sales")
    payoff = pay_off(loan)
    # Out from the day of drawdown to the day before the payoff; past due from the day after the
    # due date to the day before the payoff (the days close of business closed).
    days_out = (business_date_today() - DAY).days
    days_late = (business_date_today() - loan.maturity_on).days - 1
    assert (days_out, days_late) == (40, 9)
    assert (payoff.principal_fen, payoff.interest_fen, payoff.penalty_fen) == (
        PRINCIPAL,
        simple_interest(PRINCIPAL, RATE, days_out),
        simple_interest(PRINCIPAL, RATE * Decimal("0.5"), days_late),
    )
    cob.close_through(through=business_date_today() + dt.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert (loan.interest_outstanding_fen, loan.penalty_outstanding_fen) == (0, 0)
    assert loan.interest_accrued_total_fen == simple_interest(PRINCIPAL, RATE, days_out)
    assert reconcile().is_clean and cob.lending_reconcile() == []
