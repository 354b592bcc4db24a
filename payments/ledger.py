"""The one home of the ledger's legs: how balanced entries become rows. Every movement, one at a
time (payments/services.py) or many at once (payments/bulk.py), is checked and written here:
legs balance and are not zero, a wallet never falls below what is held on it, the entry, its
postings and the cached balances are written together.

Two ways to write the rows, side by side, held together by tests/payments/test_ledger_paths.py
(random entries through both, identical rows, on SQLite and PostgreSQL):
- many entries: three multi-row statements (entries, postings, balances), any database;
- one entry on PostgreSQL: the same three writes in one statement (data-modifying CTEs), because
  a single transfer is dominated by round trips to the server, not by the work."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from common.audit import AUDIT_COLUMNS, additional_data, balance_rows
from common.business_date import business_date_today
from common.errors import ApplicationError
from common.sql import values_execute

DEBIT_NORMAL = ("asset", "expense")
# No account's balance leaves ±10^17 fen (a thousand trillion yuan): 92 times inside PostgreSQL's
# bigint, so neither a balance nor an account's sums can overflow. A posting that would pass it is
# refused here by name (LimitExceeded), and the database refuses it too
# (account_balance_within_limit), whichever path wrote it.
ACCOUNT_BALANCE_LIMIT_FEN = 10**17


class InsufficientFunds(ApplicationError):
    code = "insufficient_funds"
    status_code = 409


class LimitExceeded(ApplicationError):
    """A movement that would take an account or a partner past a limit: refused, nothing written."""

    code = "limit_exceeded"
    status_code = 409


@dataclass(frozen=True)
class NewEntry:
    """An entry about to be written: legs are (account id, signed amount: debit positive)."""

    idempotency_key: str | None
    request_hash: str
    reference: str
    legs: Sequence[tuple[int, int]]
    reverses_id: int | None = None


@dataclass
class LockedAccount:
    """What the overdraft rule needs of an account whose row this transaction has locked; the
    transaction keeps it current as it moves the account (as it does an Account instance)."""

    normal_sign: int
    purpose: str
    balance_fen: int
    held_fen: int
    name: str


def accounts_lock(account_ids) -> dict[int, LockedAccount]:
    """Lock the accounts' rows in id order (every flow does, so none deadlocks) and read what the
    overdraft rule needs. One plain statement: this is on every single transfer's path."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    # NO KEY UPDATE on PostgreSQL: writers still wait for each other, but not for the foreign-key
    # checks (KEY SHARE) of rows that refer to an account, such as the ledger totals' refresh
    # inserting an account's totals; FOR UPDATE against those deadlocked a writer and a refresh.
    for_update = ""
    if connection.features.has_select_for_update:
        for_update = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, type, purpose, balance_fen, held_fen, name FROM payments_account "  # noqa: S608
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id{for_update}",
            ids,
        )
        return {
            pk: LockedAccount(1 if type_ in DEBIT_NORMAL else -1, purpose, balance, held, name)
            for pk, type_, purpose, balance, held, name in cursor.fetchall()
        }


def undated_entry_day():
    """The business date an entry posted without one gets (rows_insert): what a cap per business
    date counts it under."""
    return business_date_today()


def request_digest(**content) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def collection_legs(*, wallet, take: int, allocations, pool_funds=None, client_funds=None) -> list:
    """The legs of a deduction from a wallet, the one rule for every path that takes a repayment
    (payments.services.collection_take, payments.bulk.collections_post_bulk; its SQL twin
    payments.bulk._legs_sql is held to it by tests): the wallet debited `take`, the allocations
    ((account, fen) in order) credited in that order until `take` is spent, and, for a loan lent
    by a funding pool, the cash behind the wallet returned to the pool (its funds account debited,
    client funds credited). Accounts are whatever the caller names them by (ids or rows)."""
    legs = [(wallet, take)]
    remaining = take
    for account, amount in allocations:
        part = min(amount, remaining)
        if part <= 0:
            break
        legs.append((account, -part))
        remaining -= part
    if pool_funds is not None:
        legs += [(pool_funds, take), (client_funds, -take)]
    return legs


