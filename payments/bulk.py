"""Many balanced entries at once: the set-based path for work that runs by itself (a day's
settlements, close of business). The same rules as one entry at a time — each entry balances,
each key posts once, wallets never go negative, accounts are locked in id order — with a
handful of statements per batch instead of several per entry."""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.utils import timezone

from common.errors import ApplicationError
from common.sql import values_execute
from payments import ledger
from payments.ledger import InsufficientFunds, request_digest
from payments.models import WALLET_NAME, Account, JournalEntry

BATCH = 2000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkEntry:
    idempotency_key: str
    reference: str
    legs: Sequence[tuple[int, int]]  # (account id, signed amount: debit positive)
    request_hash: str | None = None  # as the one-at-a-time service would record it; else from the legs


def entries_post_bulk(*, kind: str, entries: Iterable[BulkEntry], business_on: dt.date) -> int:
    """Post every entry whose key is new; returns how many were posted. All or nothing."""
    return len(entries_post_bulk_keyed(kind=kind, entries=entries, business_on=business_on))


def entries_post_bulk_keyed(
    *, kind: str, entries: Iterable[BulkEntry], business_on: dt.date
) -> dict[str, int]:
    """Post every entry whose key is new; returns the posted entries' ids by key. All or nothing."""
    todo = list(entries)
    for entry in todo:
        ledger.legs_check(entry.legs, label=f"entry {entry.idempotency_key}")
    posted: dict[str, int] = {}
    with transaction.atomic():
        for start in range(0, len(todo), BATCH):
            posted.update(_post_batch(kind, todo[start : start + BATCH], business_on))
    return posted


def entries_post_locked(
    *, kind: str, entries: list[BulkEntry], business_on, locked: dict[int, ledger.LockedAccount]
) -> dict[str, int]:
    """As entries_post_bulk, inside the caller's transaction, with every account of the entries
    already locked by the caller (`locked`: their state as the caller has left it)."""
    for entry in entries:
        ledger.legs_check(entry.legs, label=f"entry {entry.idempotency_key}")
    posted: dict[str, int] = {}
    for start in range(0, len(entries), BATCH):
        posted.update(_post_batch(kind, entries[start : start + BATCH], business_on, locked))
    return posted


