"""Every movement of money. Each service is one transaction; each is idempotent by its key: the
same key again returns the first result and moves nothing, the same key with other content is a
ConflictError. Accounts are locked in one fixed order (by id) so two flows never deadlock."""

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from auditlog.context import disable_auditlog
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import BigIntegerField, Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _

from common.audit import updates_record
from common.business_date import business_date_today
from common.errors import ApplicationError, ConflictError
from common.money import format_yuan
from merchants.models import Merchant, PartnerPlatform, Settlement
from payments import ledger
from payments.bulk import BulkEntry
from payments.ledger import InsufficientFunds, LimitExceeded, request_digest
from payments.models import (
    PLATFORM_ACCOUNTS,
    POOL_ACCOUNT_ROLES,
    WALLET_NAME,
    Account,
    FundingPool,
    Hold,
    JournalEntry,
    Payout,
    Posting,
    reversal_note,
)

log = logging.getLogger(__name__)
Purpose = Account.Purpose
Kind = JournalEntry.Kind


@dataclass(frozen=True)
class EntryResult:
    entry_id: int | None
    amount_fen: int
    replayed: bool = False


Leg = tuple[Account, int]  # (account, signed amount: debit positive)
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,32}")


# --- accounts --------------------------------------------------------------------------


def platform_account(purpose: str) -> Account:
    """The platform's single account for a purpose, opened on first use."""
    type_, name = PLATFORM_ACCOUNTS[purpose]
    account, _created = Account.objects.get_or_create(
        code=f"platform:{purpose}", defaults={"name": name, "type": type_, "purpose": purpose}
    )
    return account


def wallet_open(*, merchant: Merchant) -> Account:
    """Each merchant has one wallet; opening it twice returns the same one."""
    account, _created = Account.objects.get_or_create(
        merchant=merchant,
        defaults={
            "code": f"wallet:{merchant.pk}",
            "name": f"{WALLET_NAME} · {merchant.shop_name}",
            "type": Account.Type.LIABILITY,
            "purpose": Purpose.WALLET,
        },
    )
    return account


# --- the core: one balanced entry --------------------------------------------------------


def _replay(entry: JournalEntry, digest: str) -> EntryResult:
    if entry.request_hash != digest:
        raise ConflictError(
            f"idempotency key {entry.idempotency_key!r} was used for a different request",
            {"fields": {"idempotency_key": ["already used with different content"]}},
        )
    if entry.kind in (Kind.DISBURSEMENT, Kind.COLLECTION):
        # Their first reply named what reached or left the wallet, not the sum of all four debits.
        wallet_legs = entry.postings.filter(account__purpose=Purpose.WALLET)
        moved = abs(sum(wallet_legs.values_list("amount_fen", flat=True)))
    else:
        moved = sum(p for p in entry.postings.filter(amount_fen__gt=0).values_list("amount_fen", flat=True))
    return EntryResult(entry_id=entry.pk, amount_fen=moved, replayed=True)


def _lock(accounts: Sequence[Account]) -> dict[int, Account]:
    """Lock the rows in id order: every flow takes locks in the same order, so none deadlocks."""
    ids = sorted({a.pk for a in accounts})
    locked = Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {a.pk: a for a in locked}


class _KeyTaken(Exception):
    """The entry's key was taken by a request that committed while this one ran."""


def _write(
    *,
    kind: str,
    legs: Sequence[Leg],
    locked: dict[int, Account] | dict[int, ledger.LockedAccount],
    key: str | None,
    digest: str,
    reference: str,
    reverses: JournalEntry | None = None,
    business_on: dt.date | None = None,
) -> int:
    """Write an entry whose accounts are already locked, refusing to overdraw a wallet; returns
    its id. The rules and the rows are the ledger's (payments/ledger.py), shared with bulk posting.
    `business_on`: the entry's business date, as the caller knows it; None: the current one."""
    entry = ledger.NewEntry(
        idempotency_key=key,
        request_hash=digest,
        reference=reference,
        legs=[(a.pk, amount) for a, amount in legs],
        reverses_id=reverses.pk if reverses is not None else None,
    )
    ledger.legs_check(entry.legs)
    change = ledger.balance_changes([entry], locked)
    try:
        ledger.overdraft_check(change, locked)
    except (InsufficientFunds, LimitExceeded):
        # A resend of a request that already spent the money gets its first result, not a refusal.
        if key and JournalEntry.objects.filter(idempotency_key=key).exists():
            raise _KeyTaken from None
        raise
    (entry_id,) = ledger.rows_insert(kind=kind, entries=[entry], business_on=business_on, locked=locked)
    if entry_id is None:
        raise _KeyTaken
    for pk, delta in change.items():
        locked[pk].balance_fen += delta
    return entry_id


