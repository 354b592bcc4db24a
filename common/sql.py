"""Set-based statements over many rows of values, the same way on PostgreSQL and SQLite.

`values_execute("WITH v(id, amount) AS (VALUES %s) UPDATE t SET x = x - v.amount FROM v
WHERE t.id = v.id", rows)` sends the rows as multi-row VALUES lists: on PostgreSQL through
psycopg2's `execute_values` (pages of `page_size` rows, one round trip each), on SQLite in
slices that stay under its limit on bound parameters. The statement holds exactly one `%s`, the
VALUES list; every value goes in as a bound parameter. A statement ending in RETURNING gives back
the returned rows, in the order of the input rows.
"""

import datetime as dt
import re
from collections.abc import Callable, Sequence
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.fields import Field

# SQLite allows 32,766 bound parameters per statement (since 3.32).
_SQLITE_MAX_PARAMS = 32_000


# Server-side prepared statements of the fixed SQL, per connection: at most this many (a
# statement whose text varies with its input, a VALUES list of n rows, is one per n).
_PREPARED_MAX = 100
_PLACEHOLDER = re.compile(r"%%|%s")


def _numbered(sql: str) -> str:
    """`sql` with its `%s` numbered `$1`, `$2`, … (`%%` kept for the driver's formatting)."""
    count = 0

    def number(match) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _execute(cursor, connection, sql: str, params: Sequence) -> None:
    """`cursor.execute(sql, params)`; on PostgreSQL as a server-side prepared statement of the
    connection (PREPARE on its first use there, in the same round trip as its EXECUTE; then
    EXECUTE alone), which the server parses once and, once it finds a generic plan as cheap as
    the custom ones, plans once: the hot path's reads plan in more time than they run. Still one
    statement through Django's cursor (its wrappers, errors, transaction state); the query log
    holds the statement itself with its values, not the EXECUTE. The parameters are the
    driver's literals, typed by the statement as the server types them."""
    if connection.vendor != "postgresql":
        cursor.execute(sql, params)
        return
    raw = connection.connection
    state = getattr(connection, "_fixed_prepared", None)
    if state is None or state[0] is not raw:  # a new connection has none
        state = connection._fixed_prepared = [raw, {}, 0]
    names = state[1]
    name = names.get(sql)
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    if name is not None:
        cursor.execute(f"EXECUTE {name}{arguments}", params)
    elif len(names) >= _PREPARED_MAX:
        cursor.execute(sql, params)
        return
    else:
        state[2] += 1  # never reused: a PREPARE whose EXECUTE failed may exist unrecorded
        name = f"fixed_{state[2]}"
        cursor.execute(f"PREPARE {name} AS {_numbered(sql)}; EXECUTE {name}{arguments}", params)
        names[sql] = name
    if connection.queries_logged:
        connection.queries_log[-1]["sql"] = cursor.cursor.mogrify(sql, params).decode()