def _post_batch(kind: str, batch: list[BulkEntry], on, locked=None) -> dict[str, int]:
    """One batch: entries, postings and balances by multi-row statements, no model instances."""
    keys = [e.idempotency_key for e in batch]
    seen = set(
        JournalEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    fresh = [
        ledger.NewEntry(
            idempotency_key=e.idempotency_key,
            request_hash=e.request_hash
            or request_digest(kind=kind, legs=[list(leg) for leg in e.legs], reference=e.reference),
            reference=e.reference,
            legs=e.legs,
        )
        for e in batch
        if e.idempotency_key not in seen
    ]
    if not fresh:
        return {}
    if locked is None:
        locked = ledger.accounts_lock({account_id for e in fresh for account_id, _ in e.legs})
    change = ledger.balance_changes(fresh, locked)
    try:
        ledger.overdraft_check(change, locked)
    except InsufficientFunds as exc:
        raise InsufficientFunds(f"the batch would overdraw: {exc.message}", exc.extra) from None
    ids = ledger.rows_insert(kind=kind, entries=fresh, business_on=on, locked=locked)
    if None in ids:
        # Keys were checked under the account locks; one taken now was posted by a racing batch
        # on other accounts. All or nothing: let the caller retry the whole batch.
        raise ApplicationError("a key of this batch was posted meanwhile; retry the batch")
    for pk, delta in change.items():
        locked[pk].balance_fen += delta
    return {e.idempotency_key: entry_id for e, entry_id in zip(fresh, ids, strict=True)}


def wallets_open_all() -> int:
    """Open a wallet for every merchant that has none (set-based); returns how many."""
    from merchants.models import Merchant

    missing = Merchant.objects.filter(wallet__isnull=True).only("pk", "shop_name")
    created = Account.objects.bulk_create(
        [
            Account(
                code=f"wallet:{m.pk}",
                name=f"{WALLET_NAME} · {m.shop_name}",
                type=Account.Type.LIABILITY,
                purpose=Account.Purpose.WALLET,
                merchant_id=m.pk,
            )
            for m in missing.iterator(chunk_size=BATCH)
        ],
        batch_size=BATCH,
    )
    return len(created)


def settlements_credit(*, first_on, last_on) -> int:
    """Credit every recorded settlement dated in [first_on, last_on] into its merchant's wallet,
    once each (the key is the settlement's identity, as for one-at-a-time crediting), partner by
    partner through each one's clearing account. A partner whose day would pass its caps or the
    ledger's limit is left out of that day (logged, for an officer), and the others are credited."""
    from merchants.models import PartnerPlatform, Settlement
    from payments.services import settlement_caps_check, settlement_clearing_account

    wallets_open_all()
    wallet_of = dict(Account.objects.filter(purpose=Account.Purpose.WALLET).values_list("merchant_id", "pk"))
    posted = 0
    days = (
        Settlement.objects.filter(settled_on__range=(first_on, last_on))
        .values_list("settled_on", "partner_id")
        .distinct()
        .order_by("settled_on", "partner_id")
    )
    partners = {p.pk: p for p in PartnerPlatform.objects.filter(pk__in={pk for _, pk in days})}
    for day, partner_id in days:
        partner = partners[partner_id]
        clearing = settlement_clearing_account(partner=partner).pk
        rows = Settlement.objects.filter(settled_on=day, partner_id=partner_id).values_list(
            "pk", "external_id", "merchant_id", "amount_fen"
        )
        entries = [
            BulkEntry(
                idempotency_key=f"settlement:{pk}",
                reference=f"settlement {external_id}",
                legs=[(clearing, amount), (wallet_of[merchant_id], -amount)],
            )
            for pk, external_id, merchant_id, amount in rows.iterator(chunk_size=BATCH)
        ]
        keys = [e.idempotency_key for e in entries]
        done = set(
            JournalEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
        )
        fresh = [e for e in entries if e.idempotency_key not in done]
        if not fresh:
            continue
        try:
            with transaction.atomic():
                locked = ledger.accounts_lock([clearing])
                settlement_caps_check(
                    partner=partner,
                    clearing_balance_fen=locked[clearing].balance_fen,
                    clearing_id=clearing,
                    amount_fen=sum(e.legs[0][1] for e in fresh),
                    on=day,
                )
                posted += entries_post_bulk(kind=JournalEntry.Kind.SETTLEMENT, entries=fresh, business_on=day)
        except ledger.LimitExceeded as exc:
            log.warning("settlements of %s on %s not credited: %s", partner.code, day, exc.message)
    return posted


@dataclass(frozen=True)
class BulkCollection:
    idempotency_key: str
    reference: str
    wallet_id: int
    allocations: Sequence[tuple[int, int]]  # (account id, fen), credited in this order
    pool_id: int | None = None


def collections_post_bulk(*, collections: Iterable[BulkCollection], business_on: dt.date) -> int:
    """Many wallet deductions at once (automatic repayment at close of business): each is its own
    balanced entry (wallet debited, targets credited, the cash behind it returned to the pool that
    lent it); principal coming home frees pool capacity. The caller has sized each deduction to
    what the wallet holds; a deduction that would overdraw a wallet fails the whole batch."""
    from payments.models import FundingPool
    from payments.services import platform_account

    client_funds = platform_account(Account.Purpose.CLIENT_FUNDS).pk
    receivable = platform_account(Account.Purpose.LOANS_RECEIVABLE).pk
    todo = list(collections)
    pools = {p.pk: p for p in FundingPool.objects.filter(pk__in={c.pool_id for c in todo if c.pool_id})}
    principal_by_pool: dict[int, int] = defaultdict(int)
    entries = []
    for c in todo:
        take = sum(amount for _, amount in c.allocations)
        legs = ledger.collection_legs(
            wallet=c.wallet_id,
            take=take,
            allocations=c.allocations,
            pool_funds=pools[c.pool_id].funds_account_id if c.pool_id is not None else None,
            client_funds=client_funds,
        )
        if c.pool_id is not None:
            principal_by_pool[c.pool_id] += sum(
                a for account_id, a in c.allocations if account_id == receivable
            )
        elif any(account_id == receivable for account_id, _ in c.allocations):
            raise ApplicationError("principal can only be collected for the funding pool that lent it")
        entries.append(BulkEntry(idempotency_key=c.idempotency_key, reference=c.reference, legs=legs))
    with transaction.atomic():
        locked_pools = {p.pk: p for p in FundingPool.objects.select_for_update().filter(pk__in=sorted(pools))}
        posted = entries_post_bulk(
            kind=JournalEntry.Kind.COLLECTION, entries=entries, business_on=business_on
        )
        if posted != len(entries):
            # Some keys were posted before: only a full rerun of the same batch may skip them, and
            # then none of the pool figures may move twice.
            if posted:
                raise ApplicationError("a batch of collections was partly posted before; refusing to guess")
            return 0
        for pool_id, principal in principal_by_pool.items():
            if principal:
                pool = locked_pools[pool_id]
                if principal > pool.principal_outstanding_fen:
                    raise ApplicationError(f"collecting more principal than pool {pool.code} has outstanding")
                FundingPool.objects.filter(pk=pool_id).update(
                    principal_outstanding_fen=models.F("principal_outstanding_fen") - principal
                )
    return posted


# --- the same collections from a table, in SQL ---------------------------------------------------

# The columns `collections_post_table` reads from its table, one row per collection: `seq` orders
# the entries (and their postings) as collections_post_bulk's list would; the wallet debited
# `take_fen`, then up to four allocations (account, fen; a zero fen is no leg) credited in this
# order, the pool that lent the money (or NULL); `entry_id` is filled in.
COLLECTION_TABLE_COLUMNS = (
    "seq, idempotency_key, reference, wallet_id, pool_id, take_fen, "
    "account_1, amount_1, account_2, amount_2, account_3, amount_3, account_4, amount_4, entry_id"
)
ALLOCATIONS = 4


def _legs_sql(table: str) -> str:
    """Each collection's legs in the order collections_post_bulk writes them, as rows (entry,
    position of the collection, leg number, account, signed fen): the wallet, the allocations that
    are not zero, then the pool's funds and client funds."""
    allocations = " ".join(
        f"UNION ALL SELECT c.entry_id, c.seq, {k}, c.account_{k}, -c.amount_{k} FROM {table} c "  # noqa: S608
        f"WHERE c.amount_{k} <> 0"
        for k in range(1, ALLOCATIONS + 1)
    )
    return f"""
        SELECT c.entry_id, c.seq, 0 AS leg, c.wallet_id AS account_id, c.take_fen AS amount_fen
            FROM {table} c
        {allocations}
        UNION ALL SELECT c.entry_id, c.seq, 5, f.funds_account_id, c.take_fen
            FROM {table} c JOIN payments_fundingpool f ON f.id = c.pool_id
        UNION ALL SELECT c.entry_id, c.seq, 6, %(client_funds)s, -c.take_fen FROM {table} c
            WHERE c.pool_id IS NOT NULL
    """  # noqa: S608 - column names and a table name of the caller's; values are bound


def _request_hash_sql() -> str:
    """request_digest(kind=…, legs=…, reference=…) of collections_post_bulk's entries, in SQL:
    sha256 of the same canonical JSON (sorted keys, no spaces). The references these entries
    carry are printable ASCII (generated loan references), which json.dumps writes unchanged but
    for quotes and backslashes."""
    text = "CAST({} AS TEXT)"
    leg = "'[' || " + text + " || ',' || " + text + " || ']'"
    parts = [leg.format("wallet_id", "take_fen")]
    parts += [
        f"(CASE WHEN amount_{k} <> 0 THEN ',' || {leg.format(f'account_{k}', f'-amount_{k}')} ELSE '' END)"
        for k in range(1, ALLOCATIONS + 1)
    ]
    funds = "(SELECT f.funds_account_id FROM payments_fundingpool f WHERE f.id = pool_id)"
    pool_legs = leg.format(funds, "take_fen") + " || ',' || " + leg.format("%(client_funds)s", "-take_fen")
    parts.append(f"(CASE WHEN pool_id IS NULL THEN '' ELSE ',' || {pool_legs} END)")
    reference = "REPLACE(REPLACE(reference, '\\', '\\\\'), '\"', '\\\"')"
    canonical = (
        '\'{"kind":"\' || %(kind)s || \'","legs":[\' || '
        + " || ".join(parts)
        + ' || \'],"reference":"\' || '
        + reference
        + " || '\"}'"
    )
    if connection.vendor == "postgresql":
        return f"encode(sha256(convert_to({canonical}, 'UTF8')), 'hex')"
    return f"SHA256({canonical})"  # registered on SQLite connections by Django


@dataclass
class SharedMoves:
    """What a batch moves on the rows many batches share (the platform's accounts, the funding
    pools and their funds accounts), kept to be written last: `shared_moves_apply`."""

    accounts: dict[int, int]  # account id: change of the cached balance
    pools: dict[int, int]  # pool id: principal collected
    losses: dict[int, int] = field(default_factory=dict)  # pool id: losses recovered (at most all)


def collections_post_table(
    *,
    table: str,
    business_on: dt.date,
    kind: str = JournalEntry.Kind.COLLECTION,
    shared: list[SharedMoves] | None = None,
) -> int:
    """collections_post_bulk for collections held in a table (COLLECTION_TABLE_COLUMNS) rather
    than in Python: the same entries, postings (in the same order), balances and pool figures,
    by a few statements whatever the number of rows; each row's `entry_id` is filled in. Call
    inside a transaction with the wallets locked; all or nothing. Returns how many were posted.

    With `shared` (a list), the rows every batch shares are neither locked nor written here: what
    they move is appended to it, for the caller to write with `shared_moves_apply` at the end of its
    transaction, so that batches running at once on other wallets hold those locks only for the
    last statements before their commits."""
    from payments.services import platform_account

    client_funds = platform_account(Account.Purpose.CLIENT_FUNDS).pk
    receivable = platform_account(Account.Purpose.LOANS_RECEIVABLE).pk
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    ops = connection.ops
    params = {
        "client_funds": client_funds,
        "receivable": receivable,
        "kind": kind,
        "on": ops.adapt_datefield_value(business_on),
        "now": ops.adapt_datetimefield_value(timezone.now()),
    }
    principal = " + ".join(
        f"(CASE WHEN account_{k} = %(receivable)s THEN amount_{k} ELSE 0 END)"
        for k in range(1, ALLOCATIONS + 1)
    )
    amounts = " + ".join(f"amount_{k}" for k in range(1, ALLOCATIONS + 1))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), "  # noqa: S608
            f"SUM(CASE WHEN pool_id IS NULL AND {principal} > 0 THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN take_fen <= 0 OR {amounts} <> take_fen THEN 1 ELSE 0 END) FROM {table}",
            params,
        )
        count, without_pool, unbalanced = cursor.fetchone()
        if not count:
            return 0
        if without_pool:
            raise ApplicationError("principal can only be collected for the funding pool that lent it")
        if unbalanced:
            raise ApplicationError(
                f"{unbalanced} collection(s) whose allocations do not add up to what is taken"
            )
        # Locks as the Python path takes them: the pools, then every other account of the entries
        # in id order (the wallets are the caller's, locked already); with `shared`, later.
        lock = "" if shared is not None else for_update
        cursor.execute(
            f"SELECT id, code, principal_outstanding_fen FROM payments_fundingpool "  # noqa: S608
            f"WHERE id IN (SELECT pool_id FROM {table}) ORDER BY id{lock}"
        )
        pools = {pk: (code, outstanding) for pk, code, outstanding in cursor.fetchall()}
        others = " UNION ".join(
            [f"SELECT account_{k} FROM {table} WHERE amount_{k} <> 0" for k in range(1, ALLOCATIONS + 1)]  # noqa: S608
            + [
                f"SELECT funds_account_id FROM payments_fundingpool WHERE id IN (SELECT pool_id FROM {table})",  # noqa: S608, E501
                "SELECT %(client_funds)s",
            ]
        )
        # The few accounts first, then locked by id: with the table's legs in a subquery,
        # PostgreSQL may hash them and scan every account for each batch.
        cursor.execute(others, params)
        other_ids = {pk for (pk,) in cursor.fetchall()}
        named = ",".join(str(int(pk)) for pk in sorted(other_ids))
        if shared is None:
            cursor.execute(f"SELECT id FROM payments_account WHERE id IN ({named}) ORDER BY id{for_update}")  # noqa: S608
        cursor.execute(f"SELECT DISTINCT wallet_id FROM {table}")  # noqa: S608
        wallet_ids = {pk for (pk,) in cursor.fetchall()}
        every = ",".join(str(int(pk)) for pk in sorted(other_ids | wallet_ids))
        # What each account's cached balance (on its normal side) moves by.
        cursor.execute(
            f"""WITH legs AS ({_legs_sql(table)})
            SELECT a.id, a.purpose, a.name, a.balance_fen, a.held_fen,
                   CAST(SUM(legs.amount_fen) AS BIGINT)
                       * (CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END)
            FROM legs JOIN payments_account a ON a.id = legs.account_id AND a.id IN ({every})
            GROUP BY a.id, a.purpose, a.name, a.balance_fen, a.held_fen, a.type
            """,  # noqa: S608
            params,
        )
        change = {}
        for pk, purpose, name, balance, held, delta in cursor.fetchall():
            if purpose == Account.Purpose.WALLET and balance + delta < held:
                raise InsufficientFunds(
                    f"the batch would overdraw: insufficient funds in {name}: available "
                    f"{balance - held}, needed {-delta} (fen)",
                    {"fields": {"amount": ["insufficient funds"]}},
                )
            if delta:
                change[pk] = delta
        pool_principal = _pool_principal(cursor, table, principal, params)
        if shared is None:
            for pool_id, total in pool_principal.items():
                code, outstanding = pools[pool_id]
                if total > outstanding:
                    raise ApplicationError(f"collecting more principal than pool {code} has outstanding")
        # Keys already taken are skipped by ON CONFLICT; any skipped fails the whole table below.
        cursor.execute(
            f"""
            INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on,
                                               created_at, reverses_id)
            SELECT %(kind)s, idempotency_key, {_request_hash_sql()}, reference, %(on)s, %(now)s, NULL
            FROM {table} WHERE 1 = 1 ORDER BY seq
            ON CONFLICT (idempotency_key) DO NOTHING
            """,  # noqa: S608
            params,
        )
        if cursor.rowcount != count:
            raise ApplicationError("a collection of this table was posted before; refusing to post it twice")
        cursor.execute(
            f"UPDATE {table} SET entry_id = (SELECT e.id FROM payments_journalentry e "  # noqa: S608
            f"WHERE e.idempotency_key = {table}.idempotency_key)"
        )
        cursor.execute(
            f"""WITH legs AS ({_legs_sql(table)})
            INSERT INTO payments_posting (entry_id, account_id, amount_fen)
            SELECT entry_id, account_id, amount_fen FROM legs ORDER BY seq, leg
            """,  # noqa: S608
            params,
        )
    if shared is not None:
        shared.append(
            SharedMoves(
                accounts={pk: delta for pk, delta in change.items() if pk not in wallet_ids},
                pools={pk: total for pk, total in pool_principal.items() if total > 0},
            )
        )
        change = {pk: delta for pk, delta in change.items() if pk in wallet_ids}
    _balances_move(change)
    if shared is None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE payments_fundingpool SET principal_outstanding_fen = principal_outstanding_fen - (
                    SELECT CAST(SUM({principal}) AS BIGINT) FROM {table}
                    WHERE pool_id = payments_fundingpool.id)
                WHERE id IN (SELECT pool_id FROM {table} WHERE {principal} > 0)
                """,  # noqa: S608
                params,
            )
    return count


def _balances_move(change: dict[int, int]) -> None:
    """Move accounts' cached balances (locked by the caller) by the given amounts."""
    if not change:
        return
    # The accounts are named by id too, so that each is looked up rather than all scanned.
    named = ",".join(str(int(pk)) for pk in sorted(change))
    values_execute(
        "WITH v(id, delta) AS (VALUES %s) UPDATE payments_account SET balance_fen = balance_fen + v.delta "  # noqa: S608
        f"FROM v WHERE payments_account.id = v.id AND payments_account.id IN ({named})",
        sorted(change.items()),
    )


