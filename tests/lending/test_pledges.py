"""Order loans: lent against shipped orders; a settled pledged order repays first, a refunded one
makes its share due at once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from lending import cob, services
from lending.models import Loan, LoanEvent, Pledge
from merchants.models import Order, OrderStatus
from payments import services as payments
from payments.reconciliation import reconcile
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory, OrderFactory


@pytest.fixture(autouse=True)
def english():
    """The services' refusals are read here in English, the language the partner API speaks
    (outside a request the default language, zh-Hans, is active)."""
    with translation.override("en"):
        yield


DAY = dt.date(2026, 3, 1)


@pytest.fixture
def order_line(db):
    business_date_set(on=DAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    product = ProductFactory(
        code="order_loan",
        is_revolving=False,
        is_pledged=True,
        term=30,
        daily_rate=Decimal("0.0005"),
        advance_rate=Decimal("0.8"),
    )
    merchant = MerchantFactory()
    orders = [OrderFactory(merchant=merchant, shipped=True, amount_fen=500_000) for _ in range(3)]
    return CreditLineFactory(
        product=product, merchant=merchant, limit_fen=5_000_000, daily_rate=product.daily_rate
    ), orders


def draw(line, amount_fen):
    quote = services.loan_quote(line=line, amount_fen=amount_fen, start_on=business_date_today())
    return services.loan_draw(
        line=line,
        amount_fen=amount_fen,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="k",
        via="test",
        on=business_date_today(),
    )


def test_an_order_loan_is_lent_against_shipped_orders_only(order_line):
    line, orders = order_line
    with pytest.raises(ApplicationError, match="shipped orders"):
        services.loan_quote(
            line=line, amount_fen=1_200_001, start_on=business_date_today()
        )  # 3 × 5,000 × 80 % = 12,000 yuan
    loan = draw(line, 700_000)
    assert set(Pledge.objects.filter(loan=loan).values_list("order_id", flat=True)) == {
        orders[0].pk,
        orders[1].pk,
    }
    assert "Pledged orders" in loan.contract.text
    with pytest.raises(ApplicationError, match="shipped orders"):
        services.loan_quote(
            line=line, amount_fen=500_000, start_on=business_date_today()
        )  # only one unpledged order is left


def test_the_agreement_names_the_pledged_orders_by_the_numbers_the_shop_shows(order_line):
    """The seller ticks orders by the numbers on its Shop page; the agreement it signs names them the
    same way, not by the platform's row ids. An agreement accepted as it read before (by ids) still
    draws: the borrower accepted those terms."""
    line, orders = order_line
    quote = services.loan_quote(line=line, amount_fen=700_000, start_on=business_date_today())
    numbers = [o.external_id for o in orders[:2]]
    assert f"order numbers {numbers[0]}, {numbers[1]}" in quote.contract_text
    assert f"ids {orders[0].pk}" not in quote.contract_text
    as_before = quote.contract_text.replace(
        f"order numbers {numbers[0]}, {numbers[1]}", f"ids {orders[0].pk}, {orders[1].pk}"
    )
    assert quote.accepted_text(services.loans._sha256(as_before)) == as_before
    loan = services.loan_draw(
        line=line,
        amount_fen=700_000,
        accepted_sha256=services.loans._sha256(as_before),
        idempotency_key="as-before",
        via="test",
        on=business_date_today(),
    )
    assert loan.contract.text == as_before


def test_a_settled_pledged_order_repays_the_loan_first(order_line):
    line, orders = order_line
    loan = draw(line, 700_000)
    Order.objects.filter(pk=orders[0].pk).update(status=OrderStatus.SETTLED, settled_at=timezone.now())
    payments.settlement_credit(wallet=loan.wallet, amount_fen=500_000, idempotency_key="order-0-money")
    cob.close_of_business(on=DAY)
    loan.refresh_from_db()
    assert loan.principal_outstanding_fen == 200_000
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.PLEDGE_SETTLED).count() == 1
    assert not Pledge.objects.get(order=orders[0]).is_open
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_a_refunded_pledged_order_makes_its_share_due_at_once(order_line):
    line, orders = order_line
    loan = draw(line, 700_000)
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=700_000,
        idempotency_key="spent",
    )
    Order.objects.filter(pk=orders[1].pk).update(status=OrderStatus.REFUNDED, refunded_at=timezone.now())
    cob.close_of_business(on=DAY)
    loan.refresh_from_db()
    assert loan.due_principal_fen == 350_000  # half the pledged value, half the loan
    assert loan.oldest_unpaid_due_on == DAY
    cob.close_of_business(on=DAY + dt.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE and loan.days_past_due == 1
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_settled_pledges_repay_many_loans_in_batches_once_as_far_as_the_wallet_allows(order_line):
    from lending.services.pledges import pledges_process

    line, orders = order_line
    first = draw(line, 700_000)  # pledges orders 0 and 1
    quote = services.loan_quote(line=line, amount_fen=300_000, start_on=business_date_today())
    second = services.loan_draw(
        line=line,
        amount_fen=300_000,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="k2",
        via="test",
        on=business_date_today(),
    )
    payments.wallet_to_wallet(
        source=first.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=200_000,
        idempotency_key="spent",
    )
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        status=OrderStatus.SETTLED, settled_at=timezone.now()
    )
    assert pledges_process(on=DAY, batch_size=1) == 3
    first.refresh_from_db()
    second.refresh_from_db()
    line.refresh_from_db()
    # 800,000 available: the first loan (lower id) is repaid whole, the second gets the rest.
    assert first.status == Loan.Status.REPAID and first.closed_on == DAY
    assert second.principal_outstanding_fen == 200_000 and second.status == Loan.Status.ACTIVE
    assert first.wallet.__class__.objects.get(pk=first.wallet_id).available_fen == 0
    assert line.used_fen == 200_000
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.PLEDGE_SETTLED).count() == 2
    assert not Pledge.objects.filter(is_open=True).exists()
    assert pledges_process(on=DAY) == 0  # each pledge acts once
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.PLEDGE_SETTLED).count() == 2
    assert reconcile().is_clean and cob.lending_reconcile() == []
