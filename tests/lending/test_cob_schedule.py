"""What close of business collects on each due date is the installment of the schedule the
merchant accepted, to the fen, for every repayment method, on SQLite and on PostgreSQL."""

from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import pytest

from lending import calculations as calc
from lending import cob
from lending.models import Installment, Loan, LoanEvent, RepaymentMethod
from payments import services as payments
from payments.reconciliation import reconcile
from tests.lending.conftest import DAY, draw
from tests.lending.factories import CreditLineFactory, ProductFactory

PRODUCTS = {
    "bullet": {
        "code": "order_loan",
        "term": 30,
        "term_unit": "days",
        "repayment_method": RepaymentMethod.BULLET,
    },
    "monthly_interest": {
        "code": "fixed_mi",
        "term": 3,
        "term_unit": "months",
        "repayment_method": RepaymentMethod.MONTHLY_INTEREST,
    },
    "equal_principal": {
        "code": "fixed_ep",
        "term": 6,
        "term_unit": "months",
        "repayment_method": RepaymentMethod.EQUAL_PRINCIPAL,
    },
    "equal_installment": {
        "code": "credit_loan",
        "term": 6,
        "term_unit": "months",
        "repayment_method": RepaymentMethod.EQUAL_INSTALLMENT,
    },
}
# Odd principals and rates, so that rounding shows wherever it is done twice.
CASES = ((10_000_000, Decimal("0.0006")), (5_001_600, Decimal("0.00035")), (9_876_543, Decimal("0.000333")))


def test_each_repayment_method_collects_exactly_its_schedule(pool):
    loans = []
    for method, fields in PRODUCTS.items():
        for n, (amount, rate) in enumerate(CASES):
            product = ProductFactory(
                **{**fields, "code": f"{fields['code']}-{n}"}, is_revolving=False, daily_rate=rate
            )
            line = CreditLineFactory(product=product, limit_fen=20_000_000, daily_rate=rate)
            loan = draw(line, amount, key=f"{method}-{n}")
            # The schedule the merchant accepted is the one an independent rebuild gives.
            rebuilt = calc.build_schedule(
                fields["repayment_method"],
                principal_fen=amount,
                daily_rate=rate,
                start_on=DAY,
                term=fields["term"],
            )
            assert [(i.principal_fen, i.interest_fen) for i in rebuilt] == list(
                loan.installments.order_by("number").values_list("principal_fen", "interest_fen")
            )
            # Its wallet holds the principal (disbursed) and every fen of interest.
            payments.settlement_credit(
                wallet=loan.wallet,
                amount_fen=sum(i.interest_fen for i in rebuilt),
                idempotency_key=f"income-{loan.pk}",
            )
            loans.append(loan)
    last = max(loan.maturity_on for loan in loans)
    cob.close_through(through=last)
    differences = []
    for loan in loans:
        loan.refresh_from_db()
        for installment in Installment.objects.filter(loan=loan).order_by("number"):
            collected = LoanEvent.objects.filter(
                loan=loan, kind=LoanEvent.Kind.AUTO_DEDUCTED, business_on=installment.due_on
            ).values_list("principal_fen", "interest_fen")
            got = tuple(map(sum, zip(*collected, strict=True))) if collected else (0, 0)
            if got != (installment.principal_fen, installment.interest_fen):
                differences.append(
                    f"{loan.repayment_method} {loan.principal_fen} at {loan.daily_rate} "
                    f"#{installment.number}: collected {got}, "
                    f"schedule {(installment.principal_fen, installment.interest_fen)}"
                )
            if installment.paid_on != installment.due_on:
                differences.append(
                    f"{loan.repayment_method} #{installment.number} paid on {installment.paid_on}"
                )
        if loan.status != Loan.Status.REPAID:
            differences.append(f"{loan.repayment_method} {loan.principal_fen} is {loan.status}")
        if loan.interest_accrued_total_fen != sum(loan.installments.values_list("interest_fen", flat=True)):
            differences.append(f"{loan.repayment_method} {loan.principal_fen}: another total interest")
    assert differences == [], "\n".join(differences)
    assert reconcile().is_clean and cob.lending_reconcile() == []


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        # 50,016 yuan at 0.035 %/day is 1,750.56 fen a day; 31, 30 and 31 days. Each period
        # rounded on its own would make the third 54,267.
        (5_001_600, [54_267, 52_517, 54_268]),
        (4_285_743, [46_500, 45_001, 46_500]),
    ],
)
def test_an_interest_only_loan_collects_the_running_total_not_each_period_rounded(pool, amount, expected):
    rate = Decimal("0.00035")
    product = ProductFactory(**PRODUCTS["monthly_interest"], is_revolving=False, daily_rate=rate)
    line = CreditLineFactory(product=product, limit_fen=20_000_000, daily_rate=rate)
    loan = draw(line, amount)
    # Independently: round(P·r·days since drawdown), less what the earlier periods took.
    days = [0, *((i.due_on - DAY).days for i in loan.installments.order_by("number"))]
    totals = [int((amount * rate * d).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for d in days]
    assert [b - a for a, b in pairwise(totals)] == expected
    assert list(loan.installments.order_by("number").values_list("interest_fen", flat=True)) == expected
    payments.settlement_credit(wallet=loan.wallet, amount_fen=1_000_000, idempotency_key="income")
    cob.close_through(through=loan.maturity_on)
    collected = list(
        LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.AUTO_DEDUCTED)
        .order_by("business_on")
        .values_list("interest_fen", flat=True)
    )
    assert collected == expected
