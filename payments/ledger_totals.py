"""The ledger's running totals: each account's debits and credits kept up to a journal position
(a posting id, the checkpoint), so the trial balance and the page's proof that the books balance
read those totals plus the postings after the checkpoint instead of summing the whole journal.

Exact to the fen, by construction:
- `ledger_totals_refresh` folds postings in id order, in batches, each batch one transaction that
  moves the totals and the checkpoint together; an interrupted refresh leaves the last batch's
  state, and the next one goes on from there. Refreshes take the checkpoint's row lock first, so
  two at once fold each posting once.
- Posting ids come from a sequence but transactions commit in any order: when the newest visible
  posting is read, a transaction still writing may hold lower ids. On PostgreSQL the refresh notes
  which transactions hold a write lock on the postings table at that moment and folds up to that
  position only once they have all finished (at once when none is writing, else at a later
  refresh); until then the readers sum those postings as part of the tail after the checkpoint.
- A reader reads the checkpoint, the totals and the tail in one statement (one snapshot).
- An entry is checked to balance once, when its first posting is folded (with all its postings:
  its transaction has finished); the checkpoint keeps the count and any that did not balance
  (PostgreSQL refuses those at commit anyway), so the page checks only the entries after it.

Nothing here is on a path that moves money: the refresh is a Celery beat task
(payments.tasks.ledger_totals_refresh), also run by `manage.py reconcile --refresh-totals`."""

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from payments.models import Account, LedgerCheckpoint

# Postings folded per transaction: the first refresh of a long journal runs in steps, each of
# them short, and one interrupted keeps the steps before it.
FOLD_BATCH = 500_000
# How many unbalanced entries the checkpoint remembers (the report lists at most 100).
UNBALANCED_KEPT = 100

_DEBIT = "CASE WHEN p.amount_fen > 0 THEN p.amount_fen ELSE 0 END"
_CREDIT = "CASE WHEN p.amount_fen < 0 THEN -p.amount_fen ELSE 0 END"


@dataclass
class RefreshResult:
    through_posting_id: int
    postings_folded: int
    entries_checked: int
    waiting_for_writers: int


@dataclass
class AccountLine:
    """One account as the totals and the tail after the checkpoint say: debits and credits of
    the entries up to a business date (the trial balance), of all entries (the proof), and what
    the account row caches."""

    code: str
    name: str
    type: str
    debit_through_fen: int
    credit_through_fen: int
    debit_fen: int
    credit_fen: int
    balance_fen: int
    held_fen: int
    pending_holds_fen: int

    @property
    def expected_balance_fen(self) -> int:
        sign = 1 if self.type in (Account.Type.ASSET, Account.Type.EXPENSE) else -1
        return (self.debit_fen - self.credit_fen) * sign


@dataclass
class LedgerView:
    """Every account's line and the checkpoint they were read with."""

    lines: list[AccountLine]
    through_posting_id: int
    entries_checked: int
    unbalanced_entries: list


def _checkpoint_locked() -> LedgerCheckpoint:
    """The checkpoint row, created if missing and locked for this transaction (an UPDATE first:
    on SQLite that takes the write lock before anything is read)."""
    LedgerCheckpoint.objects.get_or_create(pk=1)
    LedgerCheckpoint.objects.filter(pk=1).update(refreshed_at=timezone.now())
    return LedgerCheckpoint.objects.select_for_update().get(pk=1)


def _writers() -> list[str]:
    """PostgreSQL: the transactions (virtual ids) other than this one holding a write lock on the
    postings table, that is, any that may have taken posting ids and not committed yet."""
    if connection.vendor != "postgresql":
        return []  # SQLite has one writer at a time: a visible id has no unfinished one below it
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
            "AND relation = 'payments_posting'::regclass AND mode = 'RowExclusiveLock' "
            "AND pid IS DISTINCT FROM pg_backend_pid()"
        )
        return sorted(row[0] for row in cursor.fetchall())


def _newest_posting_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM payments_posting")
        return int(cursor.fetchone()[0])


