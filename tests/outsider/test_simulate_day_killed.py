"""`manage.py simulate_day --through` killed with `kill -9` at a random moment, then run again,
must leave the marketplace and the books exactly as a twin never killed (the same seed, traded in
one go): no settlement credited twice, no day lost. Started twice at once, both processes end
well and the days are traded once. Real processes on a tiny world; the twin is the same world
reseeded (`seed_demo --reset` flushes every table), compared by merchant and purpose."""

import datetime as dt
import random
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from common.business_date import business_date_today
from merchants.models import Order, Settlement
from payments.models import Account, JournalEntry
from payments.reconciliation import reconcile
from tests.conftest import requires_demo
from tests.outsider.test_command_locks import ROOT, _env

pytestmark = [requires_demo]
END = dt.date(2025, 3, 31)
THROUGH = END + dt.timedelta(days=6)
SEED = ("seed_demo", "--merchants", "6", "--days", "5", "--end-date", END.isoformat())


@pytest.fixture
def world(transactional_db):
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("an in-memory SQLite database is not shared with a child process")
    call_command(*SEED, stdout=StringIO())


def books() -> dict:
    """Every figure of money and trade: wallets by merchant, the other accounts by purpose,
    entries by kind, orders by status."""
    return {
        "business_date": business_date_today(),
        "wallets": list(
            Account.objects.filter(merchant__isnull=False)
            .order_by("merchant__external_id")
            .values_list("merchant__external_id", "balance_fen", "held_fen")
        ),
        "other_accounts": sorted(
            Account.objects.filter(merchant__isnull=True).values_list("purpose", "balance_fen", "held_fen")
        ),
        "entries": list(
            JournalEntry.objects.values("kind")
            .annotate(n=Count("pk"))
            .order_by("kind")
            .values_list("kind", "n")
        ),
        "settled_fen": Settlement.objects.aggregate(t=Sum("amount_fen"))["t"],
        "orders": list(
            Order.objects.values("status")
            .annotate(n=Count("pk"))
            .order_by("status")
            .values_list("status", "n")
        ),
    }


def simulate(*extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "simulate_day", "--through", THROUGH.isoformat(), *extra],
        cwd=ROOT,
        env=_env() | {"LOG_LEVEL": "ERROR"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def twin() -> dict:
    call_command(*SEED, "--reset", stdout=StringIO())
    call_command("simulate_day", "--through", THROUGH.isoformat(), stdout=StringIO())
    return books()


def test_two_simulations_at_once_one_killed_at_a_random_moment_end_as_the_twin(world):
    """Two at once: one is killed with `kill -9` once the days are being traded; the other ends
    well (it waits for the day the killed one held, then trades it itself); a run afterwards
    finds nothing left to do; the books are the twin's."""
    start = business_date_today()
    survivor, victim = simulate(), simulate()
    deadline = time.monotonic() + 120
    while victim.poll() is None and business_date_today() == start and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(11).uniform(0, 0.5))
    killed = victim.poll() is None
    if killed:
        victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    _, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    again = simulate()
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "already traded" in out
    assert business_date_today() == THROUGH
    after = books()
    assert reconcile(subledgers=True).is_clean
    assert after == twin()