def legs_check(legs: Sequence[tuple[int, int]], *, label: str = "an entry") -> None:
    """Two or more legs, none zero, summing to zero."""
    if len(legs) < 2:
        raise ApplicationError(f"{label} needs at least two postings")
    if any(amount == 0 for _, amount in legs):
        raise ApplicationError("a posting cannot be zero", {"fields": {"amount": ["must not be zero"]}})
    if sum(amount for _, amount in legs) != 0:
        raise ApplicationError(f"postings of {label} must sum to zero")


def balance_changes(entries: Iterable[NewEntry], locked: Mapping[int, LockedAccount]) -> dict[int, int]:
    """How each account's cached balance (on its normal side) moves."""
    change: dict[int, int] = defaultdict(int)
    for entry in entries:
        for account_id, amount in entry.legs:
            change[account_id] += amount * locked[account_id].normal_sign
    return dict(change)


def overdraft_check(change: Mapping[int, int], locked: Mapping[int, LockedAccount]) -> None:
    """A wallet never falls below what is held on it, and no balance passes the ledger's limit
    (the database checks both too; this names them)."""
    for account_id, delta in change.items():
        account = locked[account_id]
        if abs(account.balance_fen + delta) > ACCOUNT_BALANCE_LIMIT_FEN:
            raise LimitExceeded(
                f"the amount would take {account.name} past the ledger's limit of "
                f"{ACCOUNT_BALANCE_LIMIT_FEN} fen; nothing was moved",
                {"fields": {"amount": ["too large: an account would pass the ledger's limit"]}},
            )
        if account.purpose == "wallet" and account.balance_fen + delta < account.held_fen:
            raise InsufficientFunds(
                f"insufficient funds in {account.name}: available "
                f"{account.balance_fen - account.held_fen}, needed {-delta} (fen)",
                {"fields": {"amount": ["insufficient funds"]}},
            )


def _wallet_moves(change: Mapping[int, int], locked: Mapping[int, LockedAccount]) -> list[tuple]:
    """(id, name, balance before, after) of the wallets an entry moves: each is an audit row."""
    return [
        (pk, locked[pk].name, locked[pk].balance_fen, locked[pk].balance_fen + delta)
        for pk, delta in sorted(change.items())
        if delta and locked[pk].purpose == "wallet"
    ]


def rows_insert(
    *, kind: str, entries: Sequence[NewEntry], business_on, locked: Mapping[int, LockedAccount]
) -> list[int | None]:
    """Write the entries, their postings and the balance changes of accounts this transaction has
    locked; returns each entry's id, or None where its key was already taken (then nothing of
    that entry is written). The caller has checked the legs and the overdraft rule. Without
    `business_on` the entries take the current business date, read in the same statement."""
    if not entries:
        return []
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    if len(entries) == 1 and connection.vendor == "postgresql":
        day = ops.adapt_datefield_value(business_on)
        return [_one_entry_in_one_statement(kind, entries[0], now, day, locked)]
    # The single-transfer service posts on "today" without a caller that knows the date: the
    # ledger is where that date is defined (read in SQL on PostgreSQL above, here otherwise).
    day = ops.adapt_datefield_value(business_on or business_date_today())
    # Keys already taken are skipped, not an error: ON CONFLICT leaves the transaction usable.
    inserted = values_execute(
        "INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on, "
        "created_at, reverses_id) VALUES %s ON CONFLICT (idempotency_key) DO NOTHING "
        "RETURNING id, idempotency_key",
        [(kind, e.idempotency_key, e.request_hash, e.reference, day, now, e.reverses_id) for e in entries],
        page_size=2000,
        fetch=True,
    )
    if len(inserted) == len(entries):
        ids: list[int | None] = [entry_id for entry_id, _ in inserted]
    else:
        by_key = {key: entry_id for entry_id, key in inserted}
        ids = [by_key.get(e.idempotency_key) for e in entries]
    written = [(entry_id, e) for entry_id, e in zip(ids, entries, strict=True) if entry_id is not None]
    values_execute(
        "INSERT INTO payments_posting (entry_id, account_id, amount_fen) VALUES %s",
        [(entry_id, account_id, amount) for entry_id, e in written for account_id, amount in e.legs],
        page_size=2000,
    )
    change = balance_changes((e for _, e in written), locked)
    values_execute(
        "WITH v(id, delta) AS (VALUES %s) UPDATE payments_account "
        "SET balance_fen = balance_fen + v.delta FROM v WHERE payments_account.id = v.id",
        sorted((pk, delta) for pk, delta in change.items() if delta),
        page_size=2000,
    )
    # Wallet balances move here, by SQL: their audit rows are written here too, one per wallet
    # per batch, naming the entries (the journal holds each posting).
    reason = f"{kind}: journal entries {written[0][0]}–{written[-1][0]}" if written else ""
    values_execute(
        f"INSERT INTO auditlog_logentry ({AUDIT_COLUMNS}) VALUES %s",  # noqa: S608
        [
            (*row[:-1], additional_data(row[-1], reason))
            for row in balance_rows(_account_model(), _wallet_moves(change, locked), now=now)
        ],
        page_size=2000,
    )
    return ids


