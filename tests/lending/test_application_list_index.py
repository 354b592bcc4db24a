"""The workbench's applications list reads its page of 100 newest applications from an index
instead of joining and sorting every application of the book (167 ms at a year's 11,669 on the
pages bench's world; the index makes it 0.5 ms, whatever the number)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import is_postgres


@pytest.mark.django_db
def test_the_applications_list_is_read_newest_first_from_an_index(client):
    if not is_postgres():
        pytest.skip("needs PostgreSQL (set DATABASE_URL): the plan asked of it is PostgreSQL's EXPLAIN")
    client.force_login(get_user_model().objects.create_superuser("auditor", password="x"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/lending/application/").status_code == 200
    listed = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "lending_application"."id"')
    ]
    assert listed and 'ORDER BY "lending_application"."submitted_at" DESC' in listed[-1]
    with connection.cursor() as cursor:
        # With sorting priced out, the planner sorts only where no index gives the order.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + listed[-1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "application_newest" in plan and "Sort" not in plan, plan
