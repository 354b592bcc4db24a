"""common.sql's fixed statements run on PostgreSQL as server-side prepared statements of the
connection: one statement each in Django's query log (with its text and values), the values
typed as the statement types them, a failed first run leaving nothing half-known, a migration
dropping them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from common.sql import fixed_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL's"),
]


def _prepared() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
            " WHERE name LIKE 'fixed%%'"
        )
        return cursor.fetchall()


VALUES = (
    "SELECT CAST(%s AS date), CAST(%s AS numeric(12, 2)), CAST(%s AS integer[]), CAST(%s AS jsonb),"
    " CAST(%s AS text), '100%%'"
)


def test_a_fixed_statement_is_prepared_once_and_logged_as_itself():
    json = connection.ops.adapt_json_value({"a": [1, "b"]}, None)
    params = [dt.date(2026, 3, 2), Decimal("12.30"), [3, 1], json, None]
    with CaptureQueriesContext(connection) as first:
        one = fixed_rows(VALUES, params, [None] * 6)
    with CaptureQueriesContext(connection) as second:
        two = fixed_rows(VALUES, params, [None] * 6)

    expected = [
        (dt.date(2026, 3, 2), Decimal("12.30"), [3, 1], '{"a": [1, "b"]}', None, "100%")
    ]  # jsonb: text, as Django reads it
    assert one == two == expected
    assert len(first) == len(second) == 1
    assert second[0]["sql"].startswith("SELECT CAST('2026-03-02'::date AS date), CAST(12.30 AS")
    [(_statement, runs)] = [found for found in _prepared() if "CAST($5 AS text), '100%'" in found[0]]
    assert runs == 2  # planned (or its generic plan used) once a run: the second an EXECUTE


def test_a_first_run_that_fails_leaves_the_statement_to_be_prepared_again():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE fixed_once (v integer PRIMARY KEY)")
        cursor.execute("INSERT INTO fixed_once VALUES (1)")
    insert = "INSERT INTO fixed_once (v) VALUES (%s) RETURNING v"
    with pytest.raises(DatabaseError), transaction.atomic():
        fixed_rows(insert, [1], [None])  # the PREPARE is kept by the server, the EXECUTE fails

    assert fixed_rows(insert, [2], [None]) == [(2,)]
    assert fixed_rows(insert, [3], [None]) == [(3,)]


def test_a_migration_drops_the_prepared_statements():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE fixed_typed (v integer)")
        cursor.execute("INSERT INTO fixed_typed VALUES (7)")
    read = "SELECT v FROM fixed_typed WHERE v = %s"
    assert fixed_rows(read, [7], [None]) == [(7,)]
    assert fixed_rows(read, [7], [None]) == [(7,)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE fixed_typed ALTER COLUMN v TYPE text")

    emit_post_migrate_signal(0, False, connection.alias)

    assert _prepared() == []
    assert fixed_rows(read, ["7"], [None]) == [("7",)]
