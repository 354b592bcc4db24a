"""Set-based statements over many rows of values, the same way on PostgreSQL and SQLite.

`values_execute("WITH v(id, amount) AS (VALUES %s) UPDATE t SET x = x - v.amount FROM v
WHERE t.id = v.id", rows)` sends the rows as multi-row VALUES lists: on PostgreSQL through
psycopg2's `execute_values` (pages of `page_size` rows, one round trip each), on SQLite in
slices that stay under its limit on bound parameters. The statement holds exactly one `%s`, the
VALUES list; every value goes in as a bound parameter. A statement ending in RETURNING gives back
the returned rows, in the order of the input rows.
"""

from collections.abc import Sequence

from django.db import connection

# SQLite allows 32,766 bound parameters per statement (since 3.32).
_SQLITE_MAX_PARAMS = 32_000


def values_execute(
    sql: str, rows: Sequence[Sequence], *, page_size: int = 5000, fetch: bool = False
) -> list[tuple]:
    """Run `sql` with its `%s` replaced by VALUES lists of `rows`; returns RETURNING rows."""
    if not rows:
        return []
    width = len(rows[0])
    returned: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            result = execute_values(cursor.cursor, sql, rows, page_size=page_size, fetch=fetch)
            return [tuple(r) for r in result] if fetch else []
        step = max(1, min(page_size, _SQLITE_MAX_PARAMS // width))
        one = "(" + ",".join(["%s"] * width) + ")"
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            cursor.execute(sql.replace("%s", ",".join([one] * len(part)), 1), [v for r in part for v in r])
            if fetch:
                returned.extend(tuple(r) for r in cursor.fetchall())
    return returned


def date_literal(value) -> str:
    """A date as an SQL literal (for statements whose only parameter is a VALUES list)."""
    iso = value.isoformat()  # a date object: digits and dashes only
    return f"DATE '{iso}'" if connection.vendor == "postgresql" else f"'{iso}'"


def fixed_rows(sql: str, params: Sequence, fields: Sequence) -> list[tuple]:
    """The rows of a statement written out in SQL, each value converted as the ORM converts its
    model field (`fields`, one per column; None leaves a column as the driver gives it): a date
    is a date and a decimal a Decimal of its field's places on SQLite as on PostgreSQL. For the
    hot path's small reads, where building the statement through the ORM cost more than the
    round trip."""
    converters = []
    for position, field in enumerate(fields):
        if field is None:
            continue
        column = field.get_col(field.model._meta.db_table)
        found = [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]
        if found:
            converters.append((position, column, found))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not converters:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        values = list(row)
        for position, column, found in converters:
            for convert in found:
                values[position] = convert(values[position], column, connection)
        converted.append(tuple(values))
    return converted
