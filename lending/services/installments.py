"""What has been paid against each planned installment, derived from the loan's totals: principal
repaid covers installments in order (paying ahead settles the next ones first), and so does
interest paid. One set-based statement for any number of loans."""

import datetime as dt

from django.db import connection


def installments_refresh(*, loan_ids: list[int], on: dt.date) -> None:
    if not loan_ids:
        return
    cum_principal_before = (
        "(SELECT COALESCE(SUM(j.principal_fen), 0) FROM lending_installment j "
        "WHERE j.loan_id = lending_installment.loan_id AND j.number < lending_installment.number)"
    )
    cum_interest_before = (
        "(SELECT COALESCE(SUM(j.interest_fen), 0) FROM lending_installment j "
        "WHERE j.loan_id = lending_installment.loan_id AND j.number < lending_installment.number)"
    )
    principal_paid = (
        "(SELECT l.principal_fen - l.principal_outstanding_fen FROM lending_loan l "
        "WHERE l.id = lending_installment.loan_id)"
    )
    interest_paid = (
        "(SELECT l.interest_accrued_total_fen - l.interest_outstanding_fen FROM lending_loan l "
        "WHERE l.id = lending_installment.loan_id)"
    )

    def covered(paid: str, before: str, planned: str) -> str:
        return (
            f"CASE WHEN {paid} - {before} >= {planned} THEN {planned} "
            f"WHEN {paid} - {before} > 0 THEN {paid} - {before} ELSE 0 END"
        )

    ids = ",".join(str(int(pk)) for pk in loan_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE lending_installment SET
                paid_principal_fen = {covered(principal_paid, cum_principal_before, "principal_fen")},
                paid_interest_fen = {covered(interest_paid, cum_interest_before, "interest_fen")}
            WHERE loan_id IN ({ids})
            """  # noqa: S608 - integers and fixed fragments
        )
        cursor.execute(
            f"UPDATE lending_installment SET paid_on = %s WHERE loan_id IN ({ids}) AND paid_on IS NULL "  # noqa: S608
            "AND paid_principal_fen = principal_fen AND paid_interest_fen = interest_fen",
            [on],
        )
