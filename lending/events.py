"""What close of business tells partners, in bulk: one SELECT of the chunk's loans and one INSERT
of events (and one of deliveries) per chunk, in the chunk's transaction, never a row at a time."""

import datetime as dt

from django.db import connection

from common.money import fen_to_yuan
from lending.models import Loan, LoanStatusChange
from merchants.webhooks.models import EventType
from merchants.webhooks.services import Event, events_emit


def loans_overdue_emit(*, on: dt.date, lo: int, hi: int, cob_run_id: int | None) -> int:
    """loan.overdue for each loan of the chunk that this run moved to overdue on `on`."""
    moved = LoanStatusChange.objects.filter(
        loan_id__gte=lo, loan_id__lte=hi, kind="fell_overdue", business_on=on, cob_run_id=cob_run_id
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


def deductions_failed_emit(*, on: dt.date, lo: int, hi: int, owed_sql: str, still_owing_sql: str) -> int:
    """repayment.failed for each loan of the chunk [lo, hi] whose automatic deduction today left
    something due unpaid (its wallet held too little): what is still due after the deduction.
    Only the deduction makes a loan owe less, so the loans still owing after it are those it could
    not pay in full. `owed_sql` and `still_owing_sql` are close of business's own fixed SQL over
    lending_loan's columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reference, merchant_id, {owed_sql} FROM lending_loan "  # noqa: S608 - fixed SQL
            f"WHERE id BETWEEN %s AND %s AND {still_owing_sql} ORDER BY id",
            [lo, hi],
        )
        loans = cursor.fetchall()
    # The shops by id, in a second statement: joined in the first, PostgreSQL hashes every shop
    # for each chunk (it expects a third of the chunk to owe), where a few thousand are needed.
    shops = {}
    if loans:
        named = ",".join(str(int(pk)) for pk in sorted({merchant_id for _, merchant_id, _ in loans}))
        with connection.cursor() as cursor:
            shop_sql = f"SELECT id, partner_id, external_id FROM merchants_merchant WHERE id IN ({named})"  # noqa: S608 - integers
            cursor.execute(shop_sql)
            shops = {pk: (partner_id, external_id) for pk, partner_id, external_id in cursor.fetchall()}
    rows = [(reference, *shops[merchant_id], unpaid) for reference, merchant_id, unpaid in loans]
    return events_emit(
        events=[
            Event(
                partner_id=partner_id,
                type=EventType.REPAYMENT_FAILED,
                business_on=on,
                data={
                    "loan": reference,
                    "merchant": merchant,
                    "kind": "auto_deduction",
                    "unpaid": str(fen_to_yuan(int(unpaid))),
                    "reason": "insufficient_funds",
                },
            )
            for reference, partner_id, merchant, unpaid in rows
        ]
    )
