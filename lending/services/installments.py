"""What has been paid against each planned installment, derived from the loan's totals: principal
repaid covers installments in order (paying ahead settles the next ones first), and so does
interest paid. One set-based statement for any number of loans."""

import datetime as dt

from django.db import connection

from common.sql import date_literal


def installments_refresh(*, loan_ids: list[int], on: dt.date) -> None:
    if not loan_ids:
        return
    # Scalar two-argument LEAST/GREATEST are MIN/MAX on SQLite.
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")

    def covered(paid: str, before: str, planned: str) -> str:
        """What of this installment is covered: paid so far beyond the earlier installments."""
        return f"{least}({greatest}(l.{paid} - w.{before}, 0), w.{planned})"

    principal = covered("paid_principal", "principal_before", "principal_fen")
    interest = covered("paid_interest", "interest_before", "interest_fen")
    ids = ",".join(str(int(pk)) for pk in sorted(set(loan_ids)))
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    # Each loan's figures are read once (`l`), not once per installment; only the installments
    # whose figures change (or that become paid) are joined back to the table to be written.
    # The UPDATE's own WHERE repeats the test on the row as it is when written.
    changes = (
        "(paid_principal_fen {distinct} n.paid_principal OR paid_interest_fen {distinct} n.paid_interest "
        "OR (paid_on IS NULL AND n.paid_principal = n.principal_fen AND n.paid_interest = n.interest_fen))"
    )
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH l AS {materialized} (
                SELECT id, principal_fen - principal_outstanding_fen AS paid_principal,
                       interest_accrued_total_fen - interest_outstanding_fen AS paid_interest
                FROM lending_loan WHERE id IN ({ids})
            ), w AS (
                SELECT j.id, j.loan_id, j.principal_fen, j.interest_fen, j.paid_principal_fen,
                       j.paid_interest_fen, j.paid_on,
                       SUM(j.principal_fen) OVER run - j.principal_fen AS principal_before,
                       SUM(j.interest_fen) OVER run - j.interest_fen AS interest_before
                FROM lending_installment j WHERE j.loan_id IN ({ids})
                WINDOW run AS (PARTITION BY j.loan_id ORDER BY j.number ROWS UNBOUNDED PRECEDING)
            ), n AS {materialized} (
                SELECT * FROM (
                    SELECT w.id, {principal} AS paid_principal, {interest} AS paid_interest,
                           w.principal_fen, w.interest_fen, w.paid_principal_fen, w.paid_interest_fen,
                           w.paid_on
                    FROM w JOIN l ON l.id = w.loan_id
                ) AS n
                WHERE {changes.format(distinct=distinct)}
            )
            UPDATE lending_installment SET
                paid_principal_fen = n.paid_principal,
                paid_interest_fen = n.paid_interest,
                paid_on = CASE WHEN lending_installment.paid_on IS NULL
                                    AND n.paid_principal = n.principal_fen
                                    AND n.paid_interest = n.interest_fen
                               THEN {date_literal(on)} ELSE lending_installment.paid_on END
            FROM n
            WHERE lending_installment.id = n.id AND lending_installment.loan_id IN ({ids})
              AND (lending_installment.paid_principal_fen {distinct} n.paid_principal
                   OR lending_installment.paid_interest_fen {distinct} n.paid_interest
                   OR (lending_installment.paid_on IS NULL AND n.paid_principal = n.principal_fen
                       AND n.paid_interest = n.interest_fen))
            """  # noqa: S608 - integers and fixed fragments
        )
