"""A check only reads: `manage.py reconcile`, the nightly proof's checks, close of business's
check of the loans against the receivables and the trial-balance page, run on a fresh book (no
platform account opened yet), leave every table as they found it and send no writing statement.
On PostgreSQL they also run inside a READ ONLY transaction, where any write is an error, and the
server's own per-transaction counters show no row inserted, updated or deleted."""

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from common.business_date import business_date_today
from lending import cob
from lending.reconciliation import loan_book_differences
from payments.models import Account
from payments.reconciliation import reconcile, subledger_differences, trial_balance_checked
from tests.conftest import is_postgres

WRITES = ("insert", "update", "delete", "create", "alter", "drop", "truncate")


def table_rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - a table's own name
            counts[table] = cursor.fetchone()[0]
    return counts


def every_check(user) -> None:
    on = business_date_today()
    assert reconcile(on=on, subledgers=True).is_clean
    assert reconcile(on=on, entries_of=on).is_clean
    assert subledger_differences() == []
    assert loan_book_differences() == []
    assert cob.lending_reconcile() == []
    _rows, report = trial_balance_checked(on=on)
    assert report.is_clean
    out = StringIO()
    call_command("reconcile", "--trial-balance", stdout=out)
    assert "books balance: no differences" in out.getvalue()
    # The page's view itself, without the session middleware (which saves the session of
    # every request, a write of the sign-in, not of the check).
    request = RequestFactory().get("/admin/payments/account/trial-balance/")
    request.user = user
    page = admin.site._registry[Account].trial_balance_view(request).render()
    assert page.status_code == 200


def writing_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().lower().startswith(WRITES)]


@pytest.mark.django_db
def test_the_checks_on_a_fresh_book_write_nothing():
    user = get_user_model().objects.create_superuser("auditor", password="x")
    before = table_rows()
    with CaptureQueriesContext(connection) as queries:
        every_check(user)
    assert writing_statements(queries.captured_queries) == []
    assert table_rows() == before


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_checks_run_in_a_read_only_transaction():
    if not is_postgres():
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite has no read-only transaction")
    user = get_user_model().objects.create_superuser("auditor", password="x")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
        before = rows_written_in_this_transaction()
        every_check(user)
        assert rows_written_in_this_transaction() == before


def rows_written_in_this_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables"
        )
        return int(cursor.fetchone()[0])
