"""Payments' background work: payouts to the channel (a merchant's withdrawal alone and at once,
the steady stream in batch files), expiring holds, settling the channel and reconciling the books
nightly, keeping the ledger's running totals. Thin and idempotent. Queues (config/settings.py
CELERY_TASK_ROUTES): payout_submit is interactive, reconcile_nightly and ledger_totals_refresh
batch, the rest default."""

import logging

from celery import shared_task
from django.conf import settings

from common.business_date import business_date_today
from payments import channel, payouts, services
from payments.models import Payout

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None)
def payout_submit(self, payout_id: int) -> str:
    """A merchant's own withdrawal, sent alone and at once (interactive queue); confirm or fail it
    on the reply. Transient channel errors are retried with exponential backoff; after the last
    retry the payout fails and its hold is released, so no money is created or lost."""
    # Forced: on a retry this task still holds the claim it made on the first attempt.
    if not payouts.payouts_claim(limit=1, payout_ids=[payout_id], is_forced=True):
        return "already final"
    try:
        return _payout_send(self, payout_id)
    finally:
        # On PostgreSQL the claim is a lock of this worker's session: given up once answered (or
        # before waiting for a retry, when a batch worker may take the payout over meanwhile).
        payouts.payouts_release(payout_ids=[payout_id])


def _payout_send(task, payout_id: int) -> str:
    payout = Payout.objects.select_related("hold").get(pk=payout_id)
    try:
        reply = channel.submit_payout(
            payout_id=payout.pk,
            amount_fen=payout.amount_fen,
            bank_card_masked=payout.bank_card_masked,
        )
    except channel.ChannelUnavailable as exc:
        if task.request.retries >= settings.PAYMENT_CHANNEL["MAX_RETRIES"]:
            services.payout_fail(payout=payout, reason=f"channel unavailable after retries: {exc}")
            return "failed"
        raise task.retry(exc=exc, countdown=min(2**task.request.retries, 60)) from exc
    if reply.is_success:
        services.payout_confirm(payout=payout, channel_reference=reply.reference)
        return "confirmed"
    services.payout_fail(payout=payout, reason=reply.reason)
    return "failed"


@shared_task(acks_late=True)
def payouts_settle() -> dict:
    """Beat, every few seconds: send the waiting payouts to the channel in batch files and settle
    the answers set-based, until none waits (or the time budget is spent; the next run goes on).
    Two of these at once take disjoint batches."""
    done = payouts.payouts_process(business_on=business_date_today())
    return {"confirmed": done.confirmed, "failed": done.failed, "skipped": done.skipped}


@shared_task
def holds_expire() -> int:
    return services.holds_expire()


@shared_task
def reconcile_nightly() -> dict:
    """Settle the channel for the business date, then prove the books balance."""
    from payments.reconciliation import reconcile

    on = business_date_today()
    services.channel_settle(on=on)
    report = reconcile(on=on, subledgers=True)
    if not report.is_clean:
        log.error("reconciliation found differences: %s", report.as_dict())
    return report.as_dict()


@shared_task
def ledger_totals_refresh() -> dict:
    """Beat, every few minutes (and so soon after each close of business): fold the postings
    written since the ledger totals' checkpoint, so the trial balance reads few of them."""
    from payments.ledger_totals import ledger_totals_refresh as refresh

    done = refresh()
    return {
        "through_posting_id": done.through_posting_id,
        "postings_folded": done.postings_folded,
        "waiting_for_writers": done.waiting_for_writers,
    }