def _idempotent(key: str | None, digest: str, work: Callable[[], EntryResult]) -> EntryResult:
    """Run `work` once per key. The key's lookup is folded into the entry's insert (ON CONFLICT):
    a request whose key is already taken writes nothing and returns the first result, so callers
    never see an "in progress" reply. A deadlock or serialization failure is retried when this is
    the outermost transaction; inside a caller's transaction it is the caller's."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                return work()
        except (_KeyTaken, IntegrityError):
            existing = JournalEntry.objects.filter(idempotency_key=key).first() if key else None
            if existing is None:
                raise
            return _replay(existing, digest)
        except OperationalError as exc:
            # A serialization failure or deadlock the database resolved by aborting us: retry,
            # which is only possible when no outer transaction was aborted with us.
            retryable = getattr(exc.__cause__, "pgcode", None) in ("40001", "40P01")
            if attempt == 2 or not retryable or connection.in_atomic_block:
                raise
            log.warning("retrying after %s", exc.__cause__.pgcode)
    raise AssertionError("unreachable")


def _seen_while_locked(key: str | None, digest: str) -> EntryResult | None:
    """After waiting for locks, a request with the same key may have committed meanwhile (the
    flows that also move pool figures check before writing anything)."""
    if not key:
        return None
    existing = JournalEntry.objects.filter(idempotency_key=key).first()
    return _replay(existing, digest) if existing is not None else None


def entry_post(
    *, kind: str, legs: Sequence[Leg], idempotency_key: str | None, reference: str = ""
) -> EntryResult:
    """Post one balanced entry of any shape: the building block of every named movement."""
    digest = request_digest(kind=kind, legs=[(a.pk, amt) for a, amt in legs], reference=reference)

    def work() -> EntryResult:
        # Two round trips inside the transaction: lock the accounts, then write everything.
        entry_id = _write(
            kind=kind,
            legs=legs,
            locked=ledger.accounts_lock(a.pk for a, _ in legs),
            key=idempotency_key,
            digest=digest,
            reference=reference,
        )
        return EntryResult(entry_id=entry_id, amount_fen=sum(amt for _, amt in legs if amt > 0))

    return _idempotent(idempotency_key, digest, work)


def _positive(amount_fen: int) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ApplicationError(
            "amount must be a positive number of fen", {"fields": {"amount": ["must be positive"]}}
        )


def transfer(
    *,
    debit: Account,
    credit: Account,
    amount_fen: int,
    idempotency_key: str | None,
    reference: str = "",
    kind: str = Kind.TRANSFER,
) -> EntryResult:
    """Move an amount: debit one account, credit the other."""
    _positive(amount_fen)
    return entry_post(
        kind=kind,
        legs=[(debit, amount_fen), (credit, -amount_fen)],
        idempotency_key=idempotency_key,
        reference=reference,
    )


def wallet_to_wallet(
    *,
    source: Account,
    target: Account,
    amount_fen: int,
    idempotency_key: str | None,
    reference: str = "",
) -> EntryResult:
    """Money from one merchant's wallet to another's (a wallet is a liability: debit lowers it)."""
    return transfer(
        debit=source,
        credit=target,
        amount_fen=amount_fen,
        idempotency_key=idempotency_key,
        reference=reference,
    )


# --- named movements --------------------------------------------------------------------


def settlement_clearing_account(*, partner: PartnerPlatform) -> Account:
    """Each partner's settlements clear through its own account, opened on first use: what one
    partner sends can bring only its own account to a limit, never another partner's."""
    account, _created = Account.objects.get_or_create(
        code=f"clearing:partner:{partner.pk}",
        defaults={
            "name": f"{PLATFORM_ACCOUNTS[Purpose.SETTLEMENT_CLEARING][1]} · {partner.code}",
            "type": Account.Type.ASSET,
            "purpose": Purpose.SETTLEMENT_CLEARING,
        },
    )
    return account


def settlement_caps_fen(partner: PartnerPlatform) -> dict[str, int]:
    """The partner's caps on settlements: per business date and in total (settings
    SETTLEMENT_CAPS_FEN, overridden per partner code by SETTLEMENT_CAPS_FEN_BY_PARTNER)."""
    caps = dict(settings.SETTLEMENT_CAPS_FEN)
    caps.update(getattr(settings, "SETTLEMENT_CAPS_FEN_BY_PARTNER", {}).get(partner.code, {}))
    return caps


def settled_on_day_fen(*, clearing_id: int, on: dt.date) -> int:
    """What a partner's settlements credited on one business date (its clearing account's debits)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(p.amount_fen), 0) FROM payments_journalentry e "
            "JOIN payments_posting p ON p.entry_id = e.id "
            "WHERE e.business_on = %s AND e.kind = %s AND p.account_id = %s AND p.amount_fen > 0",
            [connection.ops.adapt_datefield_value(on), Kind.SETTLEMENT, clearing_id],
        )
        return int(cursor.fetchone()[0])


def settlement_caps_check(
    *, partner: PartnerPlatform, clearing_balance_fen: int, clearing_id: int, amount_fen: int, on: dt.date
) -> None:
    """Refuse settlements that would take a partner past its daily or total cap, naming the cap.
    The caller holds the clearing account's row lock, so two requests cannot both fit."""
    caps = settlement_caps_fen(partner)
    today = settled_on_day_fen(clearing_id=clearing_id, on=on)
    for name, before, cap in (
        ("daily", today, caps["daily"]),
        ("total", clearing_balance_fen, caps["total"]),
    ):
        if before + amount_fen > cap:
            raise LimitExceeded(
                f"partner {partner.code}'s settlements would reach {format_yuan(before + amount_fen)} "
                f"yuan, above its {name} cap of {format_yuan(cap)} yuan; nothing was credited",
                {"fields": {"amount": [f"above the partner's {name} settlement cap"]}},
            )


def _settlement_seen(key: str, wallet: Account, amount_fen: int) -> EntryResult | None:
    """The entry a settlement's key already made. Compared by what reached the wallet, not by
    the whole request: settlements credited before clearing was per partner went through the
    shared account, and their resends are still replays."""
    existing = JournalEntry.objects.filter(idempotency_key=key).first() if key else None
    if existing is None:
        return None
    credited = existing.postings.filter(account=wallet).values_list("amount_fen", flat=True)
    if existing.kind != Kind.SETTLEMENT or list(credited) != [-amount_fen]:
        raise ConflictError(
            f"idempotency key {key!r} was used for a different request",
            {"fields": {"idempotency_key": ["already used with different content"]}},
        )
    return EntryResult(entry_id=existing.pk, amount_fen=amount_fen, replayed=True)


