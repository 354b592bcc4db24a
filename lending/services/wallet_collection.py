"""Taking money owed from many wallets at once, for the work that runs by itself: the nightly
automatic deduction and repayment by pledged orders that settled. Set-based: one journal entry
per loan written by `payments.bulk`, and each loan's balances, span, status and credit line
written by a handful of multi-row statements, whatever the number of loans.

The caller locks the wallets (`wallets_lock`, id order like every money flow), then reads what
each loan owes, then calls `loans_collect`: each wallet's available money is shared out over its
merchant's loans in loan id order, each loan's take split in its product's allocation order."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from common.sql import date_literal, values_execute
from lending import calculations as calc
from lending.models import LoanEvent, Product
from lending.services.installments import installments_refresh
from payments import bulk as payments_bulk
from payments import services as payments
from payments.models import Account, JournalEntry

Purpose = Account.Purpose


@dataclass(frozen=True)
class Owed:
    """What one loan owes that may be collected now, by bucket, and at most how much to take."""

    loan_id: int
    wallet_id: int
    pool_id: int | None
    line_id: int | None
    product_id: int
    reference: str
    penalty: int
    fee: int
    interest: int
    principal: int
    wanted: int
    idempotency_key: str


def wallets_lock(wallet_ids) -> dict[int, int]:
    """Lock the wallets in id order; what each has available (balance less holds)."""
    return {
        pk: balance - held
        for pk, balance, held in Account.objects.select_for_update()
        .filter(pk__in=sorted(set(wallet_ids)))
        .order_by("pk")
        .values_list("pk", "balance_fen", "held_fen")
    }


def loans_collect(
    *, on: dt.date, owed: list[Owed], available: dict[int, int], kind: str, reference: str
) -> list[int]:
    """Take what each loan owes, as far as its wallet allows; returns the ids of loans that paid.
    Call inside a transaction, with the wallets locked by `wallets_lock`."""
    orders = dict(Product.objects.values_list("pk", "allocation_order"))
    interest_receivable = payments.platform_account(Purpose.INTEREST_RECEIVABLE).pk
    target = {
        "penalty": interest_receivable,
        "fee": interest_receivable,
        "interest": interest_receivable,
        "principal": payments.platform_account(Purpose.LOANS_RECEIVABLE).pk,
    }
    left = dict(available)
    collections, paid = [], []
    for row in sorted(owed, key=lambda r: r.loan_id):
        take = max(min(left.get(row.wallet_id, 0), row.wanted), 0)
        if take <= 0:
            continue
        left[row.wallet_id] -= take
        order = orders[row.product_id] or list(calc.DEFAULT_ALLOCATION_ORDER)
        owed_now = {
            "penalty": row.penalty,
            "fee": row.fee,
            "interest": row.interest,
            "principal": row.principal,
        }
        split = calc.allocate(take, owed_now, order).allocated
        collections.append(
            payments_bulk.BulkCollection(
                idempotency_key=row.idempotency_key,
                reference=f"{reference} {row.reference}",
                wallet_id=row.wallet_id,
                pool_id=row.pool_id,
                allocations=[(target[b], split[b]) for b in order if split.get(b)],
            )
        )
        paid.append((row, {b: split.get(b, 0) for b in target}))
    if not collections:
        return []
    payments_bulk.collections_post_bulk(collections=collections, business_on=on)
    entry_of = dict(
        JournalEntry.objects.filter(idempotency_key__in=[c.idempotency_key for c in collections]).values_list(
            "idempotency_key", "pk"
        )
    )
    _payments_apply(on, paid)
    loan_ids = [row.loan_id for row, _ in paid]
    installments_refresh(loan_ids=loan_ids, on=on)
    LoanEvent.objects.bulk_create(
        [
            LoanEvent(
                loan_id=row.loan_id,
                kind=kind,
                business_on=on,
                penalty_fen=split["penalty"],
                fee_fen=split["fee"],
                interest_fen=split["interest"],
                principal_fen=split["principal"],
                entry_id=entry_of[row.idempotency_key],
            )
            for row, split in paid
        ],
        batch_size=2000,
    )
    return loan_ids


def _payments_apply(on: dt.date, paid: list[tuple[Owed, dict[str, int]]]) -> None:
    """Write what each loan paid, in one statement per page of loans: balances fall; principal
    paid starts a new accrual span today (today's interest is accrued later in the close, on
    what is left); what is fully paid is no longer past due, and what is fully repaid is
    closed. The SET expressions all read the row as it was, so "after" values are spelled out."""
    day = date_literal(on)
    due_interest_after = (
        "(CASE WHEN due_interest_fen > v.interest THEN due_interest_fen - v.interest ELSE 0 END)"
    )
    # Principal paid beyond what is due comes off what is not due yet.
    due_principal_after = (
        "(CASE WHEN due_principal_fen - v.principal < 0 THEN 0 "
        "WHEN due_principal_fen - v.principal > principal_outstanding_fen - v.principal "
        "THEN principal_outstanding_fen - v.principal ELSE due_principal_fen - v.principal END)"
    )
    new_span = "(v.principal > 0 AND accrual_mode = 'daily')"
    cleared = (
        f"({due_principal_after} = 0 AND {due_interest_after} = 0 "
        "AND penalty_outstanding_fen - v.penalty = 0)"
    )
    repaid = (
        "(principal_outstanding_fen - v.principal = 0 AND interest_outstanding_fen - v.interest = 0 "
        "AND penalty_outstanding_fen - v.penalty = 0 AND fee_outstanding_fen - v.fee = 0)"
    )
    values_execute(
        f"""
        WITH v(id, penalty, fee, interest, principal) AS (VALUES %s)
        UPDATE lending_loan SET
            penalty_outstanding_fen = penalty_outstanding_fen - v.penalty,
            fee_outstanding_fen = fee_outstanding_fen - v.fee,
            interest_outstanding_fen = interest_outstanding_fen - v.interest,
            due_interest_fen = {due_interest_after},
            principal_outstanding_fen = principal_outstanding_fen - v.principal,
            due_principal_fen = {due_principal_after},
            paid_total_fen = paid_total_fen + v.penalty + v.fee + v.interest + v.principal,
            accrual_segment_posted_fen = CASE WHEN {new_span} THEN 0 ELSE accrual_segment_posted_fen END,
            accrual_segment_start_on = CASE WHEN {new_span} THEN {day} ELSE accrual_segment_start_on END,
            accrual_segment_base_fen = CASE WHEN {new_span} THEN principal_outstanding_fen - v.principal
                                            ELSE accrual_segment_base_fen END,
            oldest_unpaid_due_on = CASE WHEN {cleared} THEN NULL ELSE oldest_unpaid_due_on END,
            days_past_due = CASE WHEN {cleared} THEN 0 ELSE days_past_due END,
            status = CASE WHEN {repaid} THEN 'repaid' WHEN {cleared} THEN 'active' ELSE status END,
            closed_on = CASE WHEN {repaid} THEN {day} ELSE closed_on END,
            next_due_on = CASE WHEN {repaid} THEN NULL ELSE next_due_on END
        FROM v WHERE lending_loan.id = v.id
        """,  # noqa: S608 - fixed fragments and a date literal; the values are bound
        [
            (row.loan_id, split["penalty"], split["fee"], split["interest"], split["principal"])
            for row, split in paid
        ],
    )
    by_line: dict[int, int] = defaultdict(int)
    for row, split in paid:
        if row.line_id and split["principal"]:
            by_line[row.line_id] += split["principal"]
    values_execute(
        "WITH v(id, amount) AS (VALUES %s) UPDATE lending_creditline SET used_fen = used_fen - v.amount "
        "FROM v WHERE lending_creditline.id = v.id",
        sorted(by_line.items()),
    )