def prepared_forget(**kwargs) -> None:
    """The default connection's prepared statements dropped (a migration changes the tables
    they read; a statement whose columns change type would fail)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if getattr(connection, "_fixed_prepared", None) is None:
        return
    if connection.connection is connection._fixed_prepared[0]:
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
    connection._fixed_prepared = None


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
    """(position, column, converters) of each field that has converters, as the ORM applies them;
    worked out once per connection and list of fields (the hot path's statements read the same
    columns each time)."""
    fields = tuple(fields)
    # Keyed by the fields' identities (a field's own hash is Python code, run per field per
    # read); the entry holds the fields themselves, so no id is reused while it is kept.
    key = tuple(map(id, fields))
    try:
        known = connection._fixed_converters
    except AttributeError:
        known = connection._fixed_converters = {}
    hit = known.get(key)
    if hit is not None and hit[0] == fields:  # a tuple compares identical items without __eq__
        return hit[1]
    converters = _converters_of(fields)
    known[key] = (fields, converters)
    return converters


def _converters_of(fields: Sequence) -> list[tuple]:
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
    connection = connections[DEFAULT_DB_ALIAS]  # itself: the proxy looks it up on every use
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
    connection = connections[DEFAULT_DB_ALIAS]  # itself: the proxy looks it up on every use
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, params)
        rows = cursor.fetchall()
    return _converted(rows, _converters(fields))


def _read_fields(model, deferred: Sequence[str] = ()) -> list:
    return [field for field in model._meta.concrete_fields if field.name not in deferred]


def columns_of(model, alias: str, deferred: Sequence[str] = ()) -> str:
    """Every concrete column of `model` but those of the fields named in `deferred`, qualified by
    `alias`, in the order `fixed_instances` reads them."""
    return ", ".join(f"{alias}.{field.column}" for field in _read_fields(model, deferred))


def fixed_instances(sql: str, params: Sequence, models: Sequence) -> list[tuple]:
    """The rows of a statement selecting every concrete column of each of `models` in turn
    (`columns_of`), then any further columns: per row, one instance of each model as the ORM
    builds it (`from_db`, every value converted as its field's), then the further columns as the
    driver gives them. What `select_related` reads, without building the statement each time;
    the caller links the instances. A model whose primary key is NULL in a row (a LEFT JOIN that
    found nothing) is None there. An entry of `models` may be `(model, deferred)`: the statement
    selects its columns but those of the fields named in `deferred` (`columns_of(model, alias,
    deferred)`), which stay deferred as `.defer()` leaves them (read when first used), so an
    encrypted field nobody needs is not decrypted."""
    connection = connections[DEFAULT_DB_ALIAS]  # itself: the proxy looks it up on every use
    parts = [(m, ()) if isinstance(m, type) else (m[0], tuple(m[1])) for m in models]
    read = [(model, _read_fields(model, deferred), deferred) for model, deferred in parts]
    fields = [field for _, own_fields, _ in read for field in own_fields]
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, params)
        rows = cursor.fetchall()
    found = []
    for values in _converted(rows, _converters(fields)):
        instances, at = [], 0
        for model, own_fields, deferred in read:
            width = len(own_fields)
            own = values[at : at + width]
            names = [field.attname for field in own_fields] if deferred else None
            found_row = own[own_fields.index(model._meta.pk)] is not None
            instances.append(model.from_db(connection.alias, names, own) if found_row else None)
            at += width
        found.append((*instances, *values[at:]))
    return found


def instance_of(model, values: Sequence):
    """One instance of `model` from its concrete columns' values as the driver gave them (in
    `columns_of`'s order), as `fixed_instances` builds it; None when its primary key is NULL."""
    db = connections[DEFAULT_DB_ALIAS]
    fields = _read_fields(model)
    (converted,) = _converted([values], _converters(fields))
    if converted[fields.index(model._meta.pk)] is None:
        return None
    return model.from_db(db.alias, None, converted)


def rows_insert(model, objs: Sequence) -> None:
    """`objs` (new instances of `model`, its primary key the database's) inserted in one
    statement as `bulk_create` inserts them: each field's `pre_save` (auto_now and the like) and
    database value, the primary keys set from RETURNING, the instances marked saved. Without the
    ORM's compiler, which costs more per row than the row's round trip; falls back to
    `bulk_create` where the database cannot return the rows' keys."""
    connection = connections[DEFAULT_DB_ALIAS]  # itself: the proxy looks it up on every use
    if not objs:
        return
    if not connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    plan = _insert_plan(model)
    sql = (
        f"INSERT INTO {plan.table} ({plan.columns})"  # noqa: S608 - names from the model
        f" VALUES {', '.join([plan.one] * len(objs))} RETURNING {plan.pk_column}"
    )
    params = _insert_values(plan, objs, connection)
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, params)
        keys = cursor.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        setattr(obj, meta.pk.attname, key)
        obj._state.adding, obj._state.db = False, connection.alias


def _insert_parts(model, obj) -> tuple[list, list]:
    """The fields of a new row of `model` (its primary key the database's) and their database
    values, as `bulk_create` prepares them (each field's `pre_save` and database value)."""
    connection = connections[DEFAULT_DB_ALIAS]  # itself: the proxy looks it up on every use
    plan = _insert_plan(model)
    return list(plan.fields), _insert_values(plan, (obj,), connection)


class _InsertPlan:
    """What inserting a row of a model needs that does not change from one row to the next:
    its fields but the primary key, the quoted table and columns, and per field how its value
    is taken (`pre_save`) and prepared for the database (`get_db_prep_save`)."""

    __slots__ = ("columns", "fields", "one", "pk_column", "steps", "table")


