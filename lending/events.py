"""What close of business tells partners, in bulk: one SELECT of the chunk's loans and one INSERT
of events (and one of deliveries) per chunk, in the chunk's transaction, never a row at a time."""

import datetime as dt

from django.db import connection

from common.money import fen_to_yuan
from lending.models import Loan, LoanStatusChange
from merchants.webhooks.models import EventType
from merchants.webhooks.services import Event, events_emit, events_insert_select, sql_json_object, sql_yuan


def loans_overdue_emit(
    *, on: dt.date, lo: int, hi: int, cob_run_id: int | None, loans: tuple[int, int] | None = None
) -> int:
    """loan.overdue for each loan of the chunk that this run moved to overdue on `on`: loan ids
    lo to hi, or (`loans`, the run's first and last loan ids) the loans of wallets lo to hi."""
    if loans is None:
        chunk = {"loan_id__gte": lo, "loan_id__lte": hi}
    else:
        chunk = {
            "loan__wallet__gte": lo,
            "loan__wallet__lte": hi,
            "loan_id__gte": loans[0],
            "loan_id__lte": loans[1],
        }
    moved = LoanStatusChange.objects.filter(
        **chunk, kind="fell_overdue", business_on=on, cob_run_id=cob_run_id
    ).values("loan_id")
    rows = Loan.objects.filter(pk__in=moved).values_list(
        "reference",
        "merchant__partner_id",
        "merchant__external_id",
        "days_past_due",
        "oldest_unpaid_due_on",
        "due_principal_fen",
        "due_interest_fen",
        "penalty_outstanding_fen",
        "classification",
    )
    return events_emit(
        events=[
            Event(
                partner_id=partner_id,
                type=EventType.LOAN_OVERDUE,
                business_on=on,
                data={
                    "loan": reference,
                    "merchant": merchant,
                    "days_past_due": dpd,
                    "oldest_unpaid_due_on": oldest.isoformat() if oldest else None,
                    "past_due": str(fen_to_yuan(principal + interest + penalty)),
                    "classification": grade,
                },
            )
            for reference, partner_id, merchant, dpd, oldest, principal, interest, penalty, grade in rows
        ]
    )


def deductions_failed_emit(
    *,
    on: dt.date,
    lo: int,
    hi: int,
    owed_sql: str,
    still_owing_sql: str,
    chunk_sql: str = "l.id BETWEEN %(lo)s AND %(hi)s",
    params: dict | None = None,
) -> int:
    """repayment.failed for each loan of the chunk [lo, hi] whose automatic deduction today left
    something due unpaid (its wallet held too little): what is still due after the deduction.
    Only the deduction makes a loan owe less, so the loans still owing after it are those it could
    not pay in full. `owed_sql` and `still_owing_sql` are close of business's own fixed SQL over
    lending_loan's columns (`chunk_sql`, over `l` with `params`, chooses the chunk's loans when it
    is not the id range). One INSERT … SELECT, the events' JSON built in SQL, in loan id order."""
    # Each loan's shop looked up by id, not joined: joined, PostgreSQL hashes every shop for
    # each chunk, expecting a third of the chunk to owe, where a few thousand are needed. On
    # PostgreSQL one lookup per loan gives both columns (a LATERAL subquery that OFFSET 0 keeps
    # from being turned into a join); elsewhere a subquery per column.
    if connection.vendor == "postgresql":
        shop = "m.{column}"
        shops = (
            " CROSS JOIN LATERAL (SELECT m.partner_id, m.external_id FROM merchants_merchant m "
            "WHERE m.id = l.merchant_id OFFSET 0) AS m"
        )
    else:
        shop = "(SELECT m.{column} FROM merchants_merchant m WHERE m.id = l.merchant_id)"
        shops = ""
    data = sql_json_object(
        [
            ("loan", "l.reference"),
            ("merchant", shop.format(column="external_id")),
            ("kind", "'auto_deduction'"),
            ("unpaid", sql_yuan(owed_sql)),
            ("reason", "'insufficient_funds'"),
        ]
    )
    return events_insert_select(
        type=EventType.REPAYMENT_FAILED,
        select=(
            f"SELECT l.id AS seq, {shop.format(column='partner_id')} AS partner_id, {data} AS data "  # noqa: S608
            f"FROM lending_loan l{shops} WHERE {chunk_sql} AND {still_owing_sql}"
        ),
        params={"lo": lo, "hi": hi, **(params or {})},
        business_on=on,
    )
