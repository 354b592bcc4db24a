"""What the money oracle (tests/outsider/test_money_oracle.py) found, each pinned by its own
small case, on the database the suite runs on."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from common.business_date import business_date_today
from common.errors import ApplicationError
from lending import cob, services
from lending.models import CreditLine, Loan, Pledge, RepaymentMethod
from tests.conftest import requires_postgres
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


def order_loan_product():
    """A 30-day bullet order loan at RATE."""
    return ProductFactory(
        code="order_loan",
        segment="b2c",
        is_revolving=False,
        is_pledged=True,
        term=30,
        term_unit="days",
        repayment_method=RepaymentMethod.BULLET,
        daily_rate=RATE,
    )


def order_line(product, values: list[int]):
    """A seller with shipped orders of these values (oldest first) and a line of the product."""
    from django.utils import timezone

    from merchants.models import OrderStatus
    from tests.merchants.factories import MerchantFactory, OrderFactory

    merchant = MerchantFactory()
    for n, value in enumerate(values):
        OrderFactory(
            merchant=merchant,
            amount_fen=value,
            status=OrderStatus.SHIPPED,
            shipped_at=timezone.now() - dt.timedelta(days=2, minutes=len(values) - n),
        )
    return CreditLineFactory(merchant=merchant, product=product, limit_fen=20_000_000, daily_rate=RATE)


def order_loan_pledged_on(values: list[int], amount_fen: int) -> Loan:
    """An order loan drawn against shipped orders of these values (oldest first)."""
    product = order_loan_product()
    return draw(order_line(product, values), amount_fen, key="order-loan")


def test_a_refunded_pledged_orders_share_of_the_principal_is_rounded_half_up(db):
    """Orders of 50.00 and 100.00 yuan back a loan of 100.01 yuan; the first is refunded. Its
    share is 100.01 × 50 / 150 = 33.336…, 33.34 yuan half-up as every figure of money is
    (ARCHITECTURE: "rounding is half-up to the fen, in one place"); it was cut to 33.33."""
    from django.utils import timezone

    from merchants import services as merchants

    open_pool()
    loan = order_loan_pledged_on([5_000, 10_000], 10_001)
    first = loan.pledges.order_by("pk").first().order
    merchants.order_transition(
        partner=first.partner,
        external_id=first.external_id,
        to_status="refunded",
        at=timezone.now(),
        source="test",
    )
    cob.close_through(through=business_date_today())
    event = loan.events.get(kind="pledge_refunded")
    assert event.principal_fen == 3_334


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_drawdowns_at_once_never_pledge_one_order_twice(monkeypatch):
    """Two drawdowns of the seller's order line at once, each quoted before either is written:
    both chose the same oldest orders. One loan is made; the other is refused naming the orders
    (it failed on the database's order_pledged_once constraint, an IntegrityError: a 500 through
    the API) and writes nothing."""
    from lending.services import loans as loan_services
    from payments.models import Account

    open_pool()
    loan_quote = loan_services.loan_quote
    barrier = threading.Barrier(2)

    def quote_then_wait(**kwargs):
        quote = loan_quote(**kwargs)
        if threading.current_thread() is not threading.main_thread():
            barrier.wait(timeout=60)
        return quote

    product = order_loan_product()
    line = order_line(product, [5_000, 10_000, 7_000])
    on = business_date_today()
    accepted = loan_quote(line=line, amount_fen=10_000, start_on=on).contract_sha256
    monkeypatch.setattr(loan_services, "loan_quote", quote_then_wait)
    outcomes: list[str] = []

    def draw_once(key):
        try:
            loan_services.loan_draw(
                line=CreditLine.objects.get(pk=line.pk),
                amount_fen=10_000,
                accepted_sha256=accepted,
                idempotency_key=key,
                via="test",
                on=on,
            )
            outcomes.append("drawn")
        except ApplicationError as refused:
            assert "orders" in refused.extra.get("fields", {}), refused.extra
            outcomes.append("refused")
        except Exception as error:  # the defect: anything else is a 500
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=draw_once, args=(f"race-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["drawn", "refused"]
    assert Loan.objects.count() == 1 and Pledge.objects.count() == 2
    line.refresh_from_db()
    assert line.used_fen == 10_000
    assert Account.objects.get(pk=Loan.objects.get().wallet_id).balance_fen == 10_000