# Fields whose `get_db_prep_save` gives back a str (or None) unchanged, on every backend:
# CharField and TextField themselves (Field.get_prep_value, then to_python, which returns a str
# or None as it is). A subclass may prepare its values otherwise (an encrypted field): not these.
_TEXT_AS_IS = (models.CharField, models.TextField)
# Integer fields themselves: `get_db_prep_save` of an int (or None) is `int(value)` then the
# backend's `adapt_integerfield_value`, which gives it back as it is unless the backend has its own.
_INT_AS_IS = (
    models.IntegerField,
    models.SmallIntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
)
TEXT, INT, DATETIME, FIELD = "text", "int", "datetime", "field"


def _value_kind(field, connection) -> str:
    """How `_insert_values` prepares `field`'s value: TEXT (a str or None as it is), INT (an int
    or None as it is), DATETIME (a datetime with its time zone, or None: the backend's
    `adapt_datetimefield_value`, what DateTimeField's own preparing comes to for it), or FIELD
    (its `get_db_prep_save`)."""
    kind = type(field)
    if kind in _TEXT_AS_IS:
        return TEXT
    ops = type(connection.ops)
    plain_ints = ops.adapt_integerfield_value is BaseDatabaseOperations.adapt_integerfield_value
    if kind in _INT_AS_IS and plain_ints:
        return INT
    if (
        kind is models.ForeignKey
        and type(field.target_field) in (models.AutoField, models.BigAutoField)
        and plain_ints
        and ops.validate_autopk_value is BaseDatabaseOperations.validate_autopk_value
    ):
        return INT
    if kind is models.DateTimeField:
        return DATETIME
    return FIELD


def _insert_plan(model) -> _InsertPlan:
    try:
        return _insert_plans[model]
    except KeyError:
        pass
    meta = model._meta
    quote = connection.ops.quote_name
    plan = _InsertPlan()
    plan.fields = tuple(field for field in meta.concrete_fields if field is not meta.pk)
    plan.table = quote(meta.db_table)
    plan.columns = ", ".join(quote(field.column) for field in plan.fields)
    plan.one = "(" + ", ".join(["%s"] * len(plan.fields)) + ")"
    plan.pk_column = quote(meta.pk.column)
    # (field, attname or None when its own pre_save must run, whether a str goes in as it is)
    plan.steps = tuple(
        (
            field,
            field.attname if type(field).pre_save is Field.pre_save else None,
            _value_kind(field, connection),
        )
        for field in plan.fields
    )
    _insert_plans[model] = plan
    return plan


# Per model; the quoting is the backend's, and one process talks to one backend.
_insert_plans: dict = {}


def _insert_values(plan: _InsertPlan, objs, connection) -> list:
    """The rows' values as `bulk_create` prepares them: `field.get_db_prep_save(field.pre_save(
    obj, True), connection)` for each field of each row, but for a field whose `pre_save` is
    Field's (the attribute as it is) the attribute read directly, and (`_value_kind`) for a plain
    CharField or TextField holding a str or None, or an integer field (a foreign key to an
    automatic key among them) holding an int or None, the value as it is, and for a plain
    DateTimeField holding an aware datetime or None the backend's adaptation of it (what that
    call gives back in each case)."""
    values = []
    append = values.append
    adapt_datetime = connection.ops.adapt_datetimefield_value
    for obj in objs:
        for field, attname, kind in plan.steps:
            value = getattr(obj, attname) if attname is not None else field.pre_save(obj, True)
            if value is None and kind is not FIELD:
                append(None)
            elif (kind is TEXT and type(value) is str) or (kind is INT and type(value) is int):
                append(value)
            elif kind is DATETIME and type(value) is dt.datetime and value.tzinfo is not None:
                append(adapt_datetime(value))
            else:
                append(field.get_db_prep_save(value, connection))
    return values


def _saved(obj, key) -> None:
    setattr(obj, obj._meta.pk.attname, key)
    obj._state.adding, obj._state.db = False, connection.alias