def settlement_credit(
    *, wallet: Account, amount_fen: int, idempotency_key: str, reference: str = ""
) -> EntryResult:
    """A partner platform's settlement arrives in a merchant's wallet, through the partner's own
    clearing account and within the partner's caps; a resend returns the first result even when
    the partner has reached a cap since."""
    _positive(amount_fen)
    partner = Merchant.objects.select_related("partner").get(pk=wallet.merchant_id).partner
    clearing = settlement_clearing_account(partner=partner)
    legs = [(clearing, amount_fen), (wallet, -amount_fen)]
    digest = request_digest(kind=Kind.SETTLEMENT, legs=[(a.pk, amt) for a, amt in legs], reference=reference)

    def work() -> EntryResult:
        locked = ledger.accounts_lock([clearing.pk, wallet.pk])
        if (seen := _settlement_seen(idempotency_key, wallet, amount_fen)) is not None:
            return seen
        on = ledger.undated_entry_day()
        settlement_caps_check(
            partner=partner,
            clearing_balance_fen=locked[clearing.pk].balance_fen,
            clearing_id=clearing.pk,
            amount_fen=amount_fen,
            on=on,
        )
        entry_id = _write(
            kind=Kind.SETTLEMENT,
            legs=legs,
            locked=locked,
            key=idempotency_key,
            digest=digest,
            reference=reference,
        )
        return EntryResult(entry_id=entry_id, amount_fen=amount_fen)

    return _idempotent(idempotency_key, digest, work)


def settlement_credit_recorded(*, settlement: Settlement) -> EntryResult:
    """Credit a recorded settlement into its merchant's wallet, once per settlement whatever
    key the partner resends it with."""
    return settlement_credit(
        wallet=wallet_open(merchant=settlement.merchant),
        amount_fen=settlement.amount_fen,
        idempotency_key=f"settlement:{settlement.pk}",
        reference=f"settlement {settlement.external_id}",
    )


def funding_pool_create(*, code: str, name: str, max_leverage: int = 2) -> FundingPool:
    """A lending pool with its own funds, capital and borrowings accounts; its code is unique."""
    problems = {}
    if not isinstance(code, str) or not _SLUG.fullmatch(code or ""):
        problems["code"] = ["letters, digits, - and _ (at most 32)"]
    elif FundingPool.objects.filter(code=code).exists():
        problems["code"] = ["a pool with this code exists"]
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems["name"] = ["required, at most 100 characters"]
    if not isinstance(max_leverage, int) or isinstance(max_leverage, bool) or not 0 <= max_leverage <= 10:
        problems["max_leverage"] = ["a whole number from 0 to 10"]
    if problems:
        message = "; ".join(f"{field}: {items[0]}" for field, items in problems.items())
        raise ApplicationError(message, {"fields": problems})
    with transaction.atomic():
        accounts = {
            role: Account.objects.create(
                code=f"pool:{code}:{role}", name=f"{name} · {label}", type=type_, purpose=purpose
            )
            for role, (type_, purpose, label) in POOL_ACCOUNT_ROLES.items()
        }
        return FundingPool.objects.create(
            code=code,
            name=name,
            max_leverage=max_leverage,
            funds_account=accounts["funds"],
            capital_account=accounts["capital"],
            borrowings_account=accounts["borrowings"],
        )


def _funding_pool_raise(
    *, pool: FundingPool, amount_fen: int, idempotency_key: str, source: str, check=None
) -> EntryResult:
    """Money into the pool's funds from its capital or its borrowings account, with the pool row
    updated in the same transaction; `check(pool)` may refuse before anything is written."""
    _positive(amount_fen)
    digest = request_digest(op=source, pool=pool.pk, amount=amount_fen)
    source_account = pool.capital_account if source == "capital" else pool.borrowings_account
    column = f"{source}_fen"

    def work() -> EntryResult:
        current = FundingPool.objects.select_for_update().get(pk=pool.pk)
        locked = _lock([pool.funds_account, source_account])
        if (seen := _seen_while_locked(idempotency_key, digest)) is not None:
            return seen
        if check is not None:
            check(current)
        entry = _write(
            kind=Kind.FUNDING,
            legs=[(pool.funds_account, amount_fen), (source_account, -amount_fen)],
            locked=locked,
            key=idempotency_key,
            digest=digest,
            reference=f"{source} into {pool.code}",
        )
        FundingPool.objects.filter(pk=pool.pk).update(**{column: F(column) + amount_fen})
        return EntryResult(entry, amount_fen)

    return _idempotent(idempotency_key, digest, work)


def funding_pool_add_capital(*, pool: FundingPool, amount_fen: int, idempotency_key: str) -> EntryResult:
    """Shareholders pay in capital: the pool can lend more, and borrow more."""
    return _funding_pool_raise(
        pool=pool, amount_fen=amount_fen, idempotency_key=idempotency_key, source="capital"
    )


def funding_pool_borrow(*, pool: FundingPool, amount_fen: int, idempotency_key: str) -> EntryResult:
    """Borrow from another institution: at most `max_leverage` × capital in all."""
    return _funding_pool_raise(
        pool=pool,
        amount_fen=amount_fen,
        idempotency_key=idempotency_key,
        source="borrowings",
        check=lambda current: funding_pool_borrow_check(pool=current, amount_fen=amount_fen),
    )


def funding_pool_borrow_check(*, pool: FundingPool, amount_fen: int) -> None:
    """Refuse borrowing that would take the pool past `max_leverage` × capital (the workbench
    asks before a request goes to a second officer; the borrowing asks again under the lock)."""
    limit_fen = pool.capital_fen * pool.max_leverage
    if pool.borrowings_fen + amount_fen > limit_fen:
        raise ApplicationError(
            _("borrowings would exceed %(leverage)s × capital (at most %(room)s fen more)")
            % {"leverage": pool.max_leverage, "room": limit_fen - pool.borrowings_fen},
            {"fields": {"amount": ["over the borrowing limit"]}},
        )


