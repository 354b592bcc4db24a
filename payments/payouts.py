"""Payouts in batches: the steady stream of withdrawals leaves through the channel's batch files,
many payouts per round trip, and is settled set-based (their entries, hold releases and statuses
in a handful of statements), instead of one task, one round trip and a dozen statements each.

A worker claims waiting payouts (`payouts_claim`): on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
two workers claiming at once take disjoint batches; the claim is a compare-and-set on the status,
so on SQLite too a payout is claimed by one worker at a time. On PostgreSQL the claimer also holds
a session advisory lock on each payout it claimed until it has settled it (`payouts_release`), so
a claim dies with its process: a worker killed with `kill -9` loses its session and its locks,
and the next worker takes the batch over at once, while a live claimer's payouts are never taken.
On SQLite a claim is a lease: if the worker dies holding it, the payouts become claimable again
after PAYMENT_CHANNEL["CLAIM_SECONDS"]. Either way they are then sent again, which pays nothing
twice because the channel answers each payout id the same every time (payments/channel.py), and
settling is a compare-and-set too: a payout already
settled is skipped. A merchant's own withdrawal can still go alone and at once (payout_submit on
the interactive queue); both paths post the hold under the same key, so a hold is posted once."""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from common.sql import values_execute
from payments import bulk, channel, ledger
from payments.channel import ChannelReply, PayoutLine
from payments.models import Hold, JournalEntry, Payout
from payments.services import Purpose, hold_post_digest, hold_post_key, platform_account

log = logging.getLogger(__name__)
Status = Payout.Status


@dataclass(frozen=True)
class Settled:
    confirmed: int = 0
    failed: int = 0
    skipped: int = 0


# The advisory lock of a claimed payout: (CLAIM_LOCK_SPACE, id folded into int4).
CLAIM_LOCK_SPACE = 0x58445059  # "XDPY"
_INT4 = 2147483647


def _claim_lock_key(payout_id: int) -> int:
    return payout_id % _INT4


def payouts_claim(
    *, limit: int, payout_ids: Sequence[int] | None = None, is_forced: bool = False
) -> list[PayoutLine]:
    """Claim up to `limit` payouts for the channel: waiting ones, or ones whose claimer died. With
    `payout_ids` only those; `is_forced` claims them even while claimed (the task that holds them,
    retrying). Each claim counts as an attempt. On PostgreSQL the claimer holds each claimed
    payout's advisory lock until `payouts_release`; a payout whose lock another session holds is
    not claimed (its claimer lives), one whose lock nobody holds is (its claimer died)."""
    now = timezone.now()
    lapsed = now - dt.timedelta(seconds=settings.PAYMENT_CHANNEL["CLAIM_SECONDS"])
    adapt = connection.ops.adapt_datetimefield_value
    is_postgres = connection.vendor == "postgresql"
    only, only_params = "", []
    if payout_ids is not None:
        if not payout_ids:
            return []
        only, only_params = f" AND {{t}}.id IN ({','.join(['%s'] * len(payout_ids))})", list(payout_ids)
    if is_postgres:
        # Waiting, or claimed and its lock free (taken here). The CASE keeps the lock from being
        # tried on rows that are not claimed ones (few: the batches in flight); a waiting row's
        # lock is taken once it is claimed (RETURNING, before the claim commits), so a scan never
        # takes the lock of a row it may not keep, which would hide that row from other workers.
        pick = (
            f"({{t}}.status = 'pending' OR CASE WHEN {{t}}.status = 'submitted'{only} THEN "
            f"pg_try_advisory_lock({CLAIM_LOCK_SPACE}, ({{t}}.id %% {_INT4})::int4) ELSE false END){only}"
        )
        pick_params = [*only_params, *only_params]
        # The row is locked by the pick (FOR UPDATE): the update needs only the status again.
        still, still_params = "{t}.status IN ('pending', 'submitted')", []
        returning = f", pg_try_advisory_lock({CLAIM_LOCK_SPACE}, (payments_payout.id %% {_INT4})::int4)"
    else:
        if is_forced:
            claimable, claimable_params = "{t}.status IN ('pending', 'submitted')", []
        else:
            claimable = "({t}.status = 'pending' OR ({t}.status = 'submitted' AND {t}.updated_at < %s))"
            claimable_params = [adapt(lapsed)]
        pick, pick_params = f"{claimable}{only}", [*claimable_params, *only_params]
        still, still_params = claimable, claimable_params
        returning = ""
    skip_locked = "FOR UPDATE SKIP LOCKED" if is_postgres else ""
    # One statement: pick, lock (skipping rows another worker is claiming) and mark as submitted.
    # The pick is a CTE so it runs once (as an IN subquery it may be rerun and overshoot LIMIT);
    # the update repeats its condition, so a row another worker claimed meanwhile is not taken.
    sql = (
        f"WITH picked AS (SELECT p.id FROM payments_payout p WHERE {pick.format(t='p')} "  # noqa: S608
        f"ORDER BY p.id LIMIT %s {skip_locked}) "
        "UPDATE payments_payout SET status = 'submitted', attempts = attempts + 1, updated_at = %s "
        f"FROM picked WHERE payments_payout.id = picked.id AND {still.format(t='payments_payout')} "
        "RETURNING payments_payout.id, payments_payout.amount_fen, payments_payout.bank_card_masked"
        f"{returning}"
    )
    params = [*pick_params, limit, adapt(now), *still_params]
    held = _locks_held() if is_postgres else set()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = sorted(row[:3] for row in cursor.fetchall())
    if is_postgres:
        # The locks this claim tried and took for rows it did not keep (skipped as locked by
        # another worker's claim, or final by the time it got them) go back at once.
        _locks_release(sorted(_locks_held() - held - {_claim_lock_key(pk) for pk, _, _ in rows}))
    return [PayoutLine(payout_id=pk, amount_fen=amount, bank_card_masked=card) for pk, amount, card in rows]


