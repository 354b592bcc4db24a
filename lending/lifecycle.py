"""The one way a loan's or a credit line's status changes. Each lifecycle is a transition table
beside its model (LOAN_TRANSITIONS, LINE_TRANSITIONS: business event -> statuses it may start
from, status it ends in) and a history table; `transition` moves one row, `transition_many` moves
every row a close of business or a nightly job selects. Both are compare-and-set (UPDATE … WHERE
status = the status the row was in) and both write the same history row: which event, from and to, the
business date, who or which run, why.

Services are named after business events (`loan_write_off`, `credit_line_freeze`) and call
these; nothing else writes a status."""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

from common.errors import ConflictError
from lending.models import (
    APPLICATION_TRANSITIONS,
    LINE_TRANSITIONS,
    LOAN_TRANSITIONS,
    CobRun,
    CreditLine,
    CreditLineChange,
    Loan,
    LoanStatusChange,
    Transition,
)
from lending.models.applications import Application, ApplicationChange

CLOSE_OF_BUSINESS = "close of business"


@dataclass(frozen=True)
class Lifecycle:
    name: str
    model: type[models.Model]
    transitions: Mapping[str, Transition]
    history: type[models.Model]
    owner: str  # the history's foreign key to the model
    # The row's figures before and after, kept on the history row (lines keep them; loans keep
    # theirs in LoanEvent rows and the ledger).
    snapshot: Callable[[models.Model], dict] | None = None


def line_snapshot(line: CreditLine) -> dict:
    return {
        "limit_fen": line.limit_fen,
        "used_fen": line.used_fen,
        "status": line.status,
        "daily_rate": str(line.daily_rate),
        "grade": line.grade,
        "expires_on": line.expires_on.isoformat(),
    }


LOAN = Lifecycle("loan", Loan, LOAN_TRANSITIONS, LoanStatusChange, "loan")
LINE = Lifecycle("line", CreditLine, LINE_TRANSITIONS, CreditLineChange, "line", snapshot=line_snapshot)
APPLICATION = Lifecycle("application", Application, APPLICATION_TRANSITIONS, ApplicationChange, "application")


def cob_run_of(on: dt.date) -> int | None:
    """The close of business run of a business date, if one has started."""
    return CobRun.objects.filter(business_on=on).values_list("pk", flat=True).first()


def start(lifecycle: Lifecycle, **fields) -> models.Model:
    """Record a row's first status, in the transaction that created it: the history then holds
    every status the row has had. `fields`: start_row's."""
    history = start_row(lifecycle, **fields)
    history.save(force_insert=True)
    return history


def start_row(
    lifecycle: Lifecycle,
    *,
    row: models.Model,
    event: str,
    business_on: dt.date,
    actor: str,
    reason: str = "",
    reasons: list | None = None,
) -> models.Model:
    """The history row `start` writes, unsaved (many rows started at once insert them together).
    `reasons`: the reason as stored reasons (common.texts), read in the reader's language;
    `reason` its words as written."""
    extra = {"before": {}, "after": lifecycle.snapshot(row)} if lifecycle.snapshot is not None else {}
    return lifecycle.history(
        **{f"{lifecycle.owner}_id": row.pk},
        kind=event,
        from_status="",
        to_status=row.status,
        business_on=business_on,
        actor=actor,
        reason=reason[:200],
        reasons=reasons or [],
        **extra,
    )


def transition(
    lifecycle: Lifecycle,
    *,
    pk: int,
    event: str,
    business_on: dt.date,
    actor: str,
    reason: str = "",
    cob_run_id: int | None = None,
    also: Mapping[str, object] | None = None,
    current: str | None = None,
    reasons: list | None = None,
) -> models.Model:
    """Move one row by a business event, and record it. `also` sets other columns in the same
    compare-and-set UPDATE (what the event does besides the status). Raises ConflictError if the
    row is not in a status the event starts from, or changed while this ran. A caller holding the
    row's lock may say its `current` status (a lifecycle without snapshots then reads nothing:
    the compare-and-set still checks it)."""
    model = lifecycle.model
    row = None
    if current is None or lifecycle.snapshot is not None:
        row = model.objects.get(pk=pk)
        current = row.status
    step = step_from(lifecycle, event, current)
    changes = {"status": step.target, **(also or {})}
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        changes.setdefault("updated_at", timezone.now())
    # No savepoint: nothing is written before the compare-and-set, and a refusal is raised
    # outside the block, so a caller's transaction is left as it was.
    with transaction.atomic(savepoint=False):
        # Compare-and-set: if someone moved the row meanwhile, this touches nothing.
        moved = model.objects.filter(pk=pk, status=current).update(**changes) == 1
        if moved:
            extra = {}
            if lifecycle.snapshot is not None:
                extra = {
                    "before": lifecycle.snapshot(row),
                    "after": lifecycle.snapshot(model.objects.get(pk=pk)),
                }
            history = history_row(
                lifecycle,
                pk,
                event=event,
                current=current,
                business_on=business_on,
                actor=actor,
                cob_run_id=cob_run_id,
                reason=reason,
                reasons=reasons,
                **extra,
            )
            history.save(force_insert=True)
    if not moved:
        raise changed_meanwhile(lifecycle)
    return history