def disbursement_make(
    *,
    pool: FundingPool,
    wallet: Account,
    amount_fen: int,
    idempotency_key: str,
    reference: str = "",
) -> EntryResult:
    """Pay a loan into a wallet from a pool; refused whole if the pool lacks capacity."""
    _positive(amount_fen)
    digest = _disbursement_digest(pool, wallet, amount_fen, reference)
    receivable, client_funds = (
        platform_account(Purpose.LOANS_RECEIVABLE),
        platform_account(Purpose.CLIENT_FUNDS),
    )

    def work() -> EntryResult:
        current = FundingPool.objects.select_for_update().get(pk=pool.pk)
        locked = _lock([receivable, wallet, client_funds, pool.funds_account])
        if (seen := _seen_while_locked(idempotency_key, digest)) is not None:
            return seen
        if amount_fen > current.capacity_fen:
            raise ApplicationError(
                f"the funding pool {pool.code} has {current.capacity_fen} fen of capacity left; "
                f"{amount_fen} asked",
                {"fields": {"amount": ["exceeds the funding pool's capacity"]}},
            )
        legs = _disbursement_legs(receivable, wallet, client_funds, pool.funds_account, amount_fen)
        entry = _write(
            kind=Kind.DISBURSEMENT,
            legs=legs,
            locked=locked,
            key=idempotency_key,
            digest=digest,
            reference=reference,
        )
        FundingPool.objects.filter(pk=pool.pk).update(
            principal_outstanding_fen=F("principal_outstanding_fen") + amount_fen
        )
        return EntryResult(entry, amount_fen)

    return _idempotent(idempotency_key, digest, work)


def _disbursement_digest(pool: FundingPool, wallet: Account, amount_fen: int, reference: str) -> str:
    return request_digest(
        op="disburse", pool=pool.pk, wallet=wallet.pk, amount=amount_fen, reference=reference
    )


def _disbursement_legs(receivable, wallet, client_funds, funds, amount_fen: int) -> list:
    return [(receivable, amount_fen), (wallet, -amount_fen), (client_funds, amount_fen), (funds, -amount_fen)]


def disbursement_entry(
    *, pool: FundingPool, wallet: Account, amount_fen: int, idempotency_key: str, reference: str = ""
) -> BulkEntry:
    """The entry disbursement_make posts (legs, request hash), for the bulk path: the caller has
    checked the pool's capacity under its lock and moves the pool's figures (funding_pool_lend)."""
    _positive(amount_fen)
    legs = _disbursement_legs(
        platform_account(Purpose.LOANS_RECEIVABLE).pk,
        wallet.pk,
        platform_account(Purpose.CLIENT_FUNDS).pk,
        pool.funds_account_id,
        amount_fen,
    )
    return BulkEntry(
        idempotency_key=idempotency_key,
        reference=reference,
        legs=legs,
        request_hash=_disbursement_digest(pool, wallet, amount_fen, reference),
    )


def funding_pool_lend(*, pool: FundingPool, amounts_fen: Sequence[int]) -> None:
    """What disbursement_make does to the pool's figures for each amount in turn, in one UPDATE:
    the principal it has outstanding grows, with one audit row per amount as each disbursement's
    UPDATE leaves. The caller holds the pool's row lock."""
    if not amounts_fen:
        return
    with disable_auditlog():
        FundingPool.objects.filter(pk=pool.pk).update(
            principal_outstanding_fen=F("principal_outstanding_fen") + sum(amounts_fen)
        )
    before = FundingPool.objects.get(pk=pool.pk)
    before.principal_outstanding_fen -= sum(amounts_fen)
    pairs = []
    for amount in amounts_fen:
        after = copy.copy(before)
        after.principal_outstanding_fen += amount
        pairs.append((before, after))
        before = after
    updates_record(FundingPool, pairs, fields=["principal_outstanding_fen"])


def collection_entry(
    *, wallet: Account, account: Account, amount_fen: int, idempotency_key: str, reference: str = ""
) -> BulkEntry:
    """The entry collection_take posts when it takes the whole amount for one account that is not
    a loan's principal (no pool), for the bulk path: the caller has locked the wallet."""
    _positive(amount_fen)
    return BulkEntry(
        idempotency_key=idempotency_key,
        reference=reference,
        legs=[(wallet.pk, amount_fen), (account.pk, -amount_fen)],
        request_hash=_collection_digest(wallet, [(account, amount_fen)], False, None, reference),
    )


def _collection_digest(wallet, allocations, allow_partial, pool, reference) -> str:
    return request_digest(
        op="collect",
        wallet=wallet.pk,
        allocations=[(a.pk, amt) for a, amt in allocations],
        partial=allow_partial,
        pool=pool.pk if pool else None,
        reference=reference,
    )


