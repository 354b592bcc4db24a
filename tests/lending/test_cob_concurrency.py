"""Two closes of the same dates at once, in two threads or two processes on PostgreSQL: both end
without an error, every run is done, and the books are what one close would have written."""

import datetime as dt
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from common.business_date import business_date_today
from lending import cob
from lending.models import CobRun, Loan, LoanEvent, Pledge
from merchants.models import Order, OrderStatus
from payments import services as payments
from payments.models import JournalEntry
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory, OrderFactory

ROOT = Path(__file__).resolve().parents[2]


def pledged_loans(n: int) -> list[Loan]:
    """Order loans whose pledged orders have all settled, the money in the wallets, and revolving
    loans beside them: the close repays the first from their pledges and accrues the others."""
    open_pool()
    product = ProductFactory(
        code="order_loan",
        is_revolving=False,
        is_pledged=True,
        term=30,
        daily_rate=Decimal("0.0005"),
        advance_rate=Decimal("0.8"),
    )
    loans = []
    for k in range(n):
        merchant = MerchantFactory()
        orders = [OrderFactory(merchant=merchant, shipped=True, amount_fen=500_000) for _ in range(2)]
        line = CreditLineFactory(
            product=product, merchant=merchant, limit_fen=5_000_000, daily_rate=product.daily_rate
        )
        loans.append(draw(line, 700_000, key=f"order-{k}"))
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(
            status=OrderStatus.SETTLED, settled_at=timezone.now()
        )
        payments.settlement_credit(
            wallet=loans[-1].wallet, amount_fen=1_000_000, idempotency_key=f"sales-{k}"
        )
        loans.append(draw(CreditLineFactory(), 1_000_000, key=f"revolving-{k}"))
    return loans


def expected_state():
    assert reconcile().is_clean and cob.lending_reconcile() == []
    assert not Pledge.objects.filter(is_open=True).exists()
    # Each pledged loan was repaid once, by its pledges, the day they were seen settled.
    assert (
        LoanEvent.objects.filter(kind=LoanEvent.Kind.PLEDGE_SETTLED).count()
        == Loan.objects.filter(product__code="order_loan").count()
    )
    assert set(Loan.objects.filter(product__code="order_loan").values_list("status", flat=True)) == {"repaid"}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_threads_closing_the_same_dates_both_finish_and_every_run_is_done(settings):
    settings.LENDING_COB_CHUNK_SIZE = 3
    pledged_loans(15)
    through = DAY + dt.timedelta(days=2)
    barrier = threading.Barrier(2)
    errors, results = [], []

    def closer():
        try:
            barrier.wait()
            results.append([run.status for run in cob.close_through(through=through)])
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=closer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [[CobRun.Status.DONE] * 3] * 2
    assert set(CobRun.objects.values_list("status", flat=True)) == {CobRun.Status.DONE}
    assert business_date_today() == through + dt.timedelta(days=1)
    expected_state()
    # Three days of interest on each revolving loan, posted once a day.
    revolving = Loan.objects.filter(product__code="revolving")
    assert set(revolving.values_list("interest_outstanding_fen", flat=True)) == {3 * 600}
    for day in range(3):
        on = DAY + dt.timedelta(days=day)
        assert JournalEntry.objects.filter(idempotency_key__startswith=f"cob:{on}:accrue:").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_close_of_business_commands_at_once_both_exit_0():
    pledged_loans(15)
    through = DAY + dt.timedelta(days=4)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "LENDING_COB_CHUNK_SIZE": "3",
    }
    command = [sys.executable, "manage.py", "close_of_business", "--through", through.isoformat()]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=600), *p.communicate()) for p in processes]
    for returncode, out, err in outcomes:
        assert returncode == 0, err
        assert f"business date is now {through + dt.timedelta(days=1)}" in out
    assert set(CobRun.objects.values_list("status", flat=True)) == {CobRun.Status.DONE}
    assert CobRun.objects.count() == 5
    expected_state()