def history_row(
    lifecycle: Lifecycle,
    pk: int | None,
    *,
    event: str,
    current: str,
    business_on: dt.date,
    actor: str,
    cob_run_id: int | None,
    reason: str,
    reasons: list | None,
    **extra,
) -> models.Model:
    """The (unsaved) history row of row `pk` moved by `event` from `current`."""
    return lifecycle.history(
        **{f"{lifecycle.owner}_id": pk},
        kind=event,
        from_status=current,
        to_status=lifecycle.transitions[event].target,
        business_on=business_on,
        actor=actor,
        cob_run_id=cob_run_id,
        reason=reason[:200],
        reasons=reasons or [],
        **extra,
    )


def step_from(lifecycle: Lifecycle, event: str, current: str) -> Transition:
    """The event's transition, if it starts from the `current` status; ConflictError if not."""
    step = lifecycle.transitions[event]
    if current not in step.sources:
        raise ConflictError(
            f"a {current} {lifecycle.name} cannot be {event.replace('_', ' ')}",
            {"fields": {"status": [f"{current} -> {step.target} is not allowed"]}},
        )
    return step


def changed_meanwhile(lifecycle: Lifecycle) -> ConflictError:
    """The refusal of a compare-and-set that found the row moved by someone else meanwhile."""
    return ConflictError(
        f"the {lifecycle.name} changed while this request was processed; read it and retry",
        {"fields": {"status": ["changed concurrently"]}},
    )


def _history_insert(lifecycle: Lifecycle, *, kind: str, from_status: str, to_status: str, reason: str):
    """The set-based moves' history INSERT: (`INSERT INTO <history> (<columns>)`, the SQL of the
    values after the row's id). `kind`, `from_status`, `to_status` and `reason` are SQL for those
    columns; the rest read the parameters of `_history_params`."""
    is_postgres = connection.vendor == "postgresql"
    history = connection.ops.quote_name(lifecycle.history._meta.db_table)
    columns = (
        f"{lifecycle.owner}_id, kind, from_status, to_status, business_on, actor, cob_run_id, reason, "
        "reasons, changed_at"
    )
    # PostgreSQL types a bare NULL in a SELECT list as text; the run's id is a bigint. A close of
    # business keeps no stored reasons (its event says why).
    run = "CAST(%(lc_run)s AS bigint)" if is_postgres else "%(lc_run)s"
    none = "CAST('[]' AS jsonb)" if is_postgres else "'[]'"
    values = (
        f"{kind}, {from_status}, {to_status}, %(lc_on)s, %(lc_actor)s, {run}, {reason}, {none}, %(lc_at)s"
    )
    return f"INSERT INTO {history} ({columns})", values


def _history_params(*, business_on: dt.date, actor: str, cob_run_id: int | None) -> dict:
    """The parameters `_history_insert`'s values read: the date, who, the run, and now."""
    is_postgres = connection.vendor == "postgresql"
    changed_at = timezone.now()
    return {
        "lc_on": business_on if is_postgres else business_on.isoformat(),
        "lc_actor": actor,
        "lc_run": cob_run_id,
        "lc_at": changed_at if is_postgres else connection.ops.adapt_datetimefield_value(changed_at),
    }