def _horizon(checkpoint: LedgerCheckpoint) -> int:
    """The highest posting id below which every posting is final (committed or never will be),
    as far as can be told now; notes a later position to wait for on the checkpoint."""
    horizon = checkpoint.through_posting_id
    if checkpoint.pending_posting_id is not None:
        if set(checkpoint.pending_writers) & set(_writers()):
            return horizon  # still being written: nothing newer can be final either
        horizon = max(horizon, checkpoint.pending_posting_id)
        checkpoint.pending_posting_id, checkpoint.pending_writers = None, []
    # The newest visible id first, then who is writing: a transaction holding a lower id that
    # finished in between is visible to the statements that fold (each takes a new snapshot).
    newest = _newest_posting_id()
    writers = _writers() if newest > horizon else []
    if writers:
        checkpoint.pending_posting_id, checkpoint.pending_writers = newest, writers
        return horizon
    return max(horizon, newest)


def _batch_end(lo: int, horizon: int, batch: int) -> int:
    """The id of the `batch`-th posting after `lo` (at most `horizon`): a batch counts postings,
    not ids, so gaps in the ids (sequences other writers advanced, rolled-back inserts) cost
    nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM payments_posting WHERE id > %s AND id <= %s ORDER BY id LIMIT 1 OFFSET %s",
            [lo, horizon, batch - 1],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else horizon


def _postings_between(lo: int, hi: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM payments_posting WHERE id > %s AND id <= %s", [lo, hi])
        return int(cursor.fetchone()[0])


def _fold(lo: int, hi: int) -> None:
    """Add the postings with lo < id ≤ hi to the account and day totals."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_accounttotal (account_id, debit_fen, credit_fen) "  # noqa: S608
            f"SELECT p.account_id, SUM({_DEBIT}), SUM({_CREDIT}) FROM payments_posting p "
            "WHERE p.id > %s AND p.id <= %s GROUP BY p.account_id "
            "ON CONFLICT (account_id) DO UPDATE SET "
            "debit_fen = payments_accounttotal.debit_fen + excluded.debit_fen, "
            "credit_fen = payments_accounttotal.credit_fen + excluded.credit_fen",
            [lo, hi],
        )
        cursor.execute(
            "INSERT INTO payments_accountdaytotal (account_id, business_on, debit_fen, credit_fen) "  # noqa: S608
            f"SELECT p.account_id, e.business_on, SUM({_DEBIT}), SUM({_CREDIT}) "
            "FROM payments_posting p JOIN payments_journalentry e ON e.id = p.entry_id "
            "WHERE p.id > %s AND p.id <= %s GROUP BY p.account_id, e.business_on "
            "ON CONFLICT (account_id, business_on) DO UPDATE SET "
            "debit_fen = payments_accountdaytotal.debit_fen + excluded.debit_fen, "
            "credit_fen = payments_accountdaytotal.credit_fen + excluded.credit_fen",
            [lo, hi],
        )


def entries_check(*, after: int, through: int | None = None) -> tuple[int, list[list[int]]]:
    """The entries whose first posting has an id after `after` (and at most `through`), each
    summed over all its postings: how many, and [id, postings, sum] of those that do not balance
    (fewer than two postings, or not summing to zero)."""
    bound = "" if through is None else " AND id <= %s"
    params = [after] + ([] if through is None else [through]) + [after]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), SUM(CASE WHEN x.total <> 0 OR x.legs < 2 THEN 1 ELSE 0 END) FROM ("  # noqa: S608
            "SELECT p.entry_id, SUM(p.amount_fen) AS total, COUNT(*) AS legs, MIN(p.id) AS first "
            "FROM payments_posting p WHERE p.entry_id IN "
            f"(SELECT entry_id FROM payments_posting WHERE id > %s{bound}) GROUP BY p.entry_id"
            ") x WHERE x.first > %s",
            params,
        )
        count, unbalanced = cursor.fetchone()
        rows: list[list[int]] = []
        if unbalanced:
            cursor.execute(
                "SELECT x.entry_id, x.legs, x.total FROM ("  # noqa: S608
                "SELECT p.entry_id, SUM(p.amount_fen) AS total, COUNT(*) AS legs, MIN(p.id) AS first "
                "FROM payments_posting p WHERE p.entry_id IN "
                f"(SELECT entry_id FROM payments_posting WHERE id > %s{bound}) GROUP BY p.entry_id"
                ") x WHERE x.first > %s AND (x.total <> 0 OR x.legs < 2) ORDER BY x.entry_id",
                params,
            )
            rows = [[int(v) for v in row] for row in cursor.fetchmany(UNBALANCED_KEPT)]
    return int(count or 0), rows


