"""Withdrawals go through a real Celery worker on the configured broker (Redis in CI, kombu's
filesystem transport by default) and the simulated channel; whatever the channel answers, no
money is created or lost."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app
from payments import services
from payments.models import Payout
from payments.reconciliation import reconcile
from tests.merchants.factories import MerchantFactory


@pytest.fixture
def worker(transactional_db):
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=settings.CELERY_QUEUES_ALL
    ):
        yield


@pytest.fixture
def funded_wallet(transactional_db):
    wallet = services.wallet_open(merchant=MerchantFactory())
    services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="seed")
    return wallet


def wait_until_final(payout, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        payout.refresh_from_db()
        if payout.status in (Payout.Status.CONFIRMED, Payout.Status.FAILED):
            return payout
        time.sleep(0.1)
    raise AssertionError(f"payout {payout.pk} still {payout.status} after {seconds}s")


def channel(**overrides):
    return {
        "LATENCY_SECONDS": 0,
        "TRANSIENT_FAILURE_RATE": 0,
        "FAILURE_RATE": 0,
        "MAX_RETRIES": 1,
        **overrides,
    }


def test_broker_is_redis_when_redis_url_is_set():
    if settings.REDIS_URL:
        assert app.conf.broker_url.startswith("redis://")
    else:
        assert app.conf.broker_url.startswith("filesystem://")


def test_confirmed_withdrawal_leaves_the_wallet(worker, funded_wallet, settings):
    settings.PAYMENT_CHANNEL = channel()
    payout = wait_until_final(
        services.withdrawal_request(wallet=funded_wallet, amount_fen=30_000, idempotency_key="w-1")
    )
    assert payout.status == Payout.Status.CONFIRMED and payout.channel_reference
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (70_000, 0)
    assert reconcile().is_clean


def test_refused_withdrawal_releases_the_hold(worker, funded_wallet, settings):
    settings.PAYMENT_CHANNEL = channel(FAILURE_RATE=1)
    payout = wait_until_final(
        services.withdrawal_request(wallet=funded_wallet, amount_fen=30_000, idempotency_key="w-1")
    )
    assert payout.status == Payout.Status.FAILED and "rejected" in payout.failure_reason
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (100_000, 0)
    assert reconcile().is_clean


def test_channel_that_never_answers_fails_after_retries_without_losing_money(worker, funded_wallet, settings):
    settings.PAYMENT_CHANNEL = channel(TRANSIENT_FAILURE_RATE=1)
    payout = wait_until_final(
        services.withdrawal_request(wallet=funded_wallet, amount_fen=30_000, idempotency_key="w-1")
    )
    assert payout.status == Payout.Status.FAILED and payout.attempts == 2
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (100_000, 0)
    assert reconcile().is_clean
