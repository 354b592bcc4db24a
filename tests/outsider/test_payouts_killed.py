"""`payouts_settle` killed with `kill -9` while it holds a claimed batch: on PostgreSQL the claim
is a lock of the killed process's session, so a run started right after takes the batch over at
once (no waiting for a lease to lapse) and settles every payout once; a live claimer's batch is
never taken. Real processes and real sessions on PostgreSQL."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection
from django.db.models import Sum

from common.business_date import business_date_today
from payments import payouts
from payments.models import Payout
from tests.conftest import requires_postgres
from tests.payments.test_payout_batches import (
    ROOT,
    assert_each_payout_settled_once,
    channel_config,
    funded_wallets,
    withdraw_many,
)

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]
Status = Payout.Status


def _env() -> dict:
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{host}/{db['NAME']}",
        "PAYMENT_CHANNEL_LATENCY_SECONDS": "1.0",
        "PAYMENT_CHANNEL_FAILURE_RATE": "0.2",
        "PAYMENT_CHANNEL_TRANSIENT_FAILURE_RATE": "0",
        # A lease that cannot lapse within the test: only the claimer's death may free its batch.
        "PAYMENT_CHANNEL_CLAIM_SECONDS": "3600",
        "LOG_LEVEL": "ERROR",
    }


def test_a_run_right_after_a_kill_9_takes_the_killed_batch_over_and_settles_each_payout_once(settings):
    settings.PAYMENT_CHANNEL = channel_config(CLAIM_SECONDS=3600)
    queued = withdraw_many(funded_wallets(10, 200_000), per_wallet=6)
    queued_fen = sum(payout.amount_fen for payout in queued)
    connection.close()
    rng = random.Random(29)
    left_claimed = 0
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "manage.py", "payouts_settle", "--batch-size", "7"],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if Payout.objects.filter(status=Status.SUBMITTED).exists():
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))
        if process.poll() is None and Payout.objects.filter(status=Status.SUBMITTED).exists():
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        connection.close()
        left_claimed = Payout.objects.filter(status=Status.SUBMITTED).count()
        if left_claimed:
            break
    assert left_claimed, "the process should have been killed holding a claimed batch"

    # Right after, the lease far from lapsed: the batch's claimer is dead, so it is taken over.
    done = payouts.payouts_process(business_on=business_date_today(), seconds=120)

    assert done.confirmed + done.failed >= left_claimed
    assert not Payout.objects.exclude(status__in=[Status.CONFIRMED, Status.FAILED]).exists()
    settled = Payout.objects.aggregate(t=Sum("amount_fen"))["t"]
    assert settled == queued_fen
    assert_each_payout_settled_once(200_000)


def test_a_live_claimers_batch_is_not_taken_until_its_session_ends(settings):
    settings.PAYMENT_CHANNEL = channel_config(CLAIM_SECONDS=3600)
    withdraw_many(funded_wallets(2, 50_000), per_wallet=3)
    connection.close()
    claimed, release = threading.Event(), threading.Event()
    theirs: list[int] = []

    def live_claimer() -> None:
        try:
            theirs.extend(line.payout_id for line in payouts.payouts_claim(limit=4))
            claimed.set()
            release.wait(30)
        finally:
            connection.close()  # the claimer's session ends as a killed process's does

    thread = threading.Thread(target=live_claimer)
    thread.start()
    try:
        assert claimed.wait(30)
        mine = [line.payout_id for line in payouts.payouts_claim(limit=100)]
        assert len(theirs) == 4 and len(mine) == 2 and not set(mine) & set(theirs)
        assert payouts.payouts_claim(limit=100, payout_ids=theirs, is_forced=True) == []
        payouts.payouts_release(payout_ids=mine)
    finally:
        release.set()
        thread.join()
    # The claimer's session is gone: its batch is taken at once, the others' too (released).
    again = [line.payout_id for line in payouts.payouts_claim(limit=100)]
    assert sorted(again) == sorted(theirs + mine)
    payouts.payouts_release(payout_ids=again)
    # Released unanswered: the next run sends and settles them, each once.
    done = payouts.payouts_process(business_on=business_date_today())
    assert done.confirmed + done.failed == 6
    assert_each_payout_settled_once(50_000)
