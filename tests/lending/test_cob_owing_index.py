"""Close of business reads a chunk's owing and past-due loans, and its loans falling due, by partial
indexes of lending_loan (`loan_open_owing`, `loan_open_next_due`) rather than by every loan of the
chunk. The close's queries state the owing index's condition (cob.LOAN_OWING_SQL) beside their own:
if the two ever differ, PostgreSQL silently stops using the index, and these tests say so."""

import datetime as dt

import pytest
from django.db import connection, transaction

from lending import cob
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db


def _plan(sql: str, params: dict | None = None) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        # An empty table is cheapest to scan whole: the planner is asked which index it may use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params or {})
        return "\n".join(row[0] for row in cursor.fetchall())


@requires_postgres
def test_the_closes_owing_condition_lets_postgresql_use_the_owing_index():
    plan = _plan(
        f"SELECT id FROM lending_loan WHERE id BETWEEN %(lo)s AND %(hi)s AND status IN {cob._open_sql()} "  # noqa: S608
        f"AND {cob.LOAN_OWING_SQL} AND penalty_outstanding_fen + due_principal_fen > 0",
        {"lo": 1, "hi": 50_000},
    )
    assert "loan_open_owing" in plan, plan


@requires_postgres
def test_the_due_step_finds_a_chunks_falling_due_loans_by_date_and_id():
    plan = _plan(
        "SELECT id FROM lending_loan l WHERE l.id BETWEEN %(lo)s AND %(hi)s "  # noqa: S608
        f"AND l.status IN {cob._open_sql()} AND l.next_due_on = %(on)s",
        {"lo": 1, "hi": 50_000, "on": dt.date(2026, 6, 15)},
    )
    assert "loan_open_next_due" in plan and "Index Cond: ((next_due_on" in plan and "id >=" in plan, plan
