"""Withdrawals go through a real Celery worker on the configured broker (Redis in CI, kombu's
filesystem transport by default) and the simulated channel; whatever the channel answers, no
money is created or lost."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app
from payments import services, tasks
from payments.models import JournalEntry, Payout
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.merchants.factories import MerchantFactory

# A worker thread writing while the test thread reads: SQLite's shared test database locks whole
# tables ("database table is locked"), so these tests need a server database.
pytestmark = requires_postgres


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
        **settings.PAYMENT_CHANNEL,
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
        services.withdrawal_request(
            wallet=funded_wallet, amount_fen=30_000, idempotency_key="w-1", is_interactive=True
        )
    )
    assert payout.status == Payout.Status.CONFIRMED and payout.channel_reference
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (70_000, 0)
    assert reconcile().is_clean


def test_refused_withdrawal_releases_the_hold(worker, funded_wallet, settings):
    settings.PAYMENT_CHANNEL = channel(FAILURE_RATE=1)
    payout = wait_until_final(
        services.withdrawal_request(
            wallet=funded_wallet, amount_fen=30_000, idempotency_key="w-1", is_interactive=True
        )
    )
    assert payout.status == Payout.Status.FAILED and "rejected" in payout.failure_reason
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (100_000, 0)
    assert reconcile().is_clean


def test_channel_that_never_answers_fails_after_retries_without_losing_money(worker, funded_wallet, settings):
    settings.PAYMENT_CHANNEL = channel(TRANSIENT_FAILURE_RATE=1)
    payout = wait_until_final(
        services.withdrawal_request(
            wallet=funded_wallet, amount_fen=30_000, idempotency_key="w-1", is_interactive=True
        )
    )
    assert payout.status == Payout.Status.FAILED and payout.attempts == 2
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (100_000, 0)
    assert reconcile().is_clean


def test_waiting_withdrawals_leave_in_one_batch_file_through_the_worker(worker, funded_wallet, settings):
    settings.PAYMENT_CHANNEL = channel(FAILURE_RATE=0.5)
    requested = [
        services.withdrawal_request(wallet=funded_wallet, amount_fen=1_000 + i, idempotency_key=f"w-{i}")
        for i in range(20)
    ]
    assert all(p.status == Payout.Status.PENDING for p in requested)  # nothing queued per payout

    tasks.payouts_settle.delay()

    final = [wait_until_final(p) for p in requested]
    paid = sum(p.amount_fen for p in final if p.status == Payout.Status.CONFIRMED)
    assert all(p.attempts == 1 for p in final)
    funded_wallet.refresh_from_db()
    assert (funded_wallet.balance_fen, funded_wallet.held_fen) == (100_000 - paid, 0)
    assert reconcile().is_clean


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_worker_threads_settling_batches_at_once_settle_each_payout_once(settings):
    settings.PAYMENT_CHANNEL = channel(
        LATENCY_SECONDS=0.05,
        FAILURE_RATE=0.2,
        TRANSIENT_FAILURE_RATE=0.2,
        MAX_RETRIES=3,
        BATCH_SIZE=10,
        RETRY_BACKOFF_SECONDS=0,
    )
    wallets = [services.wallet_open(merchant=MerchantFactory()) for _ in range(10)]
    for wallet in wallets:
        services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key=f"seed-{wallet.pk}")
    requested = [
        services.withdrawal_request(wallet=wallet, amount_fen=500 + i, idempotency_key=f"w-{wallet.pk}-{i}")
        for wallet in wallets
        for i in range(12)
    ]
    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        shutdown_timeout=30,
        queues=settings.CELERY_QUEUES_ALL,
    ):
        tasks.payouts_settle.delay()
        tasks.payouts_settle.delay()
        final = [wait_until_final(p, seconds=120) for p in requested]

    # Each payout was claimed once (no lapsed claims here), so sent in one batch file plus retries.
    assert {p.attempts for p in final} <= {1, 2, 3, 4}
    for wallet in wallets:
        wallet.refresh_from_db()
        mine = [p for p in final if p.account_id == wallet.pk]
        paid = sum(p.amount_fen for p in mine if p.status == Payout.Status.CONFIRMED)
        assert (wallet.balance_fen, wallet.held_fen) == (100_000 - paid, 0)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WITHDRAWAL).count() == sum(
        p.status == Payout.Status.CONFIRMED for p in final
    )
    assert reconcile().is_clean