def _locks_held() -> set[int]:
    """The claim locks this session holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
            "AND pid = pg_backend_pid() AND classid::bigint = %s",
            [CLAIM_LOCK_SPACE],
        )
        return {key for (key,) in cursor.fetchall()}


def _locks_release(keys: Sequence[int]) -> None:
    if not keys:
        return
    with connection.cursor() as cursor:
        while True:  # a lock taken twice (re-evaluated condition, a retry) is held twice
            cursor.execute(
                "SELECT count(*) FROM unnest(%s::int4[]) k WHERE pg_advisory_unlock(%s, k)",
                [list(keys), CLAIM_LOCK_SPACE],
            )
            if not cursor.fetchone()[0]:
                return


def payouts_release(*, payout_ids: Sequence[int]) -> None:
    """Give up the claims on these payouts once settled (or left for another worker): on
    PostgreSQL their advisory locks; on SQLite nothing (a claim there is a lease)."""
    if connection.vendor == "postgresql" and connection.connection is not None:
        _locks_release(sorted({_claim_lock_key(pk) for pk in payout_ids}))


def payouts_settle(*, replies: Mapping[int, ChannelReply], business_on: dt.date) -> Settled:
    """Settle the channel's answers set-based, in one transaction: paid payouts post their holds
    into channel suspense (one entry each, as one at a time), refused ones release their holds;
    payouts already final are skipped, so settling the same answers twice changes nothing."""
    if not replies:
        return Settled()
    suspense = platform_account(Purpose.CHANNEL_SUSPENSE).pk
    now = timezone.now()
    with transaction.atomic():
        # Lock order as everywhere: payouts, then holds, then accounts (by id).
        payouts = list(
            Payout.objects.select_for_update()
            .filter(pk__in=sorted(replies), status__in=[Status.PENDING, Status.SUBMITTED])
            .order_by("pk")
            .values_list("pk", "account_id", "hold_id", "amount_fen", "bank_card_masked")
        )
        pending_holds = set(
            Hold.objects.select_for_update()
            .filter(pk__in=sorted(h for _, _, h, _, _ in payouts), status=Hold.Status.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        stray = [pk for pk, _, hold_id, _, _ in payouts if hold_id not in pending_holds]
        if stray:
            # A payout's hold was closed by hand: a person must look (the card may be paid).
            log.error("payouts %s have no pending hold; left for a person to settle", stray)
        payouts = [row for row in payouts if row[2] in pending_holds]
        if not payouts:
            return Settled(skipped=len(replies))
        locked = ledger.accounts_lock({suspense, *(account_id for _, account_id, _, _, _ in payouts)})
        # Release the holds first, so the overdraft rule sees the held money as spendable.
        released: dict[int, int] = defaultdict(int)
        for _, account_id, _, amount, _ in payouts:
            released[account_id] += amount
        values_execute(
            "WITH v(id, amount) AS (VALUES %s) UPDATE payments_account "
            "SET held_fen = held_fen - v.amount FROM v WHERE payments_account.id = v.id",
            sorted(released.items()),
        )
        for account_id, amount in released.items():
            locked[account_id].held_fen -= amount
        paid = [row for row in payouts if replies[row[0]].is_success]
        refused = [row for row in payouts if not replies[row[0]].is_success]
        entry_of = bulk.entries_post_locked(
            kind=JournalEntry.Kind.WITHDRAWAL,
            entries=[
                bulk.BulkEntry(
                    idempotency_key=hold_post_key(hold_id),
                    reference=f"withdrawal {pk} to {card}",
                    legs=[(account_id, amount), (suspense, -amount)],
                    request_hash=hold_post_digest(hold_id, amount),
                )
                for pk, account_id, hold_id, amount, card in paid
            ],
            business_on=business_on,
            locked=locked,
        )
        adapt = connection.ops.adapt_datetimefield_value
        values_execute(
            "WITH v(id, posted, entry_id, closed_at) AS (VALUES %s) UPDATE payments_hold "
            "SET status = 'posted', posted_fen = v.posted, entry_id = v.entry_id, closed_at = v.closed_at "
            "FROM v WHERE payments_hold.id = v.id",
            [
                (hold_id, amount, entry_of[hold_post_key(hold_id)], adapt(now))
                for _, _, hold_id, amount, _ in paid
            ],
        )
        values_execute(
            "WITH v(id, closed_at) AS (VALUES %s) UPDATE payments_hold "
            "SET status = 'voided', closed_at = v.closed_at FROM v WHERE payments_hold.id = v.id",
            [(hold_id, adapt(now)) for _, _, hold_id, _, _ in refused],
        )
        values_execute(
            "WITH v(id, status, reference, reason, updated_at) AS (VALUES %s) UPDATE payments_payout "
            "SET status = v.status, channel_reference = v.reference, failure_reason = v.reason, "
            "updated_at = v.updated_at FROM v WHERE payments_payout.id = v.id",
            [
                (
                    pk,
                    Status.CONFIRMED if replies[pk].is_success else Status.FAILED,
                    replies[pk].reference,
                    replies[pk].reason[:200],
                    adapt(now),
                )
                for pk, *_ in payouts
            ],
        )
    return Settled(confirmed=len(paid), failed=len(refused), skipped=len(replies) - len(payouts))


def payouts_restamp(*, payout_ids: Sequence[int]) -> None:
    """Renew a claim before sending the batch again (another attempt), so it does not lapse."""
    Payout.objects.filter(pk__in=list(payout_ids), status=Status.SUBMITTED).update(
        updated_at=timezone.now(), attempts=F("attempts") + 1
    )


def payouts_process(*, business_on: dt.date, seconds: float = 50.0, batch_size: int | None = None) -> Settled:
    """Claim, send and settle batches until nothing waits or `seconds` have passed. A batch the
    channel did not take (transient failure) is sent again with exponential backoff; after the
    last retry its payouts fail and their holds are released, so nothing is created or lost."""
    cfg = settings.PAYMENT_CHANNEL
    size = batch_size or cfg["BATCH_SIZE"]
    deadline = time.monotonic() + seconds
    totals = Settled()
    while time.monotonic() < deadline:
        lines = payouts_claim(limit=size)
        if not lines:
            break
        try:
            replies = _send_with_retries(lines, cfg)
            done = payouts_settle(replies=replies, business_on=business_on)
        finally:
            payouts_release(payout_ids=[line.payout_id for line in lines])
        totals = Settled(
            totals.confirmed + done.confirmed, totals.failed + done.failed, totals.skipped + done.skipped
        )
    return totals


def _send_with_retries(lines: list[PayoutLine], cfg: Mapping) -> dict[int, ChannelReply]:
    for attempt in range(cfg["MAX_RETRIES"] + 1):
        try:
            return channel.submit_batch(lines=lines)
        except channel.ChannelUnavailable as exc:
            if attempt == cfg["MAX_RETRIES"]:
                reason = f"channel unavailable after retries: {exc}"
                return {line.payout_id: ChannelReply(is_success=False, reason=reason) for line in lines}
            time.sleep(min(cfg["RETRY_BACKOFF_SECONDS"] * 2**attempt, 60))
            payouts_restamp(payout_ids=[line.payout_id for line in lines])
    raise AssertionError("unreachable")
