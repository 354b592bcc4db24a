"""Many balanced entries at once: the set-based path for work that runs by itself (a day's
settlements, close of business). The same rules as one entry at a time — each entry balances,
each key posts once, wallets never go negative, accounts are locked in id order — with a
handful of statements per batch instead of several per entry."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.sql import values_execute
from payments.models import Account, JournalEntry
from payments.services import InsufficientFunds, request_digest

BATCH = 2000


@dataclass(frozen=True)
class BulkEntry:
    idempotency_key: str
    reference: str
    legs: Sequence[tuple[int, int]]  # (account id, signed amount: debit positive)


def entries_post_bulk(*, kind: str, entries: Iterable[BulkEntry], business_on=None) -> int:
    """Post every entry whose key is new; returns how many were posted. All or nothing."""
    on = business_on or business_date_today()
    todo = list(entries)
    for entry in todo:
        if len(entry.legs) < 2 or sum(a for _, a in entry.legs) != 0 or any(a == 0 for _, a in entry.legs):
            raise ApplicationError(f"entry {entry.idempotency_key} does not balance")
    posted = 0
    with transaction.atomic():
        for start in range(0, len(todo), BATCH):
            posted += _post_batch(kind, todo[start : start + BATCH], on)
    return posted


def _post_batch(kind: str, batch: list[BulkEntry], on) -> int:
    """One batch: entries, postings and balances by multi-row statements, no model instances."""
    keys = [e.idempotency_key for e in batch]
    seen = set(
        JournalEntry.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    fresh = [e for e in batch if e.idempotency_key not in seen]
    if not fresh:
        return 0
    account_ids = sorted({account_id for e in fresh for account_id, _ in e.legs})
    debit_normal = (Account.Type.ASSET, Account.Type.EXPENSE)
    locked = {
        pk: (1 if type_ in debit_normal else -1, purpose, balance, held, name)
        for pk, type_, purpose, balance, held, name in (
            Account.objects.select_for_update()
            .filter(pk__in=account_ids)
            .order_by("pk")
            .values_list("pk", "type", "purpose", "balance_fen", "held_fen", "name")
        )
    }
    change: dict[int, int] = defaultdict(int)
    for entry in fresh:
        for account_id, amount in entry.legs:
            change[account_id] += amount * locked[account_id][0]
    for account_id, delta in change.items():
        _, purpose, balance, held, name = locked[account_id]
        if purpose == Account.Purpose.WALLET and balance + delta < held:
            raise InsufficientFunds(f"the batch would overdraw {name}")
    ops = connection.ops
    now, day = ops.adapt_datetimefield_value(timezone.now()), ops.adapt_datefield_value(on)
    ids = values_execute(
        "INSERT INTO payments_journalentry "
        "(kind, idempotency_key, reference, business_on, request_hash, created_at) VALUES %s RETURNING id",
        [
            (
                kind,
                e.idempotency_key,
                e.reference,
                day,
                request_digest(kind=kind, legs=[list(leg) for leg in e.legs], reference=e.reference),
                now,
            )
            for e in fresh
        ],
        page_size=BATCH,
        fetch=True,
    )
    values_execute(
        "INSERT INTO payments_posting (entry_id, account_id, amount_fen) VALUES %s",
        [
            (entry_id, account_id, amount)
            for (entry_id,), entry in zip(ids, fresh, strict=True)
            for account_id, amount in entry.legs
        ],
        page_size=BATCH,
    )
    values_execute(
        "WITH v(id, delta) AS (VALUES %s) UPDATE payments_account "
        "SET balance_fen = balance_fen + v.delta FROM v WHERE payments_account.id = v.id",
        sorted((pk, delta) for pk, delta in change.items() if delta),
        page_size=BATCH,
    )
    return len(fresh)


def wallets_open_all() -> int:
    """Open a wallet for every merchant that has none (set-based); returns how many."""
    from merchants.models import Merchant

    missing = Merchant.objects.filter(wallet__isnull=True).only("pk", "shop_name")
    created = Account.objects.bulk_create(
        [
            Account(
                code=f"wallet:{m.pk}",
                name=f"Wallet 钱包 · {m.shop_name}",
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
    once each (the key is the settlement's identity, as for one-at-a-time crediting)."""
    from merchants.models import Settlement
    from payments.services import platform_account

    wallets_open_all()
    clearing = platform_account(Account.Purpose.SETTLEMENT_CLEARING).pk
    wallet_of = dict(Account.objects.filter(purpose=Account.Purpose.WALLET).values_list("merchant_id", "pk"))
    posted = 0
    days = (
        Settlement.objects.filter(settled_on__range=(first_on, last_on))
        .values_list("settled_on", flat=True)
        .distinct()
        .order_by("settled_on")
    )
    for day in days:
        rows = Settlement.objects.filter(settled_on=day).values_list(
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
        posted += entries_post_bulk(kind=JournalEntry.Kind.SETTLEMENT, entries=entries, business_on=day)
    return posted


@dataclass(frozen=True)
class BulkCollection:
    idempotency_key: str
    reference: str
    wallet_id: int
    allocations: Sequence[tuple[int, int]]  # (account id, fen), credited in this order
    pool_id: int | None = None


def collections_post_bulk(*, collections: Iterable[BulkCollection], business_on=None) -> int:
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
        legs = [(c.wallet_id, take), *((account_id, -amount) for account_id, amount in c.allocations)]
        if c.pool_id is not None:
            legs += [(pools[c.pool_id].funds_account_id, take), (client_funds, -take)]
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