def collection_take(
    *,
    wallet: Account,
    allocations: Sequence[tuple[Account, int]],
    idempotency_key: str,
    allow_partial: bool,
    pool: FundingPool | None = None,
    reference: str = "",
    business_on: dt.date | None = None,
) -> EntryResult:
    """Deduct from a wallet towards the given accounts, in the given order. With allow_partial
    it takes what the wallet holds (filling the allocations in order), else all or nothing.
    Money credited to loans receivable is principal coming home: it frees pool capacity.
    `business_on`: the entry's date as the caller knows it (None: the current business date)."""
    for account, amount in allocations:
        _positive(amount)
        if account.purpose == Purpose.LOANS_RECEIVABLE and pool is None:
            raise ApplicationError(
                "principal can only be collected for the funding pool that lent it",
                {"fields": {"pool": ["required when collecting principal"]}},
            )
    wanted = sum(amount for _, amount in allocations)
    digest = _collection_digest(wallet, allocations, allow_partial, pool, reference)
    client_funds = platform_account(Purpose.CLIENT_FUNDS)

    def work() -> EntryResult:
        current_pool = FundingPool.objects.select_for_update().get(pk=pool.pk) if pool is not None else None
        accounts = [wallet, client_funds, *(a for a, _ in allocations)]
        if pool is not None:
            accounts.append(pool.funds_account)
        locked = _lock(accounts)
        if (seen := _seen_while_locked(idempotency_key, digest)) is not None:
            return seen
        available = locked[wallet.pk].available_fen
        take = min(wanted, max(available, 0)) if allow_partial else wanted
        if take <= 0:
            raise InsufficientFunds("the wallet is empty", {"fields": {"amount": ["insufficient funds"]}})
        legs: list[Leg] = ledger.collection_legs(
            wallet=wallet,
            take=take,
            allocations=allocations,
            pool_funds=pool.funds_account if pool is not None else None,
            client_funds=client_funds,
        )
        principal = sum(-amt for account, amt in legs[1:] if account.purpose == Purpose.LOANS_RECEIVABLE)
        if current_pool is not None and principal > current_pool.principal_outstanding_fen:
            raise ApplicationError(
                f"collecting {principal} fen of principal but the pool {current_pool.code} has only "
                f"{current_pool.principal_outstanding_fen} outstanding",
                {"fields": {"allocations": ["more principal than is outstanding"]}},
            )
        entry = _write(
            kind=Kind.COLLECTION,
            legs=legs,
            locked=locked,
            key=idempotency_key,
            digest=digest,
            reference=reference,
            business_on=business_on,
        )
        if pool is not None and principal:
            FundingPool.objects.filter(pk=pool.pk).update(
                principal_outstanding_fen=F("principal_outstanding_fen") - principal
            )
        return EntryResult(entry, take)

    return _idempotent(idempotency_key, digest, work)


def write_off_post(
    *, pool: FundingPool, principal_fen: int, interest_fen: int, idempotency_key: str, reference: str = ""
) -> EntryResult:
    """A loan that will not be repaid leaves the receivables as an expense. Its principal is money
    the pool has lost: it stops counting as outstanding and starts counting as a loss, so the
    pool's capacity does not grow back."""
    if principal_fen < 0 or interest_fen < 0 or principal_fen + interest_fen <= 0:
        raise ApplicationError("nothing to write off", {"fields": {"amount": ["must be positive"]}})
    expense = platform_account(Purpose.WRITE_OFF_EXPENSE)
    receivable = platform_account(Purpose.LOANS_RECEIVABLE)
    interest_receivable = platform_account(Purpose.INTEREST_RECEIVABLE)
    legs: list[Leg] = [(expense, principal_fen + interest_fen)]
    if principal_fen:
        legs.append((receivable, -principal_fen))
    if interest_fen:
        legs.append((interest_receivable, -interest_fen))
    digest = request_digest(op="write_off", pool=pool.pk, principal=principal_fen, interest=interest_fen)

    def work() -> EntryResult:
        current = FundingPool.objects.select_for_update().get(pk=pool.pk)
        locked = _lock([a for a, _ in legs])
        if (seen := _seen_while_locked(idempotency_key, digest)) is not None:
            return seen
        if principal_fen > current.principal_outstanding_fen:
            raise ApplicationError("writing off more principal than the pool has outstanding")
        entry = _write(
            kind=Kind.WRITE_OFF,
            legs=legs,
            locked=locked,
            key=idempotency_key,
            digest=digest,
            reference=reference,
        )
        FundingPool.objects.filter(pk=pool.pk).update(
            principal_outstanding_fen=F("principal_outstanding_fen") - principal_fen,
            losses_fen=F("losses_fen") + principal_fen,
        )
        return EntryResult(entry, principal_fen + interest_fen)

    return _idempotent(idempotency_key, digest, work)


def recovery_collect(
    *,
    wallet: Account,
    pool: FundingPool,
    amount_fen: int,
    principal_left_fen: int,
    idempotency_key: str,
    reference: str = "",
    business_on: dt.date | None = None,
) -> EntryResult:
    """Money recovered from a written-off borrower's wallet: it reduces the write-off expense.
    Up to `principal_left_fen` (the loan's written-off principal not yet had back) it is the
    pool's lost principal returning, lending capacity again; beyond it, it is the interest written
    off, which never counted as capacity and must not shrink another loan's loss. Takes what the
    wallet holds."""
    with transaction.atomic():
        result = collection_take(
            wallet=wallet,
            allocations=[(platform_account(Purpose.WRITE_OFF_EXPENSE), amount_fen)],
            idempotency_key=idempotency_key,
            allow_partial=True,
            pool=pool,
            reference=reference,
            business_on=business_on,
        )
        if not result.replayed:
            current = FundingPool.objects.select_for_update().get(pk=pool.pk)
            FundingPool.objects.filter(pk=pool.pk).update(
                losses_fen=F("losses_fen") - min(result.amount_fen, principal_left_fen, current.losses_fen)
            )
    return result


