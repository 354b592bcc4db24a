"""Payments' background work: submitting payouts to the channel (with retries and backoff),
expiring holds, settling the channel and reconciling the books nightly. Thin and idempotent."""

import logging

from celery import shared_task
from django.conf import settings

from common.business_date import business_date_today
from payments import channel, services
from payments.models import Payout

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None)
def payout_submit(self, payout_id: int) -> str:
    """Send a pending payout to the channel; confirm or fail it on the reply. Transient channel
    errors are retried with exponential backoff; after the last retry the payout fails and its
    hold is released, so no money is created or lost."""
    payout = Payout.objects.select_related("hold").filter(pk=payout_id).first()
    if payout is None or payout.status in (Payout.Status.CONFIRMED, Payout.Status.FAILED):
        return "already final"
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.SUBMITTED, attempts=payout.attempts + 1)
    try:
        reply = channel.submit_payout(
            payout_id=payout.pk,
            amount_fen=payout.amount_fen,
            bank_card_masked=payout.bank_card_masked,
        )
    except channel.ChannelUnavailable as exc:
        if self.request.retries >= settings.PAYMENT_CHANNEL["MAX_RETRIES"]:
            services.payout_fail(payout=payout, reason=f"channel unavailable after retries: {exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc
    if reply.is_success:
        services.payout_confirm(payout=payout, channel_reference=reply.reference)
        return "confirmed"
    services.payout_fail(payout=payout, reason=reply.reason)
    return "failed"


@shared_task
def holds_expire() -> int:
    return services.holds_expire()


@shared_task
def reconcile_nightly() -> dict:
    """Settle the channel for the business date, then prove the books balance."""
    from payments.reconciliation import reconcile

    on = business_date_today()
    services.channel_settle(on=on)
    report = reconcile(on=on)
    if not report.is_clean:
        log.error("reconciliation found differences: %s", report.as_dict())
    return report.as_dict()