def row_insert_with(parent, child, link: str) -> None:
    """A new row and a new row that refers to it (`link`, the child's foreign key to the
    parent), inserted as `rows_insert` would insert each, both primary keys set: on PostgreSQL
    in one statement (the child's insert reads the parent's key from the parent's), elsewhere in
    two. For a row and the history row that records it."""
    if connection.vendor != "postgresql":
        rows_insert(type(parent), [parent])
        setattr(child, child._meta.get_field(link).attname, parent.pk)
        rows_insert(type(child), [child])
        return
    quote = connection.ops.quote_name
    _, parent_values = _insert_parts(type(parent), parent)
    link_field = child._meta.get_field(link)
    child_fields, child_values = _insert_parts(type(child), child)
    at = child_fields.index(link_field)
    child_sql = ["%s"] * len(child_fields)
    child_sql[at] = "(SELECT id FROM parent)"
    del child_values[at]
    parent_plan, child_plan = _insert_plan(type(parent)), _insert_plan(type(child))
    sql = (
        f"WITH parent AS (INSERT INTO {parent_plan.table} ({parent_plan.columns})"  # noqa: S608 - fixed SQL
        f" VALUES {parent_plan.one} RETURNING {parent_plan.pk_column} AS id)"
        f" INSERT INTO {child_plan.table} ({child_plan.columns})"
        f" VALUES ({', '.join(child_sql)})"
        f" RETURNING {quote(link_field.column)}, {child_plan.pk_column}"
    )
    with connection.cursor() as cursor:
        _execute(cursor, connections[DEFAULT_DB_ALIAS], sql, [*parent_values, *child_values])
        parent_key, child_key = cursor.fetchone()
    _saved(parent, parent_key)
    setattr(child, link_field.attname, parent_key)
    _saved(child, child_key)


def _select_type(field) -> str:
    db_type = field.db_type(connection)
    return "text" if db_type.startswith("varchar") else db_type


# The child's values as `update_with_insert` selects them, by its link field (one per model).
_child_casts: dict = {}


def update_with_insert(model, pk, expected: dict, changes: dict, child, link: str, rows=None) -> bool:
    """Compare-and-set: the row of `model` with primary key `pk` (where its columns still hold
    `expected`) given `changes`, and `child` (a new row, `link` its foreign key to this one)
    inserted only if the row was changed; on PostgreSQL one statement. True when it was
    changed (`child` then saved, its key set). `rows`: `(a model, its new instances)` inserted
    first, whether or not the row is changed, as `rows_insert` inserts them (in the same
    statement on PostgreSQL; their keys set when the row was changed)."""
    connection = connections[DEFAULT_DB_ALIAS]  # itself: the proxy looks it up on every use
    meta = model._meta
    quote = connection.ops.quote_name
    sets = [(meta.get_field(name), value) for name, value in changes.items()]
    wheres = [(meta.get_field(name), value) for name, value in expected.items()]
    set_sql = ", ".join(f"{quote(field.column)} = %s" for field, _ in sets)
    where_sql = " AND ".join(
        [f"{quote(meta.pk.column)} = %s", *(f"{quote(field.column)} = %s" for field, _ in wheres)]
    )
    params = [
        *(field.get_db_prep_save(value, connection) for field, value in sets),
        meta.pk.get_db_prep_value(pk, connection),
        *(field.get_db_prep_value(value, connection) for field, value in wheres),
    ]
    update = f"UPDATE {quote(meta.db_table)} SET {set_sql} WHERE {where_sql}"  # noqa: S608
    link_field = child._meta.get_field(link)
    setattr(child, link_field.attname, pk)
    rows_model, objs = rows if rows and rows[1] else (None, ())
    if connection.vendor != "postgresql":
        if objs:
            rows_insert(rows_model, objs)
        with connection.cursor() as cursor:
            cursor.execute(update, params)
            moved = cursor.rowcount == 1
        if moved:
            rows_insert(type(child), [child])
        return moved
    child_fields, child_values = _insert_parts(type(child), child)
    child_plan = _insert_plan(type(child))
    # In a SELECT the values are typed by their columns (a bare literal there would be text; a
    # text one is cast to its column on insert, checking its length as an insert does).
    try:
        casts = _child_casts[link_field]
    except KeyError:
        casts = _child_casts[link_field] = ", ".join(
            "moved.id" if field is link_field else f"CAST(%s AS {_select_type(field)})"
            for field in child_fields
        )
    del child_values[child_fields.index(link_field)]
    inserted, inserted_values, inserted_keys = "", [], ""
    if objs:
        plan = _insert_plan(rows_model)
        inserted = (
            f"inserted AS (INSERT INTO {plan.table} ({plan.columns})"  # noqa: S608 - fixed SQL
            f" VALUES {', '.join([plan.one] * len(objs))} RETURNING {plan.pk_column} AS id), "
        )
        inserted_values = _insert_values(plan, objs, connection)
        inserted_keys = ", (SELECT array_agg(id) FROM inserted)"
    sql = (
        f"WITH {inserted}moved AS ({update} RETURNING {quote(meta.pk.column)} AS id)"  # noqa: S608 - fixed SQL
        f" INSERT INTO {child_plan.table} ({child_plan.columns})"
        f" SELECT {casts} FROM moved RETURNING {child_plan.pk_column}{inserted_keys}"
    )
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, [*inserted_values, *params, *child_values])
        found = cursor.fetchone()
    if found is None:
        return False
    _saved(child, found[0])
    if objs:
        for obj, key in zip(objs, found[1], strict=True):
            _saved(obj, key)
    return True