def ledger_totals_refresh(*, batch: int = FOLD_BATCH) -> RefreshResult:
    """Fold the postings written since the checkpoint into the totals, as far as every posting
    below is final. Idempotent: a second run folds only what arrived since."""
    folded = checked = 0
    while True:
        with transaction.atomic():
            checkpoint = _checkpoint_locked()
            horizon = _horizon(checkpoint)
            lo = checkpoint.through_posting_id
            hi = _batch_end(lo, horizon, batch)
            if hi > lo:
                _fold(lo, hi)
                count, unbalanced = entries_check(after=lo, through=hi)
                checkpoint.entries_checked += count
                checkpoint.unbalanced_entries = (checkpoint.unbalanced_entries + unbalanced)[:UNBALANCED_KEPT]
                checkpoint.through_posting_id = hi
                folded, checked = folded + _postings_between(lo, hi), checked + count
            checkpoint.save()
        if hi >= horizon:
            return RefreshResult(
                through_posting_id=checkpoint.through_posting_id,
                postings_folded=folded,
                entries_checked=checked,
                waiting_for_writers=len(checkpoint.pending_writers),
            )


def ledger_view(*, through: dt.date) -> LedgerView:
    """Every account with its totals through a business date and over all entries, its cached
    balance and held amount and its pending holds: one statement, so the totals, the tail after
    the checkpoint and the accounts are read in one snapshot. The checkpoint's position goes in
    as a value (the planner then reads the tail by the postings' primary key); the statement
    reads the checkpoint again, and should a refresh have moved it in between, runs again."""
    on = connection.ops.adapt_datefield_value(through)
    while True:
        position = LedgerCheckpoint.objects.filter(pk=1).values_list("through_posting_id", flat=True).first()
        view = _ledger_view_from(position or 0, on)
        if view is not None:
            return view


def _ledger_view_from(position: int, on) -> LedgerView | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH cp AS (
                SELECT through_posting_id AS pos, entries_checked, unbalanced_entries
                FROM payments_ledgercheckpoint WHERE id = 1
            ),
            t AS (
                SELECT account_id, debit_fen AS dr_on, credit_fen AS cr_on,
                       debit_fen AS dr, credit_fen AS cr
                FROM payments_accounttotal
                UNION ALL
                SELECT account_id, -debit_fen, -credit_fen, 0, 0
                FROM payments_accountdaytotal WHERE business_on > %s
                UNION ALL
                SELECT p.account_id,
                       CASE WHEN e.business_on <= %s THEN {_DEBIT} ELSE 0 END,
                       CASE WHEN e.business_on <= %s THEN {_CREDIT} ELSE 0 END,
                       {_DEBIT}, {_CREDIT}
                FROM payments_posting p JOIN payments_journalentry e ON e.id = p.entry_id
                WHERE p.id > %s
            ),
            s AS (
                SELECT account_id, SUM(dr_on) AS dr_on, SUM(cr_on) AS cr_on, SUM(dr) AS dr, SUM(cr) AS cr
                FROM t GROUP BY account_id
            ),
            h AS (
                SELECT account_id, SUM(amount_fen) AS total FROM payments_hold
                WHERE status = %s GROUP BY account_id
            )
            SELECT a.code, a.name, a.type, COALESCE(s.dr_on, 0), COALESCE(s.cr_on, 0),
                   COALESCE(s.dr, 0), COALESCE(s.cr, 0), a.balance_fen, a.held_fen, COALESCE(h.total, 0),
                   (SELECT pos FROM cp), (SELECT entries_checked FROM cp), (SELECT unbalanced_entries FROM cp)
            FROM payments_account a
            LEFT JOIN s ON s.account_id = a.id LEFT JOIN h ON h.account_id = a.id
            ORDER BY a.type, a.code
            """,  # noqa: S608
            [on, on, on, position, "pending"],
        )
        rows = cursor.fetchall()
    read, entries, unbalanced = rows[0][10:] if rows else (position, 0, [])
    if (read or 0) != position:
        return None  # the totals were read at another position than the tail: read again
    if isinstance(unbalanced, str):  # SQLite hands JSON back as text
        unbalanced = json.loads(unbalanced)
    return LedgerView(
        lines=[AccountLine(*(int(v) if i > 2 else v for i, v in enumerate(row[:10]))) for row in rows],
        through_posting_id=position,
        entries_checked=int(entries or 0),
        unbalanced_entries=list(unbalanced or []),
    )
