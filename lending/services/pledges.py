"""Order loans are pledged on the seller's shipped orders (订单贷款: in essence a pledge of orders
in state "seller has shipped"). When a pledged order settles, its money repays the loan first;
when it is refunded, its share of the loan falls due at once."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from common.errors import ApplicationError
from common.money import format_yuan, round_half_up
from lending.models import Loan, LoanEvent, Pledge, Product
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
        _("an order loan is lent against shipped orders: at most ¥%(amount)s now")
        % {"amount": format_yuan(limit)},
        {"fields": {"amount": [f"shipped orders cover at most {format_yuan(limit)} yuan"]}},
    )


def pledge_check(
    *, merchant: Merchant, product: Product, amount_fen: int, order_ids: list[int]
) -> list[tuple[int, int]]:
    """The orders a seller ticked, checked: its own, shipped and not settled, not pledged yet, and
    worth enough at the advance rate to cover the amount: [(order id, value in fen)]."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        raise ApplicationError(
            _("tick at least one shipped order to pledge"), {"fields": {"orders": ["required"]}}
        )
    rows = dict(
        Order.objects.filter(pk__in=ids, merchant=merchant, status=OrderStatus.SHIPPED)
        .exclude(pledges__is_open=True)
        .values_list("pk", "amount_fen")
    )
    unusable = [i for i in ids if i not in rows]
    if unusable:
        raise pledge_refusal(unusable)
    covered = int(sum(rows.values()) * product.advance_rate)
    if covered < amount_fen:
        raise ApplicationError(
            _("the ticked orders cover at most ¥%(amount)s") % {"amount": format_yuan(covered)},
            {"fields": {"amount": [f"the ticked orders cover at most {format_yuan(covered)} yuan"]}},
        )
    return [(i, rows[i]) for i in ids]


def pledge_refusal(ids: Iterable[int]) -> ApplicationError:
    """Why a drawdown cannot pledge these orders (its own, shipped, not pledged yet), naming them."""
    ids = list(ids)
    return ApplicationError(
        _(
            "orders %(orders)s cannot be pledged: only your own shipped orders, not settled and not "
            "pledged yet"
        )
        % {"orders": ", ".join(map(str, ids[:10]))},
        {"fields": {"orders": [f"not pledgeable: {', '.join(map(str, ids[:10]))}"]}},
    )


def pledges_lock(order_ids: Iterable[int]) -> set[int]:
    """The rule every drawdown pledging orders follows, inside its transaction: a quote chose the
    orders before any lock, and another drawdown may have pledged one since, or the marketplace
    refunded, disputed or delivered it. The orders are locked in id order (a change of their
    status waits for the drawdown) and read again; returns those no longer pledgeable."""
    ids = sorted(set(order_ids))
    if not ids:
        return set()
    list(Order.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list("pk", flat=True))
    usable = set(
        Order.objects.filter(pk__in=ids, status=OrderStatus.SHIPPED)
        .exclude(pledges__is_open=True)
        .values_list("pk", flat=True)
    )
    return {i for i in ids if i not in usable}


def pledges_refused(orders: Iterable[tuple[int, int]], unusable: set[int]) -> ApplicationError | None:
    """The refusal of a drawdown pledging these (order id, value) if any of them is unusable
    (pledges_lock's answer), naming those in id order; None when all are still pledgeable."""
    gone = sorted(order_id for order_id, _value in orders if order_id in unusable)
    return pledge_refusal(gone) if gone else None


def pledge_rows(*, loan, orders: Iterable[tuple[int, int]]) -> list[Pledge]:
    return [Pledge(loan=loan, order_id=order_id, value_fen=value) for order_id, value in orders]


def pledges_create(*, loan, orders: list[tuple[int, int]]) -> None:
    """Pledge the quoted orders to the loan, inside the drawdown's transaction, under
    pledges_lock's rule: one no longer pledgeable refuses the drawdown, naming it, and the
    caller's transaction writes nothing."""
    refusal = pledges_refused(orders, pledges_lock(order_id for order_id, _value in orders))
    if refusal is not None:
        raise refusal
    Pledge.objects.bulk_create(pledge_rows(loan=loan, orders=orders))


def pledges_process(*, on: dt.date, batch_size: int = 2000) -> int:
    """Act on pledged orders that settled or were refunded, once each (the pledge closes in the
    same transaction as what it causes). Settled ones repay their loans set-based, a batch of
    loans at a time; returns how many pledges were handled."""
    return _settled_pledges_repay(on=on, batch_size=batch_size) + _refunded_pledges_process(on=on)