def transition_many(
    lifecycle: Lifecycle,
    *,
    event: str,
    where: str,
    params: Mapping[str, object],
    business_on: dt.date,
    actor: str = CLOSE_OF_BUSINESS,
    reason: str = "",
    cob_run_id: int | None = None,
) -> int:
    """Move every row that `where` selects (SQL over the model's table, its columns unqualified,
    named %(…)s parameters) by a business event, and record each, as `transition` would; returns
    how many moved. Per status the event starts from: on PostgreSQL one statement, the UPDATE in
    a WITH whose RETURNING feeds the history's INSERT … SELECT, so only rows really moved are
    recorded; on SQLite the INSERT … SELECT, then the UPDATE over the same rows (the first write
    takes the database's one write lock, so nothing changes them in between). Lines, whose
    history keeps their figures before and after: `_transition_many_with_snapshots`."""
    if lifecycle.snapshot is not None:
        return _transition_many_with_snapshots(
            lifecycle,
            event=event,
            where=where,
            params=params,
            business_on=business_on,
            actor=actor,
            reason=reason,
            cob_run_id=cob_run_id,
        )
    step = lifecycle.transitions[event]
    table = connection.ops.quote_name(lifecycle.model._meta.db_table)
    is_postgres = connection.vendor == "postgresql"
    insert, values = _history_insert(
        lifecycle,
        kind="%(lc_event)s",
        from_status="%(lc_from)s",
        to_status="%(lc_to)s",
        reason="%(lc_reason)s",
    )
    common = _history_params(business_on=business_on, actor=actor, cob_run_id=cob_run_id)
    moved = 0
    for source in sorted(step.sources):
        bound = {
            **params,
            **common,
            "lc_event": event,
            "lc_from": source,
            "lc_to": step.target,
            "lc_reason": reason[:200],
        }
        selected = f"status = %(lc_from)s AND ({where})"
        with connection.cursor() as cursor:
            if is_postgres:
                cursor.execute(
                    f"WITH moved AS (UPDATE {table} SET status = %(lc_to)s WHERE {selected} RETURNING id) "  # noqa: S608 - table names and the caller's fixed SQL; values are bound
                    # In id order: the history reads the same whatever order the UPDATE met the rows.
                    f"{insert} SELECT id, {values} FROM moved ORDER BY id",
                    bound,
                )
            else:
                cursor.execute(
                    f"{insert} SELECT id, {values} FROM {table} WHERE {selected} ORDER BY id",  # noqa: S608
                    bound,
                )
                cursor.execute(f"UPDATE {table} SET status = %(lc_to)s WHERE {selected}", bound)  # noqa: S608
            moved += cursor.rowcount
    return moved


# Rows a set-based move of a lifecycle with snapshots reads and writes per statement.
SNAPSHOT_BATCH = 1000


def _transition_many_with_snapshots(
    lifecycle: Lifecycle,
    *,
    event: str,
    where: str,
    params: Mapping[str, object],
    business_on: dt.date,
    actor: str,
    reason: str,
    cob_run_id: int | None,
) -> int:
    """transition_many for a lifecycle whose history keeps the row's figures before and after
    (lines): per status the event starts from, the selected rows are locked and read, moved by one
    compare-and-set UPDATE (the model's manager, so the audit log records it as it records
    `transition`'s) and read again, and their history rows inserted together — a handful of
    statements per thousand rows, the same rows as `transition` one row at a time, in id order."""
    step = lifecycle.transitions[event]
    model = lifecycle.model
    table = connection.ops.quote_name(model._meta.db_table)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    moved = 0
    with transaction.atomic(savepoint=False):
        for source in sorted(step.sources):
            bound = {**params, "lc_from": source}
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {table} WHERE status = %(lc_from)s AND ({where}) ORDER BY id{lock}",  # noqa: S608 - the table's name and the caller's fixed SQL; values are bound
                    bound,
                )
                ids = [pk for (pk,) in cursor.fetchall()]
            for start_at in range(0, len(ids), SNAPSHOT_BATCH):
                batch = ids[start_at : start_at + SNAPSHOT_BATCH]
                before = model.objects.in_bulk(batch)
                changes = {"status": step.target}
                if any(f.name == "updated_at" for f in model._meta.concrete_fields):
                    changes["updated_at"] = timezone.now()
                count = model.objects.filter(pk__in=batch, status=source).update(**changes)
                if count != len(batch):  # the rows were locked: nothing can have moved them
                    raise changed_meanwhile(lifecycle)
                after = model.objects.in_bulk(batch)
                lifecycle.history.objects.bulk_create(
                    [
                        history_row(
                            lifecycle,
                            pk,
                            event=event,
                            current=source,
                            business_on=business_on,
                            actor=actor,
                            cob_run_id=cob_run_id,
                            reason=reason,
                            reasons=None,
                            before=lifecycle.snapshot(before[pk]),
                            after=lifecycle.snapshot(after[pk]),
                        )
                        for pk in batch
                    ]
                )
                moved += count
    return moved