def entry_reverse(*, entry: JournalEntry, idempotency_key: str, reason: str) -> EntryResult:
    """Undo an entry with its mirror image; the original stays. An entry is reversed at most once."""
    if entry.kind == Kind.REVERSAL:
        raise ApplicationError("a reversal cannot itself be reversed; post a new entry")
    postings = list(entry.postings.select_related("account"))
    legs = [(p.account, -p.amount_fen) for p in postings]
    digest = request_digest(op="reverse", entry=entry.pk)
    touched = {a.pk for a, _ in legs}
    pools = FundingPool.objects.filter(
        Q(funds_account__in=touched) | Q(capital_account__in=touched) | Q(borrowings_account__in=touched)
    ).order_by("pk")

    def work() -> EntryResult:
        current_pools = list(pools.select_for_update())  # pools before accounts, as everywhere
        locked = _lock([a for a, _ in legs])
        if (seen := _seen_while_locked(idempotency_key, digest)) is not None:
            return seen
        if JournalEntry.objects.filter(reverses=entry).exists():
            raise ConflictError(
                f"entry {entry.pk} is already reversed", {"fields": {"entry": ["already reversed"]}}
            )
        new = _write(
            kind=Kind.REVERSAL,
            legs=legs,
            locked=locked,
            key=idempotency_key,
            digest=digest,
            reference=reversal_note(entry.pk, reason)["text"][:200],
            reverses=entry,
        )
        for pool in current_pools:
            _pool_follows_reversal(pool, legs)
        return EntryResult(new, sum(a for _, a in legs if a > 0))

    return _idempotent(idempotency_key, digest, work)


def _pool_follows_reversal(pool: FundingPool, legs: Sequence[Leg]) -> None:
    """A reversal touching a pool's accounts moves its capital, borrowings or principal
    outstanding too (principal: loans receivable, when the pool's funds were in the entry);
    refused if the pool would break its own rules."""

    def change(account_id: int) -> int:  # on the account's normal side (all three are credit-normal)
        return -sum(amount for a, amount in legs if a.pk == account_id)

    capital = pool.capital_fen + change(pool.capital_account_id)
    borrowings = pool.borrowings_fen + change(pool.borrowings_account_id)
    principal = pool.principal_outstanding_fen
    if any(a.pk == pool.funds_account_id for a, _ in legs):
        principal += sum(amount for a, amount in legs if a.purpose == Purpose.LOANS_RECEIVABLE)
    if (
        min(capital, borrowings, principal) < 0
        or principal > capital + borrowings
        or borrowings > capital * pool.max_leverage
    ):
        raise ApplicationError(
            f"reversing this entry would leave the funding pool {pool.code} with capital {capital}, "
            f"borrowings {borrowings} and principal outstanding {principal} fen, against its limits",
            {"fields": {"entry": ["the funding pool's limits forbid reversing it"]}},
        )
    FundingPool.objects.filter(pk=pool.pk).update(
        capital_fen=capital, borrowings_fen=borrowings, principal_outstanding_fen=principal
    )


# --- holds ------------------------------------------------------------------------------


def hold_place(
    *,
    account: Account,
    amount_fen: int,
    idempotency_key: str,
    expires_at: dt.datetime,
    reference: str = "",
) -> Hold:
    """Reserve money on an account; it stays in the balance but cannot be spent elsewhere."""
    _positive(amount_fen)
    existing = Hold.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_hold(existing, account, amount_fen)
    try:
        with transaction.atomic():
            locked = _lock([account])[account.pk]
            # A request with this key that got the account first has committed (or failed) by now.
            if (existing := Hold.objects.filter(idempotency_key=idempotency_key).first()) is not None:
                return _same_hold(existing, account, amount_fen)
            if locked.purpose == Purpose.WALLET and locked.available_fen < amount_fen:
                raise InsufficientFunds(
                    f"insufficient funds to hold {amount_fen} fen: available {locked.available_fen}",
                    {"fields": {"amount": ["insufficient funds"]}},
                )
            hold = Hold.objects.create(
                account=account,
                amount_fen=amount_fen,
                idempotency_key=idempotency_key,
                expires_at=expires_at,
                reference=reference,
            )
            Account.objects.filter(pk=account.pk).update(held_fen=F("held_fen") + amount_fen)
            return hold
    except IntegrityError:
        existing = Hold.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _same_hold(existing, account, amount_fen)


def _same_hold(hold: Hold, account: Account, amount_fen: int) -> Hold:
    if hold.account_id != account.pk or hold.amount_fen != amount_fen:
        raise ConflictError(
            "idempotency key already used for a different hold",
            {"fields": {"idempotency_key": ["already used with different content"]}},
        )
    return hold


def _hold_close(hold_id: int, status: str, posted_fen: int = 0, entry: JournalEntry | None = None) -> Hold:
    """Close a pending hold exactly once (compare-and-set) and release what it reserved."""
    hold = Hold.objects.select_for_update().get(pk=hold_id)
    if hold.status != Hold.Status.PENDING:
        raise ConflictError(
            f"hold {hold.pk} is already {hold.status}",
            {"fields": {"hold": [f"already {hold.status}"]}},
        )
    Hold.objects.filter(pk=hold.pk, status=Hold.Status.PENDING).update(
        status=status, posted_fen=posted_fen, entry=entry, closed_at=timezone.now()
    )
    Account.objects.filter(pk=hold.account_id).update(held_fen=F("held_fen") - hold.amount_fen)
    hold.refresh_from_db()
    return hold


def hold_post_key(hold_id: int) -> str:
    """A hold is posted at most once, whichever path posts it (one payout or a batch)."""
    return f"hold:{hold_id}:post"


def hold_post_digest(hold_id: int, amount_fen: int) -> str:
    return request_digest(op="hold_post", hold=hold_id, amount=amount_fen)