# A write that waits for the next one (PostgreSQL): see `writes_may_wait`.
class _Waiting:
    __slots__ = ("after", "params", "sql")

    def __init__(self, sql: str, params, after: Callable[[list[tuple]], None]):
        self.sql, self.params, self.after = sql, params, after


@contextmanager
def writes_may_wait():
    """Inside (PostgreSQL, in a transaction): the last write made by `write_or_wait` may wait
    and go in the same round trip as the next `execute_with_waiting` (a keyed request's kept
    reply). Nothing sees the difference: any other statement through the connection (a read, a
    savepoint, its release or rollback) sends the waiting write first, as it would have been
    sent; leaving the block by an exception drops it (the caller's transaction is rolled back
    whole); leaving it normally sends it if it still waits. Elsewhere (SQLite, outside a
    transaction) every write goes at once."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        yield
        return
    before = getattr(db, "_writes_may_wait", False)
    db._writes_may_wait = True
    try:
        yield
    except BaseException:
        _waiting_drop(db)
        raise
    else:
        _waiting_send(db)
    finally:
        db._writes_may_wait = before


def _waiting_drop(db) -> None:
    if getattr(db, "_write_waiting", None) is not None:
        db._write_waiting = None
        db.execute_wrappers.remove(_send_waiting_first)


def _send_waiting_first(execute, sql, params, many, context):
    """The connection's execute wrapper while a write waits: the write goes first, but for a
    rollback to a savepoint, which would undo it (it was made after the last savepoint
    statement, each of which sent it): it is dropped, with what it would have done after."""
    if sql.startswith("ROLLBACK TO SAVEPOINT"):
        _waiting_drop(context["connection"])
    else:
        _waiting_send(context["connection"])
    return execute(sql, params, many, context)


def _waiting_send(db) -> None:
    waiting = getattr(db, "_write_waiting", None)
    if waiting is None:
        return
    _waiting_drop(db)
    with db.cursor() as cursor:
        cursor.execute(waiting.sql, waiting.params)
        rows = cursor.fetchall() if cursor.description else []
    waiting.after(rows)


def write_or_wait(sql: str, params, after: Callable[[list[tuple]], None]) -> None:
    """Run the write `sql`, then `after(its rows)`; inside `writes_may_wait` it may wait for the
    next `execute_with_waiting` (one waits at a time: a second sends the first)."""
    db = connections[DEFAULT_DB_ALIAS]
    if not getattr(db, "_writes_may_wait", False) or not db.in_atomic_block:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
        after(rows)
        return
    _waiting_send(db)
    db._write_waiting = _Waiting(sql, params, after)
    db.execute_wrappers.append(_send_waiting_first)


def execute_with_waiting(sql: str, params: Sequence) -> None:
    """Run `sql` (a statement without a result the caller needs) and the write waiting, if
    any, after it in the same round trip (two statements in one execute; the driver keeps the
    last one's rows, which go to the waiting write's `after`)."""
    db = connections[DEFAULT_DB_ALIAS]
    waiting = getattr(db, "_write_waiting", None)
    if waiting is None:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
        return
    _waiting_drop(db)
    with db.cursor() as cursor:
        raw = cursor.cursor
        both = raw.mogrify(sql, params) + b"; " + raw.mogrify(waiting.sql, waiting.params)
        cursor.execute(both.decode(), None)
        rows = cursor.fetchall() if cursor.description else []
    waiting.after(rows)
