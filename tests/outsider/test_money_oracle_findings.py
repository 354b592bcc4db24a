"""What the money oracle (tests/outsider/test_money_oracle.py) found, each pinned by its own
small case, on the database the suite runs on."""

import datetime as dt
from decimal import Decimal

from common.business_date import business_date_today
from lending import cob, services
from lending.models import Loan, RepaymentMethod
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory

RATE = Decimal("0.0005")


def amortising_loan(method=RepaymentMethod.EQUAL_INSTALLMENT, key="k") -> Loan:
    product = ProductFactory(
        code=f"p-{method}",
        is_revolving=False,
        term=3,
        term_unit="months",
        repayment_method=method,
        daily_rate=RATE,
    )
    line = CreditLineFactory(product=product, limit_fen=20_000_000, daily_rate=RATE)
    return draw(line, 1_000_000, key=key)


def test_an_installment_paid_on_its_due_date_before_the_close_leaves_nothing_past_due(db):
    """The merchant pays the installment through the API on its due date, before the close: the
    close has nothing to collect, and the loan must stay current (it was marked overdue the next
    day, its days past due growing and its class 'special mention', with nothing owed)."""
    open_pool()
    loan = amortising_loan()
    first = loan.installments.order_by("number").first()
    cob.close_through(through=first.due_on - dt.timedelta(days=1))
    assert business_date_today() == first.due_on
    services.loan_repay(
        loan=loan,
        amount_fen=first.principal_fen + first.interest_fen,
        idempotency_key="on-the-day",
        actor="merchant",
        on=business_date_today(),
    )
    cob.close_through(through=first.due_on + dt.timedelta(days=3))
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due, loan.classification, loan.oldest_unpaid_due_on) == (
        Loan.Status.ACTIVE,
        0,
        "normal",
        None,
    )
    assert (loan.due_principal_fen, loan.due_interest_fen, loan.penalty_outstanding_fen) == (0, 0, 0)


def test_principal_late_again_starts_a_new_span_of_overdue_interest(db):
    """Equal principal: the first installment paid three days late (exactly what was due), the
    second unpaid on its due date. The same amount is past due again, but a month later: its
    overdue interest starts anew (one day's interest on its first day), where the span of a month
    before was taken up again and the month in between charged in one day."""
    from payments import services as payments
    from payments.models import Account
    from tests.merchants.factories import MerchantFactory

    open_pool()
    loan = amortising_loan(RepaymentMethod.EQUAL_PRINCIPAL)
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=Account.objects.get(pk=loan.wallet_id).balance_fen,
        idempotency_key="spent",
    )
    first, second, third = loan.installments.order_by("number")
    cob.close_through(through=first.due_on + dt.timedelta(days=2))
    loan.refresh_from_db()
    owed = loan.penalty_outstanding_fen + loan.due_interest_fen + loan.due_principal_fen
    payments.settlement_credit(wallet=loan.wallet, amount_fen=owed, idempotency_key="late sales")
    cob.close_through(through=business_date_today())
    loan.refresh_from_db()
    assert (loan.due_principal_fen, loan.oldest_unpaid_due_on) == (0, None)
    cob.close_through(through=second.due_on - dt.timedelta(days=1))
    loan.refresh_from_db()
    before = loan.interest_accrued_total_fen
    cob.close_through(through=second.due_on)
    loan.refresh_from_db()
    assert loan.due_principal_fen == second.principal_fen == first.principal_fen
    # Day 1 of the third period's plan, and one day's interest on the principal past due.
    days = (third.due_on - second.due_on).days
    planned = (2 * third.interest_fen + days) // (2 * days)
    overdue = (second.principal_fen * 50_000 + 50_000_000) // 100_000_000
    assert loan.interest_accrued_total_fen - before == planned + overdue
