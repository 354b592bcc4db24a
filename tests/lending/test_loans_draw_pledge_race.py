"""The batch drawdown (loans_draw) pledges orders under the rule loan_draw follows: the orders are
locked and read again inside the drawdown's transaction, so an order refunded, or pledged by
another drawdown, after the quote chose it refuses the drawdown, naming `orders`, and nothing of
it is written. Real threads on PostgreSQL."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from common.business_date import business_date_today
from lending import services
from lending.models import CreditLine, Loan, Pledge
from lending.services import loans as loan_services
from merchants import services as merchants
from merchants.models import Order, OrderStatus
from payments.models import Account
from tests.conftest import requires_postgres
from tests.lending.conftest import open_pool
from tests.outsider.test_money_oracle_findings import order_line, order_loan_product

AMOUNT = 10_000


def _order_line() -> CreditLine:
    """A seller with three shipped orders (50, 100 and 70 yuan, oldest first) and an order-loan
    line: 100 yuan pledges the two oldest."""
    product = order_loan_product()
    line = order_line(product, [5_000, 10_000, 7_000])
    return CreditLine.objects.select_related("product", "merchant", "merchant__partner").get(pk=line.pk)


def _request(line: CreditLine, key: str) -> services.DrawRequest:
    accepted = services.loan_quote(line=line, amount_fen=AMOUNT, start_on=business_date_today())
    return services.DrawRequest(
        line=line, amount_fen=AMOUNT, accepted_sha256=accepted.contract_sha256, idempotency_key=key
    )


def _batch_draw_after(monkeypatch, request: services.DrawRequest, meanwhile) -> services.Drawn:
    """Draw the request in a batch; once the batch has priced it, before it locks or writes
    anything, `meanwhile` runs to its end in another thread, on its own connection."""
    loan_quote = loan_services.loan_quote

    def in_a_thread():
        try:
            meanwhile()
        finally:
            connection.close()

    def quote_then_meanwhile(**kwargs):
        quote = loan_quote(**kwargs)
        if threading.current_thread() is threading.main_thread():
            other = threading.Thread(target=in_a_thread)
            other.start()
            other.join()
        return quote

    monkeypatch.setattr(loan_services, "loan_quote", quote_then_meanwhile)
    [drawn] = services.loans_draw(requests=[request], via="test", on=business_date_today())
    return drawn


def _nothing_written(line: CreditLine) -> None:
    assert not Loan.objects.exists() and not Pledge.objects.exists()
    line.refresh_from_db()
    assert line.used_fen == 0
    assert not Account.objects.filter(merchant=line.merchant, balance_fen__gt=0).exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_refunded_after_the_batch_quoted_it_refuses_that_drawdown(monkeypatch):
    """The batch prices the order loan (choosing the two oldest orders); the marketplace refunds
    the oldest from another connection before the batch writes. The drawdown is refused naming
    the order (it was drawn, pledged on a refunded order)."""
    open_pool()
    line = _order_line()
    request = _request(line, "batch")
    oldest = Order.objects.filter(merchant=line.merchant).order_by("shipped_at").first()

    def refund():
        merchants.order_transition(
            partner=oldest.partner,
            external_id=oldest.external_id,
            to_status=OrderStatus.REFUNDED,
            at=timezone.now(),
            source="test",
        )

    drawn = _batch_draw_after(monkeypatch, request, refund)
    assert drawn.loan is None, "drawn on a refunded order"
    assert str(oldest.pk) in drawn.refusal.extra["fields"]["orders"][0]
    _nothing_written(line)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_single_drawdown_landing_after_the_batch_quoted_takes_the_orders_first(monkeypatch):
    """The batch prices the order loan (the two oldest orders); a single drawdown of the same
    line, quoted alike, is drawn from another connection before the batch writes. The batch's
    drawdown is refused naming `orders` (it wrote its pledges unchecked: an IntegrityError on
    order_pledged_once, a 500 through the API) and writes nothing."""
    open_pool()
    line = _order_line()
    batch_request = _request(line, "batch")
    single: list[str] = []

    def draw_single():
        services.loan_draw(
            line=CreditLine.objects.get(pk=line.pk),
            amount_fen=AMOUNT,
            accepted_sha256=batch_request.accepted_sha256,
            idempotency_key="single",
            via="test",
            on=business_date_today(),
        )
        single.append("drawn")

    drawn = _batch_draw_after(monkeypatch, batch_request, draw_single)
    assert single == ["drawn"]
    assert drawn.loan is None
    assert "orders" in drawn.refusal.extra["fields"], drawn.refusal.extra
    loan = Loan.objects.get()
    assert loan.idempotency_key == "single" and Pledge.objects.filter(loan=loan).count() == 2
    line.refresh_from_db()
    assert line.used_fen == AMOUNT
    assert Account.objects.get(pk=loan.wallet_id).balance_fen == AMOUNT