def test_a_loan_drawn_while_two_processes_close_the_date_is_closed_once_and_posted(pool):
    """Process A froze the chunks and closed them; a loan is drawn; process B starts and adds a
    chunk for it; A finishes first. The date is done only with that chunk closed and posted."""
    draw(CreditLineFactory(), 1_000_000, key="before")
    first = cob.cob_run_start(on=DAY)
    cob.cob_run_chunks(run=first)
    late = draw(CreditLineFactory(), 1_000_000, key="drawn-during-the-close")
    second = cob.cob_run_start(on=DAY)
    assert len(second.chunk_bounds) == len(first.chunk_bounds) + 1
    assert cob.cob_run_finish(run=first).status == CobRun.Status.DONE
    cob.cob_run_chunks(run=second)  # B catches up: nothing is left for it to do
    assert cob.cob_run_finish(run=second).status == CobRun.Status.DONE
    late.refresh_from_db()
    assert (late.accrued_through_on, late.interest_outstanding_fen) == (DAY, 600)
    accrual = JournalEntry.objects.get(idempotency_key__startswith=f"cob:{DAY}:accrue:")
    assert accrual.postings.get(amount_fen__gt=0).amount_fen == 2 * 600
    assert reconcile().is_clean and cob.lending_reconcile() == []


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_deduction_chunks_of_other_wallets_do_not_wait_for_each_others_shared_accounts(monkeypatch):
    """Two chunks of wallets deduct at once in two threads. The first is held just after its
    collections are written (entries, postings, loans, its wallets), before it ends; the second,
    on other wallets but the same platform accounts and pool, must still run to its commit
    meanwhile: the shared rows are locked only at the end of a chunk (taken while the first is
    held, they would keep the second waiting for it, and the first waits for the second)."""
    open_pool()
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"))
    loans = [
        draw(CreditLineFactory(product=product, daily_rate=product.daily_rate), 1_000_000, key=f"k-{n}")
        for n in range(4)
    ]
    due_on = DAY + dt.timedelta(days=30)
    cob.close_through(through=due_on - dt.timedelta(days=1))
    run = cob.cob_run_start(on=due_on, chunk_size=2, by_wallet=True)
    # A chunk of wallets closes whole from its due step (due, deduction, accrual in one transaction).
    wallets = {loan.wallet_id for loan in loans}
    chunks = [
        (number, lo, hi)
        for number, (lo, hi) in enumerate(cob.step_ranges(run, "due"))
        if any(lo <= wallet <= hi for wallet in wallets)
    ]
    assert len(chunks) >= 2
    first, second = chunks[0], chunks[1]
    first_held, second_done = threading.Event(), threading.Event()
    held = threading.local()
    waited = []
    original = cob.events.deductions_failed_emit

    def held_in_the_first(**kwargs):
        if getattr(held, "first", False):
            first_held.set()
            waited.append(second_done.wait(timeout=60))
        return original(**kwargs)

    monkeypatch.setattr(cob.events, "deductions_failed_emit", held_in_the_first)
    errors, paid = [], {}

    def deduct(chunk, is_first):
        held.first = is_first
        number, lo, hi = chunk
        try:
            paid[number] = cob.run_chunk(on=due_on, step="due", chunk=number, lo=lo, hi=hi)
            if not is_first:
                second_done.set()
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            first_held.set()  # the second starts even if the first failed before it was held
            connection.close()

    threads = [threading.Thread(target=deduct, args=(first, True))]
    threads[0].start()
    assert first_held.wait(timeout=120)
    threads.append(threading.Thread(target=deduct, args=(second, False)))
    threads[1].start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert waited == [True], "the second chunk waited for the first one's locks"
    assert paid[first[0]] >= 1 and paid[second[0]] >= 1
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.AUTO_DEDUCTED, business_on=due_on).count() == 4
    assert reconcile().is_clean
