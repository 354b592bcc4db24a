"""Payouts in batch files: many payouts per round trip to the channel, settled set-based, with
the same rows as one payout at a time; claimed by one worker at a time (two racing workers take
disjoint batches on PostgreSQL); nothing lost or doubled when a worker dies, however it dies."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from common.business_date import business_date_today
from payments import channel, payouts, services
from payments.models import Account, Hold, JournalEntry, Payout, Posting
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.merchants.factories import MerchantFactory

ROOT = Path(__file__).resolve().parents[2]


def channel_config(**overrides):
    return {
        **django_settings.PAYMENT_CHANNEL,
        "LATENCY_SECONDS": 0,
        "TRANSIENT_FAILURE_RATE": 0,
        "FAILURE_RATE": 0,
        "MAX_RETRIES": 2,
        "RETRY_BACKOFF_SECONDS": 0,
        **overrides,
    }


@pytest.fixture
def round_trips(monkeypatch):
    """Counts the requests that reach the (simulated) channel, and which payouts each carried."""
    sent: list[list[int]] = []
    lock = threading.Lock()
    real_batch, real_one = channel.submit_batch, channel.submit_payout

    def submit_batch(*, lines):
        with lock:
            sent.append([line.payout_id for line in lines])
        return real_batch(lines=lines)

    def submit_payout(**kwargs):
        with lock:
            sent.append([kwargs["payout_id"]])
        return real_one(**kwargs)

    monkeypatch.setattr(channel, "submit_batch", submit_batch)
    monkeypatch.setattr(channel, "submit_payout", submit_payout)
    return sent


def funded_wallets(count: int, amount_fen: int) -> list[Account]:
    wallets = [services.wallet_open(merchant=MerchantFactory()) for _ in range(count)]
    for wallet in wallets:
        services.settlement_credit(wallet=wallet, amount_fen=amount_fen, idempotency_key=f"fund-{wallet.pk}")
    return wallets


def withdraw_many(wallets: list[Account], per_wallet: int, seed: int = 3) -> list[Payout]:
    rng = random.Random(seed)
    return [
        services.withdrawal_request(
            wallet=wallet, amount_fen=rng.randint(1, 5_000), idempotency_key=f"w-{wallet.pk}-{i}"
        )
        for wallet in wallets
        for i in range(per_wallet)
    ]


def assert_each_payout_settled_once(funded_fen: int) -> None:
    """Every payout final; a paid one has exactly one withdrawal entry (its hold's), a refused
    one none; every wallet lost exactly what it paid out; nothing held; the books balance."""
    assert not Payout.objects.exclude(status__in=[Payout.Status.CONFIRMED, Payout.Status.FAILED]).exists()
    withdrawals = Counter(
        JournalEntry.objects.filter(kind=JournalEntry.Kind.WITHDRAWAL).values_list(
            "idempotency_key", flat=True
        )
    )
    for payout in Payout.objects.select_related("hold"):
        key = f"hold:{payout.hold_id}:post"
        if payout.status == Payout.Status.CONFIRMED:
            assert withdrawals[key] == 1
            assert payout.hold.status == Hold.Status.POSTED and payout.hold.posted_fen == payout.amount_fen
            assert payout.channel_reference == channel._final_answer(payout.pk).reference
        else:
            assert key not in withdrawals
            assert payout.hold.status == Hold.Status.VOIDED
    for wallet in Account.objects.filter(purpose=Account.Purpose.WALLET):
        paid = sum(
            Payout.objects.filter(account=wallet, status=Payout.Status.CONFIRMED).values_list(
                "amount_fen", flat=True
            )
        )
        assert (wallet.balance_fen, wallet.held_fen) == (funded_fen - paid, 0)
    assert reconcile().is_clean


# --- the batch path --------------------------------------------------------------------------


@pytest.mark.django_db
def test_waiting_payouts_leave_in_batch_files_one_round_trip_each(settings, round_trips):
    settings.PAYMENT_CHANNEL = channel_config(FAILURE_RATE=0.3, BATCH_SIZE=25)
    withdraw_many(funded_wallets(6, 100_000), per_wallet=10)

    done = payouts.payouts_process(business_on=business_date_today())

    assert len(round_trips) == 3
    sent = sorted(pk for batch in round_trips for pk in batch)
    assert sent == sorted(Payout.objects.values_list("pk", flat=True))
    assert done.confirmed + done.failed == 60 and done.confirmed and done.failed
    assert set(Payout.objects.values_list("attempts", flat=True)) == {1}
    assert_each_payout_settled_once(100_000)


@pytest.mark.django_db
def test_a_batch_writes_the_same_rows_as_one_payout_at_a_time(settings):
    settings.PAYMENT_CHANNEL = channel_config(FAILURE_RATE=0.4)
    withdraw_many(funded_wallets(3, 100_000), per_wallet=8, seed=5)
    services.platform_account(Account.Purpose.CHANNEL_SUSPENSE)  # opened outside the rollback below
    replies = {pk: channel._final_answer(pk) for pk in Payout.objects.values_list("pk", flat=True)}

    def rows():
        entries = {
            pk: (kind, key, digest, reference, business_on)
            for pk, kind, key, digest, reference, business_on in JournalEntry.objects.filter(
                kind=JournalEntry.Kind.WITHDRAWAL
            ).values_list("pk", "kind", "idempotency_key", "request_hash", "reference", "business_on")
        }
        postings = sorted(
            (entries[entry_id][1], account_id, amount)
            for entry_id, account_id, amount in Posting.objects.filter(entry_id__in=entries).values_list(
                "entry_id", "account_id", "amount_fen"
            )
        )
        holds = sorted(
            (pk, status, posted, entries[entry_id][1] if entry_id else None)
            for pk, status, posted, entry_id in Hold.objects.values_list(
                "pk", "status", "posted_fen", "entry_id"
            )
        )
        return (
            sorted(entries.values()),
            postings,
            holds,
            sorted(Payout.objects.values_list("pk", "status", "channel_reference", "failure_reason")),
            sorted(Account.objects.values_list("pk", "balance_fen", "held_fen")),
        )

    with transaction.atomic():
        for payout in Payout.objects.select_related("hold").order_by("pk"):
            reply = replies[payout.pk]
            if reply.is_success:
                services.payout_confirm(payout=payout, channel_reference=reply.reference)
            else:
                services.payout_fail(payout=payout, reason=reply.reason)
        one_at_a_time = rows()
        transaction.set_rollback(True)

    payouts.payouts_settle(replies=replies, business_on=business_date_today())

    assert rows() == one_at_a_time
    assert reconcile().is_clean


@pytest.mark.django_db
def test_settling_the_same_answers_twice_changes_nothing(settings):
    settings.PAYMENT_CHANNEL = channel_config(FAILURE_RATE=0.5)
    withdraw_many(funded_wallets(2, 50_000), per_wallet=5)
    claimed = payouts.payouts_claim(limit=100)
    replies = {line.payout_id: channel._final_answer(line.payout_id) for line in claimed}

    first = payouts.payouts_settle(replies=replies, business_on=business_date_today())
    again = payouts.payouts_settle(replies=replies, business_on=business_date_today())

    assert first.confirmed + first.failed == 10
    assert (again.confirmed, again.failed, again.skipped) == (0, 0, 10)
    assert_each_payout_settled_once(50_000)


@pytest.mark.django_db
def test_a_channel_that_never_takes_the_file_fails_the_batch_after_retries_and_releases_the_holds(
    settings, round_trips
):
    settings.PAYMENT_CHANNEL = channel_config(TRANSIENT_FAILURE_RATE=1, MAX_RETRIES=2)
    withdraw_many(funded_wallets(2, 50_000), per_wallet=3)

    done = payouts.payouts_process(business_on=business_date_today())

    assert (done.confirmed, done.failed) == (0, 6)
    assert len(round_trips) == 3  # the first try and two retries
    assert set(Payout.objects.values_list("attempts", flat=True)) == {3}
    assert all("unavailable" in reason for reason in Payout.objects.values_list("failure_reason", flat=True))
    assert_each_payout_settled_once(50_000)


@pytest.mark.django_db
def test_a_claim_left_by_a_dead_worker_is_taken_over_once_it_lapses(settings):
    if connection.vendor == "postgresql":
        pytest.skip(
            "on PostgreSQL a claim is a lock of its session, not a lease "
            "(tests/outsider/test_payouts_killed.py)"
        )
    settings.PAYMENT_CHANNEL = channel_config(CLAIM_SECONDS=3600)
    withdraw_many(funded_wallets(1, 50_000), per_wallet=4)
    assert len(payouts.payouts_claim(limit=100)) == 4  # the worker that took them dies here

    assert payouts.payouts_claim(limit=100) == []  # still claimed
    settings.PAYMENT_CHANNEL = channel_config(CLAIM_SECONDS=0)
    done = payouts.payouts_process(business_on=business_date_today())

    assert done.confirmed == 4
    assert set(Payout.objects.values_list("attempts", flat=True)) == {2}
    assert_each_payout_settled_once(50_000)


@pytest.mark.django_db
def test_a_merchants_withdrawal_and_a_batch_never_post_one_hold_twice(settings):
    settings.PAYMENT_CHANNEL = channel_config()
    (wallet,) = funded_wallets(1, 50_000)
    payout = services.withdrawal_request(wallet=wallet, amount_fen=7_000, idempotency_key="w-1")
    replies = {payout.pk: channel._final_answer(payout.pk)}
    services.payout_confirm(payout=payout, channel_reference=replies[payout.pk].reference)

    assert payouts.payouts_settle(replies=replies, business_on=business_date_today()).skipped == 1
    assert_each_payout_settled_once(50_000)


# --- two workers at once, and workers killed ---------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_take_disjoint_batches_and_settle_each_payout_once(settings, round_trips):
    settings.PAYMENT_CHANNEL = channel_config(
        LATENCY_SECONDS=0.02, FAILURE_RATE=0.2, TRANSIENT_FAILURE_RATE=0.2, MAX_RETRIES=3, BATCH_SIZE=20
    )
    withdraw_many(funded_wallets(20, 200_000), per_wallet=15)
    barrier = threading.Barrier(2)
    claimed_by: dict[int, set[int]] = {}
    errors: list[BaseException] = []
    real_claim = payouts.payouts_claim

    def worker(k: int) -> None:
        mine: set[int] = set()
        claimed_by[k] = mine

        def claim(**kwargs):
            lines = real_claim(**kwargs)
            mine.update(line.payout_id for line in lines)
            return lines

        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            local.claim = claim
            payouts.payouts_process(business_on=business_date_today(), seconds=120)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    local = threading.local()
    payouts.payouts_claim = lambda **kwargs: local.claim(**kwargs)
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        payouts.payouts_claim = real_claim

    assert not errors
    assert claimed_by[0] and claimed_by[1], "both workers settled batches"
    assert not claimed_by[0] & claimed_by[1], "no payout was claimed by both"
    assert_each_payout_settled_once(200_000)


def _settle_in_a_process(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "payouts_settle", "--batch-size", "15"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_workers_killed_at_random_moments_lose_and_double_nothing(settings):
    settings.PAYMENT_CHANNEL = channel_config()
    withdraw_many(funded_wallets(20, 200_000), per_wallet=20)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "PAYMENT_CHANNEL_LATENCY_SECONDS": "0.2",
        "PAYMENT_CHANNEL_FAILURE_RATE": "0.2",
        "PAYMENT_CHANNEL_TRANSIENT_FAILURE_RATE": "0.2",
        "PAYMENT_CHANNEL_RETRY_BACKOFF_SECONDS": "0.05",
        "PAYMENT_CHANNEL_CLAIM_SECONDS": "3600",
        "LOG_LEVEL": "ERROR",
    }
    connection.close()  # the processes must not wait for this session's snapshot
    rng = random.Random(17)
    kills = 0
    for _ in range(6):
        waiting = Payout.objects.filter(status=Payout.Status.PENDING).count()
        if not waiting:
            break
        process = _settle_in_a_process(env)
        deadline = time.monotonic() + 60
        # Once the process is at work (some payout moved), kill it at a random moment.
        while process.poll() is None and time.monotonic() < deadline:
            if Payout.objects.filter(status=Payout.Status.PENDING).count() < waiting:
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        connection.close()
    assert kills >= 3, "the processes should have been killed mid-work"

    # Whatever the killed workers left claimed lapses; a last worker finishes the work.
    settings.PAYMENT_CHANNEL = channel_config(CLAIM_SECONDS=0)
    payouts.payouts_process(business_on=business_date_today(), seconds=120)

    assert_each_payout_settled_once(200_000)


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("payments.tasks.payout_submit", "interactive"),
        ("payments.tasks.payouts_settle", "default"),
        ("payments.tasks.holds_expire", "default"),
        ("payments.tasks.reconcile_nightly", "batch"),
    ],
)
def test_payment_tasks_go_to_their_queues(task, queue):
    from config.celery import app

    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_the_beat_settles_waiting_payouts_every_few_seconds():
    (entry,) = [
        e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("payouts_settle")
    ]
    assert float(entry["schedule"]) <= 10
