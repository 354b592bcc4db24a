"""Order loans are pledged on the seller's shipped orders (订单贷款: in essence a pledge of orders
in state "seller has shipped"). When a pledged order settles, its money repays the loan first;
when it is refunded, its share of the loan falls due at once."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from common.errors import ApplicationError
from common.money import format_yuan
from lending.models import LoanEvent, Pledge, Product
from merchants.models import Merchant, Order, OrderStatus


def pledge_select(*, merchant: Merchant, product: Product, amount_fen: int) -> list[tuple[int, int]]:
    """Shipped orders not pledged yet, oldest first (they settle soonest), until their value
    times the advance rate covers the amount: [(order id, value in fen)]."""
    eligible = (
        Order.objects.filter(merchant=merchant, status=OrderStatus.SHIPPED)
        .exclude(pledges__is_open=True)
        .order_by("shipped_at", "pk")
        .values_list("pk", "amount_fen")
    )
    chosen, covered = [], 0
    for order_id, value in eligible.iterator(chunk_size=500):
        chosen.append((order_id, value))
        covered += value
        if covered * product.advance_rate >= amount_fen:
            return chosen
    limit = int(covered * product.advance_rate)
    raise ApplicationError(
        f"an order loan is lent against shipped orders: at most ¥{format_yuan(limit)} now",
        {"fields": {"amount": [f"shipped orders cover at most {format_yuan(limit)} yuan"]}},
    )


def pledges_create(*, loan, orders: list[tuple[int, int]]) -> None:
    Pledge.objects.bulk_create(
        [Pledge(loan=loan, order_id=order_id, value_fen=value) for order_id, value in orders]
    )


def pledges_process(*, on: dt.date) -> int:
    """Act on pledged orders that settled or were refunded: once each (the pledge closes)."""
    from lending.services.loans import loan_repay

    handled = 0
    open_pledges = Pledge.objects.filter(
        is_open=True, order__status__in=[OrderStatus.SETTLED, OrderStatus.REFUNDED]
    ).select_related("loan", "order")
    for pledge in open_pledges.order_by("pk").iterator(chunk_size=500):
        with transaction.atomic():
            if not Pledge.objects.filter(pk=pledge.pk, is_open=True).update(
                is_open=False, released_on=on, release_reason=pledge.order.status
            ):
                continue
            loan = pledge.loan
            if loan.status not in ("active", "overdue"):
                continue
            if pledge.order.status == OrderStatus.SETTLED:
                # The order's money has just reached the wallet: it goes to the loan first.
                loan_repay(
                    loan=loan,
                    amount_fen=pledge.value_fen,
                    idempotency_key=f"pledge:{pledge.pk}",
                    actor="pledged order settled",
                    kind=LoanEvent.Kind.PLEDGE_SETTLED,
                )
            else:
                _refund_falls_due(pledge, on)
            handled += 1
    return handled


def _refund_falls_due(pledge: Pledge, on: dt.date) -> None:
    """The refunded order no longer backs the loan: its share of the principal is due today."""
    from lending.models import Loan

    loan = Loan.objects.select_for_update().get(pk=pledge.loan_id)
    pledged = sum(Pledge.objects.filter(loan=loan).values_list("value_fen", flat=True)) or 1
    share = int(Decimal(loan.principal_fen) * pledge.value_fen / pledged)
    share = min(share, loan.principal_outstanding_fen - loan.due_principal_fen)
    if share <= 0:
        return
    Loan.objects.filter(pk=loan.pk).update(
        due_principal_fen=F("due_principal_fen") + share,
        oldest_unpaid_due_on=loan.oldest_unpaid_due_on or on,
    )
    LoanEvent.objects.create(
        loan=loan,
        kind=LoanEvent.Kind.PLEDGE_REFUNDED,
        business_on=on,
        principal_fen=share,
        actor="pledged order refunded",
        note=f"order {pledge.order.external_id}",
    )
