"""The broker not answering when a committed change publishes its task: the change stands, the
caller is not given an error for it, and the beat's sweep for that work picks it up (payouts:
the next batch; webhooks: webhooks_sweep). The publish is made to fail as a Redis that refuses
connections fails it (kombu's OperationalError); the database is real and the commits are."""

import datetime as dt
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from merchants import services as merchants
from merchants.webhooks import services as webhooks
from merchants.webhooks.models import WebhookDelivery
from payments import services as payments
from payments.models import Payout
from payments.payouts import payouts_claim
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)

DOWN = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_withdrawal_made_while_the_broker_is_down_waits_for_the_next_batch():
    wallet = payments.wallet_open(merchant=MerchantFactory())
    payments.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="seed")
    with mock.patch("payments.tasks.payout_submit.delay", side_effect=DOWN) as publish:
        payout = payments.withdrawal_request(
            wallet=wallet, amount_fen=30_000, idempotency_key="w-1", is_interactive=True
        )
    assert publish.called
    payout.refresh_from_db()
    wallet.refresh_from_db()
    assert payout.status == Payout.Status.PENDING and wallet.held_fen == 30_000
    # The next batch file takes it: what payouts_settle claims every few seconds.
    assert [line.payout_id for line in payouts_claim(limit=10)] == [payout.pk]


def test_a_webhook_event_made_while_the_broker_is_down_is_queued_by_the_sweep():
    merchant = MerchantFactory()
    webhooks.endpoint_create(
        partner=merchant.partner, url="https://partner.example.com/hook", event_types=["merchant.restricted"]
    )
    with mock.patch("merchants.webhooks.tasks.webhook_deliver.delay", side_effect=DOWN) as publish:
        merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")
    assert publish.called
    merchant.refresh_from_db()
    assert merchant.status == "restricted"
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.status == WebhookDelivery.Status.PENDING
    # Its message was never queued: once the requeue time has passed, the sweep queues it.
    with override_settings(WEBHOOKS_REQUEUE_AFTER_SECONDS=0):
        later = timezone.now() + dt.timedelta(seconds=1)
        with mock.patch("django.utils.timezone.now", return_value=later):
            assert webhooks.deliveries_due() == [delivery.pk]
