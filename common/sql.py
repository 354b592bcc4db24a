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


def _converters(fields: Sequence) -> list[tuple]:
    """(position, column, converters) of each field that has converters, as the ORM applies them."""
    converters = []
    for position, field in enumerate(fields):
        if field is None:
            continue
        column = field.get_col(field.model._meta.db_table)
        found = [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)]
        if found:
            converters.append((position, column, found))
    return converters


def _converted(rows, converters: list[tuple]) -> list[tuple]:
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


def fixed_rows(sql: str, params: Sequence, fields: Sequence) -> list[tuple]:
    """The rows of a statement written out in SQL, each value converted as the ORM converts its
    model field (`fields`, one per column; None leaves a column as the driver gives it): a date
    is a date and a decimal a Decimal of its field's places on SQLite as on PostgreSQL. For the
    hot path's small reads, where building the statement through the ORM cost more than the
    round trip."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _converted(rows, _converters(fields))


def columns_of(model, alias: str) -> str:
    """Every concrete column of `model`, qualified by `alias`, in the order `fixed_instances`
    reads them."""
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)


def fixed_instances(sql: str, params: Sequence, models: Sequence) -> list[tuple]:
    """The rows of a statement selecting every concrete column of each of `models` in turn
    (`columns_of`), then any further columns: per row, one instance of each model as the ORM
    builds it (`from_db`, every value converted as its field's), then the further columns as the
    driver gives them. What `select_related` reads, without building the statement each time;
    the caller links the instances."""
    fields = [field for model in models for field in model._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for values in _converted(rows, _converters(fields)):
        instances, at = [], 0
        for model in models:
            width = len(model._meta.concrete_fields)
            instances.append(model.from_db(connection.alias, None, values[at : at + width]))
            at += width
        found.append((*instances, *values[at:]))
    return found


def rows_insert(model, objs: Sequence) -> None:
    """`objs` (new instances of `model`, its primary key the database's) inserted in one
    statement as `bulk_create` inserts them: each field's `pre_save` (auto_now and the like) and
    database value, the primary keys set from RETURNING, the instances marked saved. Without the
    ORM's compiler, which costs more per row than the row's round trip; falls back to
    `bulk_create` where the database cannot return the rows' keys."""
    if not objs:
        return
    if not connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    quote = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"  # noqa: S608
        f" VALUES {', '.join([one] * len(objs))} RETURNING {quote(meta.pk.column)}"
    )
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objs for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        setattr(obj, meta.pk.attname, key)
        obj._state.adding, obj._state.db = False, connection.alias