def _account_model():
    from payments.models import Account

    return Account


def _one_entry_in_one_statement(
    kind: str, e: NewEntry, now, day, locked: Mapping[int, LockedAccount]
) -> int | None:
    """PostgreSQL: the entry, its postings and the balances in one statement. The postings and
    the balance updates join the inserted entry, so a taken key writes nothing at all."""
    changes = balance_changes([e], locked)
    change = sorted((pk, delta) for pk, delta in changes.items() if delta)
    audit = balance_rows(_account_model(), _wallet_moves(changes, locked), now=now)
    legs_sql = ",".join(["(%s::bigint, %s::bigint)"] * len(e.legs))
    change_sql = ",".join(["(%s::bigint, %s::bigint)"] * len(change)) or "(NULL::bigint, 0::bigint)"
    audit_sql = ",".join(
        ["(%s::int, %s, %s::bigint, %s, %s::smallint, %s, %s::jsonb, %s::bigint, %s, %s::timestamptz, %s)"]
        * len(audit)
    )
    # The business date as common.business_date.business_date_today() reads it (the calendar
    # row, else the local date), folded into this statement to save a round trip.
    today = timezone.localdate()
    params: list = [kind, e.idempotency_key, e.request_hash, e.reference, day, today, now, e.reverses_id]
    params += [v for leg in e.legs for v in leg]
    params += [v for row in change for v in row]
    # The wallets' audit rows join the inserted entry too: a taken key writes none.
    audit_cte = ""
    if audit:
        params += [kind, *(v for row in audit for v in row)]
        # Only placeholders and fixed column names are formatted in.
        audit_cte = f""",
            a AS (
                INSERT INTO auditlog_logentry ({AUDIT_COLUMNS})
                SELECT v.ct, v.opk, v.oid, v.orepr, v.act, v.ctext, v.ch, v.actor, v.cid, v.ts,
                    jsonb_build_object('actor', v.label, 'reason', %s || ': journal entry ' || e.id)
                FROM (VALUES {audit_sql}) AS v(ct, opk, oid, orepr, act, ctext, ch, actor, cid, ts, label), e
            )"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            # Only placeholders are formatted in; every value is a bound parameter.
            f"""
            WITH e AS (
                INSERT INTO payments_journalentry
                    (kind, idempotency_key, request_hash, reference, business_on, created_at, reverses_id)
                VALUES (%s, %s, %s, %s, COALESCE(%s, (SELECT current_on FROM common_businesscalendar
                    WHERE id = 1), %s), %s, %s)
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            ),
            p AS (
                INSERT INTO payments_posting (entry_id, account_id, amount_fen)
                SELECT e.id, legs.account_id, legs.amount_fen FROM e CROSS JOIN (VALUES {legs_sql})
                    AS legs(account_id, amount_fen)
            ),
            u AS (
                UPDATE payments_account SET balance_fen = balance_fen + v.delta
                FROM (VALUES {change_sql}) AS v(id, delta), e WHERE payments_account.id = v.id
            ){audit_cte}
            SELECT id FROM e
            """,  # noqa: S608
            params,
        )
        row = cursor.fetchone()
    return row[0] if row else None