def hold_post(
    *,
    hold: Hold,
    credit: Account,
    amount_fen: int | None = None,
    kind: str = Kind.TRANSFER,
    reference: str = "",
    allow_expired: bool = False,
) -> Hold:
    """Turn a hold into a movement of up to its amount; the rest is released. Once only. An
    expired hold cannot be posted, unless the money already left (a payout the channel paid)."""
    amount = hold.amount_fen if amount_fen is None else amount_fen
    _positive(amount)
    if amount > hold.amount_fen:
        raise ApplicationError(
            "cannot post more than was held", {"fields": {"amount": ["more than the hold"]}}
        )
    with transaction.atomic():
        current = Hold.objects.select_for_update().select_related("account").get(pk=hold.pk)
        if (
            current.status == Hold.Status.PENDING
            and current.expires_at <= timezone.now()
            and not allow_expired
        ):
            raise ApplicationError(
                f"hold {hold.pk} expired at {timezone.localtime(current.expires_at):%Y-%m-%d %H:%M}",
                {"fields": {"hold": ["expired"]}},
            )
        locked = _lock([current.account, credit])
        if current.status != Hold.Status.PENDING:
            raise ConflictError(
                f"hold {hold.pk} is already {current.status}",
                {"fields": {"hold": [f"already {current.status}"]}},
            )
        # Release first so the wallet check sees the held money as spendable by this posting.
        Account.objects.filter(pk=current.account_id).update(held_fen=F("held_fen") - current.amount_fen)
        locked[current.account_id].held_fen -= current.amount_fen
        try:
            entry = _write(
                kind=kind,
                legs=[(current.account, amount), (credit, -amount)],
                locked=locked,
                key=hold_post_key(hold.pk),
                digest=hold_post_digest(hold.pk, amount),
                reference=reference or current.reference,
            )
        except _KeyTaken:
            raise ConflictError(
                f"hold {hold.pk} was already posted", {"fields": {"hold": ["already posted"]}}
            ) from None
        Hold.objects.filter(pk=hold.pk, status=Hold.Status.PENDING).update(
            status=Hold.Status.POSTED, posted_fen=amount, entry_id=entry, closed_at=timezone.now()
        )
    hold.refresh_from_db()
    return hold


def hold_void(*, hold: Hold) -> Hold:
    """Release a hold without moving money. Once only; voiding a voided hold is a no-op."""
    with transaction.atomic():
        current = Hold.objects.select_for_update().get(pk=hold.pk)
        if current.status == Hold.Status.VOIDED:
            return current
        _lock([current.account])
        return _hold_close(hold.pk, Hold.Status.VOIDED)


def holds_expire(*, now: dt.datetime | None = None) -> int:
    """Void every pending hold past its expiry; returns how many. A hold behind a payout the
    channel has not answered yet is left alone: the bank card may already be paid."""
    now = now or timezone.now()
    count = 0
    expired = Hold.objects.filter(status=Hold.Status.PENDING, expires_at__lte=now).exclude(
        payout__status__in=[Payout.Status.PENDING, Payout.Status.SUBMITTED]
    )
    for hold in expired.only("pk"):
        if hold_void(hold=hold).status == Hold.Status.VOIDED:
            count += 1
    return count


# --- withdrawals through the payment channel --------------------------------------------------


def withdrawal_request(
    *,
    wallet: Account,
    amount_fen: int,
    idempotency_key: str,
    is_interactive: bool = False,
    on: dt.date | None = None,
) -> Payout:
    """A merchant withdraws to its bank card: the money is held now and leaves when the channel
    confirms; if the channel fails, the hold is voided and nothing has moved. An interactive
    withdrawal (a merchant at the screen) goes to the channel alone and at once; the rest wait
    for the next batch file (payouts_settle, every few seconds). `on` is the business date of
    the request (read by the caller; the current business date when not given)."""
    from payments import tasks

    on = on or business_date_today()

    _positive(amount_fen)
    existing = Payout.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_payout(existing, wallet, amount_fen)
    card = wallet.merchant.owner.bank_card_masked if wallet.merchant_id else ""
    with transaction.atomic():
        _lock([wallet])
        # A request with this key that got the wallet first has committed (or failed) by now.
        existing = Payout.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _same_payout(existing, wallet, amount_fen)
        hold = hold_place(
            account=wallet,
            amount_fen=amount_fen,
            idempotency_key=f"payout:{idempotency_key}",
            expires_at=timezone.now() + dt.timedelta(days=3),
            reference="withdrawal",
        )
        payout = Payout.objects.create(
            account=wallet,
            amount_fen=amount_fen,
            bank_card_masked=card,
            hold=hold,
            idempotency_key=idempotency_key,
            requested_on=on,
        )
        if is_interactive:
            # Robust: a broker that does not answer after the commit is logged, not the merchant's
            # error; the payout waits as pending, which the next batch (payouts_settle) claims.
            transaction.on_commit(lambda: tasks.payout_submit.delay(payout.pk), robust=True)
    return payout


@dataclass(frozen=True)
class WithdrawalRequest:
    wallet: Account
    amount_fen: int
    idempotency_key: str
    on: dt.date | None = None  # the business date of the request; the current one when not given


