"""Payouts in batches: the steady stream of withdrawals leaves through the channel's batch files,
many payouts per round trip, and is settled set-based (their entries, hold releases and statuses
in a handful of statements), instead of one task, one round trip and a dozen statements each.

A worker claims waiting payouts (`payouts_claim`): on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
two workers claiming at once take disjoint batches; the claim is a compare-and-set on the status,
so on SQLite too a payout is claimed by one worker at a time. A claim is a lease: if the worker
dies holding it, the payouts become claimable again after PAYMENT_CHANNEL["CLAIM_SECONDS"]. They
are then sent again, which pays nothing twice because the channel answers each payout id the
same every time (payments/channel.py), and settling is a compare-and-set too: a payout already
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


def payouts_claim(
    *, limit: int, payout_ids: Sequence[int] | None = None, is_forced: bool = False
) -> list[PayoutLine]:
    """Claim up to `limit` payouts for the channel: waiting ones, or ones whose claim lapsed (a
    worker died holding them). With `payout_ids` only those; `is_forced` claims them even while
    claimed (the task that holds them, retrying). Each claim counts as an attempt."""
    now = timezone.now()
    lapsed = now - dt.timedelta(seconds=settings.PAYMENT_CHANNEL["CLAIM_SECONDS"])
    adapt = connection.ops.adapt_datetimefield_value
    if is_forced:
        claimable, claimable_params = "{t}.status IN ('pending', 'submitted')", []
    else:
        claimable = "({t}.status = 'pending' OR ({t}.status = 'submitted' AND {t}.updated_at < %s))"
        claimable_params = [adapt(lapsed)]
    only, only_params = "", []
    if payout_ids is not None:
        if not payout_ids:
            return []
        only, only_params = f" AND p.id IN ({','.join(['%s'] * len(payout_ids))})", list(payout_ids)
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    # One statement: pick, lock (skipping rows another worker is claiming) and mark as submitted.
    # The pick is a CTE so it runs once (as an IN subquery it may be rerun and overshoot LIMIT);
    # the update repeats its condition, so a row another worker claimed meanwhile is not taken.
    sql = (
        f"WITH picked AS (SELECT p.id FROM payments_payout p WHERE {claimable.format(t='p')}{only} "  # noqa: S608
        f"ORDER BY p.id LIMIT %s {skip_locked}) "
        "UPDATE payments_payout SET status = 'submitted', attempts = attempts + 1, updated_at = %s "
        f"FROM picked WHERE payments_payout.id = picked.id AND {claimable.format(t='payments_payout')} "
        "RETURNING payments_payout.id, payments_payout.amount_fen, payments_payout.bank_card_masked"
    )
    params = [*claimable_params, *only_params, limit, adapt(now), *claimable_params]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = sorted(cursor.fetchall())
    return [PayoutLine(payout_id=pk, amount_fen=amount, bank_card_masked=card) for pk, amount, card in rows]


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
        replies = _send_with_retries(lines, cfg)
        done = payouts_settle(replies=replies, business_on=business_on)
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
