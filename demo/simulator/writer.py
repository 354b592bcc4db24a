"""Fast bulk writes for the simulator: plain INSERTs and UPDATEs through Django's connection,
many rows per statement, with values already in the database's text forms.

Instants are written as UTC "YYYY-MM-DD HH:MM:SS": what Django itself stores on SQLite, and
what PostgreSQL reads as UTC because Django sets every connection's time zone to UTC.
"""

import datetime as dt
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
from django.db import connection


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def instants_text(times: np.ndarray) -> list[str | None]:
    """Epoch seconds to UTC text; NONE (-1) becomes NULL."""
    if len(times) == 0:
        return []
    text = np.datetime_as_string(times.astype("datetime64[s]"), unit="s")
    text.view("<U1").reshape(len(text), -1)[:, 10] = " "
    values = text.astype(object)
    values[times < 0] = None
    return values.tolist()


def iso_utc(times: np.ndarray) -> list[str]:
    """Epoch seconds as `datetime.isoformat()` of the UTC instant ("2025-01-02T03:04:05+00:00"),
    the form order identity hashes are computed on."""
    text = np.datetime_as_string(times.astype("datetime64[s]"), unit="s")
    return [value + "+00:00" for value in text.tolist()]


def dates_text(ordinals: np.ndarray) -> list[str]:
    return [dt.date.fromordinal(int(value)).isoformat() for value in ordinals]


def insert_rows(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    names = ", ".join(quote(column) for column in columns)
    # Table and column names come from model metadata, never from input; values are bound.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.Database.__name__ == "psycopg2":
            from psycopg2.extras import execute_values

            execute_values(
                cursor.cursor,
                f"INSERT INTO {quote(table)} ({names}) VALUES %s",  # noqa: S608
                rows,
                page_size=5000,
            )
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, rows)


def execute_many(sql: str, rows: list[tuple]) -> int:
    """Run one statement for many parameter rows; the number of rows it changed."""
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
        return max(cursor.rowcount, 0)


class IdAllocator:
    """Primary keys handed out before rows are inserted, so that refunds, ratings and complaints
    can point at orders written in the same batch. On SQLite (one writer at a time, inside the
    write transaction) it counts on from the highest id; on PostgreSQL it draws from the table's
    own sequence so that concurrent inserts never collide."""

    def __init__(self, table: str):
        self.table = table
        self.next_id: int | None = None

    def take(self, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [self.table, count],
                )
                return np.sort(np.array([row[0] for row in cursor.fetchall()], dtype=np.int64))
            if self.next_id is None:
                cursor.execute(f"SELECT MAX(id) FROM {quote(self.table)}")  # noqa: S608
                self.next_id = (cursor.fetchone()[0] or 0) + 1
        ids = np.arange(self.next_id, self.next_id + count, dtype=np.int64)
        self.next_id += count
        return ids


@contextmanager
def sqlite_bulk_cache():
    """On SQLite, a page cache big enough (up to 1 GiB) to keep the order table's indexes in
    memory while millions of rows go in within one transaction; restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -1048576")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")