def _ranked_moves(lifecycle: Lifecycle, moves: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """(event, source, target, condition) in the order `transition_many` would make them, one
    call per move: events in turn, each event's sources sorted."""
    return [
        (event, source, lifecycle.transitions[event].target, condition)
        for event, condition in moves
        for source in sorted(lifecycle.transitions[event].sources)
    ]


def moves_sql(lifecycle: Lifecycle, moves: Sequence[tuple[str, str]]) -> str:
    """The status after `moves` ((event, condition over the row's columns) in order), as an SQL
    expression for the UPDATE that also writes the row's figures: the first move whose sources
    hold the row's status and whose condition holds; else the status as it was. The same as
    `transition_many` called once per move, in order, provided that a row one move moves never
    meets a later move's condition (close of business's moves exclude each other). Record the
    moves with `moves_record` before that UPDATE, with the same conditions."""
    whens = " ".join(
        f"WHEN status = '{source}' AND ({condition}) THEN '{target}'"
        for _, source, target, condition in _ranked_moves(lifecycle, moves)
    )
    return f"(CASE {whens} ELSE status END)"


def moves_record(
    lifecycle: Lifecycle,
    *,
    moves: Sequence[tuple[str, str, str]],
    rows: str,
    params: Mapping[str, object],
    business_on: dt.date,
    actor: str = CLOSE_OF_BUSINESS,
    cob_run_id: int | None = None,
    with_sql: str = "",
) -> int:
    """Record, as `transition_many` would, the moves ((event, condition, reason) in order) that
    `moves_sql` of the same (event, condition) pairs is about to make: one history row per row
    that moves, in the order `transition_many` would write them (by move, then id). `rows` is the
    SQL after FROM that yields the rows as they are before that UPDATE (`<table> [JOIN …] WHERE
    …`, the model's columns unqualified, named %(…)s parameters), `with_sql` a WITH clause it
    reads. Call in the UPDATE's transaction, just before it. Returns how many rows move."""
    if lifecycle.snapshot is not None:
        raise TypeError(f"{lifecycle.name} rows are moved by `transition` or `transition_many`")
    ranked = _ranked_moves(lifecycle, [(event, condition) for event, condition, _ in moves])
    reasons = {event: reason[:200] for event, _, reason in moves}
    table = connection.ops.quote_name(lifecycle.model._meta.db_table)
    rank = " ".join(
        f"WHEN status = '{source}' AND ({condition}) THEN {n}"
        for n, (_, source, _, condition) in enumerate(ranked)
    )

    def by_rank(values: list[str]) -> str:
        return "CASE m.lc_rank " + " ".join(f"WHEN {n} THEN {v}" for n, v in enumerate(values)) + " END"

    bound = {**params, **_history_params(business_on=business_on, actor=actor, cob_run_id=cob_run_id)}
    for n, (event, source, target, _) in enumerate(ranked):
        bound |= {f"lc_event_{n}": event, f"lc_from_{n}": source, f"lc_to_{n}": target}
        bound[f"lc_reason_{n}"] = reasons[event]
    columns = [f"lc_{name}_{n}" for name in ("event", "from", "to", "reason") for n in range(len(ranked))]
    kind, from_status, to_status, reason = (
        by_rank([f"%({c})s" for c in columns[k * len(ranked) : (k + 1) * len(ranked)]]) for k in range(4)
    )
    insert, values = _history_insert(
        lifecycle, kind=kind, from_status=from_status, to_status=to_status, reason=reason
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{with_sql} {insert} SELECT m.id, {values} "  # noqa: S608 - table names and the caller's fixed SQL; values are bound
            f"FROM (SELECT {table}.id AS id, CASE {rank} END AS lc_rank FROM {rows}) m "
            "WHERE m.lc_rank IS NOT NULL ORDER BY m.lc_rank, m.id",
            bound,
        )
        return cursor.rowcount


def status_sql(statuses) -> str:
    """A SQL list of statuses, for statements that select rows by status: ('active', 'overdue')."""
    return "(" + ", ".join(f"'{status}'" for status in sorted(statuses)) + ")"