def shared_moves_apply(moves: Iterable[SharedMoves]) -> None:
    """Write what `collections_post_table(shared=…)` kept for last, as it would have: the pools
    locked in id order (none may fall below zero principal outstanding), then the accounts in id
    order, then their balances and the pools' figures moved. Call as the last writes of the
    transaction that posted the batches: the locks are held only from here to its commit."""
    accounts: dict[int, int] = defaultdict(int)
    pools: dict[int, int] = defaultdict(int)
    losses: dict[int, int] = defaultdict(int)
    for move in moves:
        for pk, delta in move.accounts.items():
            accounts[pk] += delta
        for pk, total in move.pools.items():
            pools[pk] += total
        for pk, total in move.losses.items():
            losses[pk] += total
    accounts = {pk: delta for pk, delta in accounts.items() if delta}
    pools = {pk: total for pk, total in pools.items() if total}
    losses = {pk: total for pk, total in losses.items() if total > 0}
    if not accounts and not pools and not losses:
        return
    # NO KEY UPDATE: what the balance UPDATE takes anyway, which other batches' foreign-key checks
    # on these accounts (KEY SHARE, in their commits) pass; FOR UPDATE would hold them up.
    for_update = ""
    if connection.features.has_select_for_update:
        for_update = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else " FOR UPDATE"
    with connection.cursor() as cursor:
        if pools or losses:
            named = ",".join(str(int(pk)) for pk in sorted({*pools, *losses}))
            cursor.execute(
                "SELECT id, code, principal_outstanding_fen FROM payments_fundingpool "  # noqa: S608
                f"WHERE id IN ({named}) ORDER BY id{for_update}"
            )
            for pk, code, outstanding in cursor.fetchall():
                if pools.get(pk, 0) > outstanding:
                    raise ApplicationError(f"collecting more principal than pool {code} has outstanding")
        if accounts:
            named = ",".join(str(int(pk)) for pk in sorted(accounts))
            cursor.execute(f"SELECT id FROM payments_account WHERE id IN ({named}) ORDER BY id{for_update}")  # noqa: S608
    _balances_move(accounts)
    if pools:
        values_execute(
            "WITH v(id, amount) AS (VALUES %s) UPDATE payments_fundingpool "
            "SET principal_outstanding_fen = principal_outstanding_fen - v.amount "
            "FROM v WHERE payments_fundingpool.id = v.id",
            sorted(pools.items()),
        )
    if losses:
        # Recoveries: the pool's losses fall by the principal it had back, never below zero.
        values_execute(
            "WITH v(id, amount) AS (VALUES %s) UPDATE payments_fundingpool "
            "SET losses_fen = losses_fen "
            "- (CASE WHEN v.amount < losses_fen THEN v.amount ELSE losses_fen END) "
            "FROM v WHERE payments_fundingpool.id = v.id",
            sorted(losses.items()),
        )


def _pool_principal(cursor, table: str, principal: str, params: dict) -> dict[int, int]:
    cursor.execute(
        f"SELECT pool_id, CAST(SUM({principal}) AS BIGINT) FROM {table} "  # noqa: S608
        "WHERE pool_id IS NOT NULL GROUP BY pool_id",
        params,
    )
    return {pool_id: int(total) for pool_id, total in cursor.fetchall() if total}