def withdrawals_request(*, requests: Sequence[WithdrawalRequest]) -> list[Payout]:
    """Many batch withdrawals (not interactive) at once, one transaction: the same holds, payouts
    and audit rows as withdrawal_request called for each in turn, with a handful of statements in
    all. Each wallet at most once. A key already used returns its payout (a ConflictError if with
    other content); a wallet short of its amount refuses the whole call (InsufficientFunds naming
    the wallet) and nothing is written."""
    if len({r.wallet.pk for r in requests}) != len(requests):
        raise ApplicationError(
            "each wallet at most once in a batch of withdrawals",
            {"fields": {"requests": ["a wallet appears twice"]}},
        )
    for request in requests:
        _positive(request.amount_fen)
    if not requests:
        return []
    keys = [r.idempotency_key for r in requests]
    today = business_date_today() if any(r.on is None for r in requests) else None
    with transaction.atomic():
        locked = _lock([r.wallet for r in requests])
        existing = {p.idempotency_key: p for p in Payout.objects.filter(idempotency_key__in=keys)}
        holds_taken = set(
            Hold.objects.filter(idempotency_key__in=[f"payout:{k}" for k in keys]).values_list(
                "idempotency_key", flat=True
            )
        )
        new = []
        for request in requests:
            if request.idempotency_key in existing:
                _same_payout(existing[request.idempotency_key], request.wallet, request.amount_fen)
            elif f"payout:{request.idempotency_key}" in holds_taken:
                # A hold without its payout (not written by these services): the one-at-a-time path.
                existing[request.idempotency_key] = withdrawal_request(
                    wallet=request.wallet,
                    amount_fen=request.amount_fen,
                    on=request.on or today,
                    idempotency_key=request.idempotency_key,
                )
            else:
                wallet = locked[request.wallet.pk]
                if wallet.purpose == Purpose.WALLET and wallet.available_fen < request.amount_fen:
                    raise InsufficientFunds(
                        f"insufficient funds to hold {request.amount_fen} fen on wallet {wallet.pk}: "
                        f"available {wallet.available_fen}",
                        {"fields": {"amount": [f"insufficient funds in wallet {wallet.pk}"]}},
                    )
                new.append(request)
        if new:
            cards = {
                a.pk: _card(a)
                for a in Account.objects.filter(pk__in=[r.wallet.pk for r in new]).select_related(
                    "merchant__owner"
                )
            }
            expires_at = timezone.now() + dt.timedelta(days=3)
            holds = Hold.objects.bulk_create(
                [
                    Hold(
                        account=r.wallet,
                        amount_fen=r.amount_fen,
                        idempotency_key=f"payout:{r.idempotency_key}",
                        expires_at=expires_at,
                        reference="withdrawal",
                    )
                    for r in new
                ]
            )
            Account.objects.filter(pk__in=[r.wallet.pk for r in new]).update(
                held_fen=F("held_fen")
                + Case(
                    *(When(pk=r.wallet.pk, then=r.amount_fen) for r in new), output_field=BigIntegerField()
                )
            )
            payouts = Payout.objects.bulk_create(
                [
                    Payout(
                        account=r.wallet,
                        amount_fen=r.amount_fen,
                        bank_card_masked=cards[r.wallet.pk],
                        hold=hold,
                        idempotency_key=r.idempotency_key,
                        requested_on=r.on or today,
                    )
                    for r, hold in zip(new, holds, strict=True)
                ]
            )
            existing.update({p.idempotency_key: p for p in payouts})
    return [existing[k] for k in keys]


def _card(wallet: Account) -> str:
    return wallet.merchant.owner.bank_card_masked if wallet.merchant_id else ""


def _same_payout(payout: Payout, wallet: Account, amount_fen: int) -> Payout:
    if payout.account_id != wallet.pk or payout.amount_fen != amount_fen:
        raise ConflictError(
            _("idempotency key already used for a different withdrawal"),
            {"fields": {"idempotency_key": ["already used with different content"]}},
        )
    return payout


def payout_confirm(*, payout: Payout, channel_reference: str) -> Payout:
    """The channel paid the bank card: the held money leaves the wallet (into channel suspense,
    cleared against client funds when the channel settles). Confirming twice changes nothing."""
    with transaction.atomic():
        current = Payout.objects.select_for_update().get(pk=payout.pk)
        if current.status == Payout.Status.CONFIRMED:
            return current
        if current.status == Payout.Status.FAILED:
            raise ConflictError(
                f"payout {payout.pk} already failed", {"fields": {"payout": ["already failed"]}}
            )
        hold_post(
            hold=current.hold,
            credit=platform_account(Purpose.CHANNEL_SUSPENSE),
            kind=Kind.WITHDRAWAL,
            reference=f"withdrawal {current.pk} to {current.bank_card_masked}",
            allow_expired=True,
        )
        Payout.objects.filter(pk=current.pk).update(
            status=Payout.Status.CONFIRMED, channel_reference=channel_reference
        )
    payout.refresh_from_db()
    return payout


def payout_fail(*, payout: Payout, reason: str) -> Payout:
    """The channel refused the payout for good: release the hold; no money has moved."""
    with transaction.atomic():
        current = Payout.objects.select_for_update().get(pk=payout.pk)
        if current.status == Payout.Status.FAILED:
            return current
        if current.status == Payout.Status.CONFIRMED:
            raise ConflictError(
                f"payout {payout.pk} was confirmed", {"fields": {"payout": ["already confirmed"]}}
            )
        hold_void(hold=current.hold)
        Payout.objects.filter(pk=current.pk).update(status=Payout.Status.FAILED, failure_reason=reason[:200])
    payout.refresh_from_db()
    return payout


def channel_settle(*, on: dt.date) -> EntryResult | None:
    """The channel's daily settlement: what left wallets for bank cards leaves client funds, in
    one aggregated entry. Keyed by the last suspense posting, so a rerun settles nothing twice."""
    suspense = platform_account(Purpose.CHANNEL_SUSPENSE)
    client_funds = platform_account(Purpose.CLIENT_FUNDS)
    with transaction.atomic():
        # Balance and last posting read under the account lock, so no confirmation slips between.
        locked = _lock([suspense, client_funds])
        balance = locked[suspense.pk].balance_fen
        if balance <= 0:
            return None
        last_posting = (
            Posting.objects.filter(account=suspense).order_by("-pk").values_list("pk", flat=True).first()
        )
        return transfer(
            debit=suspense,
            credit=client_funds,
            amount_fen=balance,
            idempotency_key=f"channel-settle:{last_posting}",
            reference=f"channel settlement {on}",
            kind=Kind.PAYOUT_CONFIRMED,
        )
