"""common.sql.writes_may_wait: the last write made by `write_or_wait` may wait for the next
`execute_with_waiting` and go in its round trip (PostgreSQL), and nothing in the transaction sees
the difference: a statement in between sends it first, a rollback to a savepoint drops it as it
would have undone it, an exception out of the block drops it, leaving the block sends it. On
SQLite, or outside the block, a write goes at once. And the API's application: its
application.decided event goes with the kept Idempotency-Key reply, deliveries queued on commit."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from common.sql import execute_with_waiting, write_or_wait, writes_may_wait
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db

INSERT = "INSERT INTO waits (n) VALUES (%s) RETURNING n"


@pytest.fixture
def waits():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE waits (n integer NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE waits")


def _count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM waits")
        return cursor.fetchone()[0]


def _other() -> None:
    execute_with_waiting("UPDATE waits SET n = n WHERE n < %s", [0])


def test_outside_the_block_a_write_goes_at_once(waits):
    seen = []
    with transaction.atomic():
        write_or_wait(INSERT, [1], seen.append)
        assert seen == [[(1,)]]
    with transaction.atomic(), writes_may_wait():
        if connection.vendor != "postgresql":  # nothing waits on SQLite
            write_or_wait(INSERT, [2], seen.append)
            assert seen[-1] == [(2,)]


@requires_postgres
def test_the_waiting_write_goes_in_the_next_round_trip_with_its_rows(waits):
    seen = []
    with transaction.atomic(), writes_may_wait():
        with CaptureQueriesContext(connection) as made:
            write_or_wait(INSERT, [7], seen.append)
            assert seen == [] and len(made) == 0
            _other()
        assert len(made) == 1 and "UPDATE waits" in made[0]["sql"] and "INSERT INTO waits" in made[0]["sql"]
        assert seen == [[(7,)]]
        assert _count() == 1
    assert not connection.execute_wrappers


@requires_postgres
def test_a_statement_in_between_sends_the_waiting_write_first(waits):
    seen = []
    with transaction.atomic(), writes_may_wait():
        write_or_wait(INSERT, [1], seen.append)
        assert _count() == 1 and seen == [[(1,)]]
        write_or_wait(INSERT, [2], seen.append)
        write_or_wait(INSERT, [3], seen.append)  # a second sends the first
        assert seen == [[(1,)], [(2,)]]
        with transaction.atomic():  # the savepoint sends it
            assert seen[-1] == [(3,)]
        _other()
    assert _count() == 3 and len(seen) == 3


@requires_postgres
def test_a_rollback_to_a_savepoint_drops_what_it_would_have_undone(waits):
    seen = []
    with transaction.atomic(), writes_may_wait():
        write_or_wait(INSERT, [1], seen.append)
        try:
            with transaction.atomic():
                write_or_wait(INSERT, [2], seen.append)
                raise ValueError("undone")
        except ValueError:
            pass
        assert seen == [[(1,)]]
        _other()
    assert seen == [[(1,)]] and _count() == 1
    assert not connection.execute_wrappers


@requires_postgres
def test_an_exception_out_of_the_block_drops_it_and_leaving_the_block_sends_it(waits):
    seen = []
    with transaction.atomic():
        try:
            with transaction.atomic(), writes_may_wait():
                write_or_wait(INSERT, [1], seen.append)
                raise ValueError("rolled back")
        except ValueError:
            pass
        assert not connection.execute_wrappers and seen == []
        with writes_may_wait():
            write_or_wait(INSERT, [2], seen.append)
            assert seen == []
        assert seen == [[(2,)]] and _count() == 1
    assert not connection.execute_wrappers