def _settled_pledges_repay(*, on: dt.date, batch_size: int) -> int:
    """The settled order's money has just reached the wallet: it goes to the loan first, up to
    what the loan owes, as far as the wallet allows (the merchant may have spent it)."""
    from lending.services import wallet_collection

    settled = Pledge.objects.filter(is_open=True, order__status=OrderStatus.SETTLED)
    handled, after = 0, 0
    while True:
        loan_ids = list(
            settled.filter(loan_id__gt=after)
            .order_by("loan_id")
            .values_list("loan_id", flat=True)
            .distinct()[:batch_size]
        )
        if not loan_ids:
            return handled
        after = loan_ids[-1]
        with transaction.atomic():
            wallets = Loan.objects.filter(pk__in=loan_ids, status__in=("active", "overdue")).values_list(
                "wallet_id", flat=True
            )
            available = wallet_collection.wallets_lock(wallets)
            # Only now, with the wallets locked, read what is left to do and what is owed: another
            # close of the same date (or a repayment) may have got there first.
            pledges = list(
                settled.filter(loan_id__in=loan_ids)
                .select_for_update()
                .values_list("pk", "loan_id", "value_fen")
            )
            Pledge.objects.filter(pk__in=[pk for pk, _, _ in pledges]).update(
                is_open=False, released_on=on, release_reason=OrderStatus.SETTLED
            )
            handled += len(pledges)
            value: dict[int, int] = defaultdict(int)
            first: dict[int, int] = {}
            for pk, loan_id, fen in pledges:
                value[loan_id] += fen
                first[loan_id] = min(first.get(loan_id, pk), pk)
            owed = []
            for loan in Loan.objects.filter(pk__in=list(value), status__in=("active", "overdue")).only(
                "pk",
                "wallet_id",
                "pool_id",
                "line_id",
                "product_id",
                "reference",
                "penalty_outstanding_fen",
                "fee_outstanding_fen",
                "interest_outstanding_fen",
                "principal_outstanding_fen",
            ):
                total = (
                    loan.penalty_outstanding_fen
                    + loan.fee_outstanding_fen
                    + loan.interest_outstanding_fen
                    + loan.principal_outstanding_fen
                )
                owed.append(
                    wallet_collection.Owed(
                        loan_id=loan.pk,
                        wallet_id=loan.wallet_id,
                        pool_id=loan.pool_id,
                        line_id=loan.line_id,
                        product_id=loan.product_id,
                        reference=loan.reference,
                        penalty=loan.penalty_outstanding_fen,
                        fee=loan.fee_outstanding_fen,
                        interest=loan.interest_outstanding_fen,
                        principal=loan.principal_outstanding_fen,
                        wanted=min(value[loan.pk], total),
                        # A pledge closes once, so the first settled pledge names the repayment.
                        idempotency_key=f"repay:pledge:{first[loan.pk]}",
                    )
                )
            wallet_collection.loans_collect(
                on=on,
                owed=owed,
                available=available,
                kind=LoanEvent.Kind.PLEDGE_SETTLED,
                reference="repayment by pledged orders of",
            )


def _refunded_pledges_process(*, on: dt.date) -> int:
    handled = 0
    refunded = Pledge.objects.filter(is_open=True, order__status=OrderStatus.REFUNDED).select_related(
        "loan", "order"
    )
    for pledge in refunded.order_by("pk").iterator(chunk_size=500):
        with transaction.atomic():
            if not Pledge.objects.filter(pk=pledge.pk, is_open=True).update(
                is_open=False, released_on=on, release_reason=OrderStatus.REFUNDED
            ):
                continue
            if pledge.loan.status in ("active", "overdue"):
                _refund_falls_due(pledge, on)
            handled += 1
    return handled


def _refund_falls_due(pledge: Pledge, on: dt.date) -> None:
    """The refunded order no longer backs the loan: its share of the principal is due today."""
    loan = Loan.objects.select_for_update().get(pk=pledge.loan_id)
    pledged = sum(Pledge.objects.filter(loan=loan).values_list("value_fen", flat=True)) or 1
    # Half-up to the fen, as every figure of money.
    share = round_half_up(Decimal(loan.principal_fen) * pledge.value_fen / pledged)
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
