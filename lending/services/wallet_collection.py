"""Taking money owed from many wallets at once, for the work that runs by itself: the nightly
automatic deduction and repayment by pledged orders that settled. Set-based: one journal entry
per loan written by `payments.bulk`, and each loan's balances, span, status and credit line
written by a handful of multi-row statements, whatever the number of loans.

The caller locks the wallets (`wallets_lock`, id order like every money flow), then reads what
each loan owes, then calls `loans_collect`: each wallet's available money is shared out over its
merchant's loans in loan id order, each loan's take split in its product's allocation order.

`loan_payments_apply` is the one rule for what a payment does to a loan, whoever took the money:
`loans_collect` here and `loan_repay` (the portal and the partner API) both call it."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from common.money import fen_to_yuan
from common.sql import date_literal, values_execute
from lending import calculations as calc
from lending import lifecycle
from lending.models import Loan, LoanEvent, Product
from lending.services.installments import installments_refresh
from merchants.webhooks.models import EventType
from merchants.webhooks.services import Event, events_emit
from payments import bulk as payments_bulk
from payments import services as payments
from payments.models import Account, JournalEntry

Purpose = Account.Purpose
BUCKETS = ("penalty", "fee", "interest", "principal")


@dataclass(frozen=True)
class Payment:
    """Money taken for one loan, split over what it owed, with the journal entry that took it."""

    loan_id: int
    line_id: int | None
    split: dict[str, int]  # penalty, fee, interest, principal
    entry_id: int


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
    *,
    on: dt.date,
    owed: list[Owed],
    available: dict[int, int],
    kind: str,
    reference: str,
    actor: str = lifecycle.CLOSE_OF_BUSINESS,
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
        paid.append((row, split))
    if not collections:
        return []
    payments_bulk.collections_post_bulk(collections=collections, business_on=on)
    entry_of = dict(
        JournalEntry.objects.filter(idempotency_key__in=[c.idempotency_key for c in collections]).values_list(
            "idempotency_key", "pk"
        )
    )
    loan_payments_apply(
        on=on,
        payments=[
            Payment(
                loan_id=row.loan_id,
                line_id=row.line_id,
                split=split,
                entry_id=entry_of[row.idempotency_key],
            )
            for row, split in paid
        ],
        kind=kind,
        actor=actor,
        cob_run_id=lifecycle.cob_run_of(on),
    )
    return [row.loan_id for row, _ in paid]


def loan_payments_apply(
    *, on: dt.date, payments: list[Payment], kind: str, actor: str, cob_run_id: int | None = None
) -> list[LoanEvent]:
    """What money taken does to each loan, the same whoever took it: balances fall, principal
    paid ahead starts a new accrual span, what is fully paid is no longer past due (cured) and
    what is fully repaid is closed (repaid), the line is freed, the installments show what is
    paid, and each loan gets its event. Set-based: a few statements for any number of loans."""
    if not payments:
        return []
    payments = [
        Payment(p.loan_id, p.line_id, {b: p.split.get(b, 0) for b in BUCKETS}, p.entry_id) for p in payments
    ]
    _balances_update(on, payments)
    ids = ",".join(str(int(p.loan_id)) for p in sorted(payments, key=lambda p: p.loan_id))
    # Fully repaid first, so a loan that was overdue and is now repaid moves once.
    for event, condition, reason in (
        (
            "repaid",
            "principal_outstanding_fen = 0 AND interest_outstanding_fen = 0 "
            "AND penalty_outstanding_fen = 0 AND fee_outstanding_fen = 0",
            "everything owed is paid",
        ),
        (
            "cured",
            "due_principal_fen = 0 AND due_interest_fen = 0 AND penalty_outstanding_fen = 0",
            "everything due is paid",
        ),
    ):
        lifecycle.transition_many(
            lifecycle.LOAN,
            event=event,
            where=f"id IN ({ids}) AND {condition}",
            params={},
            business_on=on,
            actor=actor,
            reason=reason,
            cob_run_id=cob_run_id,
        )
    by_line: dict[int, int] = defaultdict(int)
    for p in payments:
        if p.line_id and p.split["principal"]:
            by_line[p.line_id] += p.split["principal"]
    # Principal repaid makes the line available again.
    values_execute(
        "WITH v(id, amount) AS (VALUES %s) UPDATE lending_creditline SET used_fen = used_fen - v.amount "
        "FROM v WHERE lending_creditline.id = v.id",
        sorted(by_line.items()),
    )
    installments_refresh(loan_ids=[p.loan_id for p in payments], on=on)
    events = LoanEvent.objects.bulk_create(
        [
            LoanEvent(
                loan_id=p.loan_id,
                kind=kind,
                business_on=on,
                penalty_fen=p.split["penalty"],
                fee_fen=p.split["fee"],
                interest_fen=p.split["interest"],
                principal_fen=p.split["principal"],
                entry_id=p.entry_id,
                actor=actor,
            )
            for p in payments
        ],
        batch_size=2000,
    )
    _repayments_emit(on=on, payments=payments, kind=kind)
    return events


def _repayments_emit(*, on: dt.date, payments: list[Payment], kind: str) -> None:
    """repayment.succeeded to each loan's partner, in bulk, in the payment's transaction."""
    loans = {
        row[0]: row[1:]
        for row in Loan.objects.filter(pk__in=[p.loan_id for p in payments]).values_list(
            "pk",
            "reference",
            "status",
            "merchant__partner_id",
            "merchant__external_id",
            "principal_outstanding_fen",
            "interest_outstanding_fen",
            "penalty_outstanding_fen",
            "fee_outstanding_fen",
        )
    }
    events = []
    for p in payments:
        reference, status, partner_id, merchant, *left = loans[p.loan_id]
        events.append(
            Event(
                partner_id=partner_id,
                type=EventType.REPAYMENT_SUCCEEDED,
                business_on=on,
                data={
                    "loan": reference,
                    "merchant": merchant,
                    "kind": kind,
                    "amount": str(fen_to_yuan(sum(p.split.values()))),
                    **{bucket: str(fen_to_yuan(p.split[bucket])) for bucket in BUCKETS},
                    "outstanding": str(fen_to_yuan(sum(left))),
                    "loan_status": status,
                },
            )
        )
    events_emit(events=events)


def _day_after(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} + 1)"
    return f"date({column}, '+1 day')"


def _balances_update(on: dt.date, payments: list[Payment]) -> None:
    """Write what each loan paid, in one statement per page of loans. The SET expressions all
    read the row as it was, so "after" values are spelled out."""
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
    # A new constant-principal span, accruing day by day on what is left, starts when the
    # principal that interest accrues on changes: any principal of a daily-mode loan; for an
    # amortising loan (spread mode: the period's planned interest on the principal not yet due,
    # overdue principal accruing apart) only principal paid ahead of what is due. Paying just
    # what is due leaves the period's plan, and so the schedule's interest, as it was.
    new_span = "(v.principal > 0 AND (accrual_mode = 'daily' OR v.principal > due_principal_fen))"
    # Today, or tomorrow if today's interest is already accrued (a repayment during the close).
    span_start = (
        f"(CASE WHEN accrued_through_on >= {day} THEN {_day_after('accrued_through_on')} ELSE {day} END)"
    )
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
            accrual_mode = CASE WHEN {new_span} THEN 'daily' ELSE accrual_mode END,
            accrual_segment_posted_fen = CASE WHEN {new_span} THEN 0 ELSE accrual_segment_posted_fen END,
            accrual_segment_start_on = CASE WHEN {new_span} THEN {span_start}
                                            ELSE accrual_segment_start_on END,
            accrual_segment_base_fen = CASE WHEN {new_span} THEN principal_outstanding_fen - v.principal
                                            ELSE accrual_segment_base_fen END,
            oldest_unpaid_due_on = CASE WHEN {cleared} THEN NULL ELSE oldest_unpaid_due_on END,
            days_past_due = CASE WHEN {cleared} THEN 0 ELSE days_past_due END,
            closed_on = CASE WHEN {repaid} THEN {day} ELSE closed_on END,
            next_due_on = CASE WHEN {repaid} THEN NULL ELSE next_due_on END
        FROM v WHERE lending_loan.id = v.id
        """,  # noqa: S608 - fixed fragments and a date literal; the values are bound
        [
            (p.loan_id, p.split["penalty"], p.split["fee"], p.split["interest"], p.split["principal"])
            for p in payments
        ],
    )
