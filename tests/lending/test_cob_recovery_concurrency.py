"""Close of business's recovery chunks fanned out: two chunks of other wallets recover at once
in two threads on PostgreSQL. The platform's shared accounts and the pool are locked only at the
end of a chunk (as the deduction's chunks do), so the second chunk runs to its commit while the
first is held after writing its own rows; every loan recovers once and the books balance."""

import datetime as dt
import threading

import pytest
from django.db import connection

from lending import cob
from lending.models import Loan, LoanEvent
from payments import services as payments
from payments.models import FundingPool, JournalEntry
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, open_pool
from tests.lending.test_cob_recovery import spent_loan, write_off


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_recovery_chunks_of_other_wallets_do_not_wait_for_each_others_shared_accounts(monkeypatch):
    open_pool()
    loans = [spent_loan() for _ in range(4)]
    write_off(*loans)
    for loan in loans:
        payments.settlement_credit(wallet=loan.wallet, amount_fen=200_000, idempotency_key=f"in-{loan.pk}")
    losses_before = sum(FundingPool.objects.values_list("losses_fen", flat=True))
    on = DAY + dt.timedelta(days=5)
    run = cob.cob_run_start(on=on, chunk_size=2, by_wallet=True)
    for step in cob.STEPS:
        for number, (lo, hi) in enumerate(cob.step_ranges(run, step)):
            cob.run_chunk(on=on, step=step, chunk=number, lo=lo, hi=hi)
    wallets = {loan.wallet_id for loan in loans}
    chunks = [
        (number, lo, hi)
        for number, (lo, hi) in enumerate(cob.step_ranges(run, "recover"))
        if any(lo <= wallet <= hi for wallet in wallets)
    ]
    assert len(chunks) >= 2
    first, second = chunks[0], chunks[1]
    first_held, second_done = threading.Event(), threading.Event()
    held = threading.local()
    waited = []
    original = cob.STEP_FUNCTIONS["recover"]

    def held_in_the_first(*args, **kwargs):
        done = original(*args, **kwargs)  # the chunk's own rows written, its transaction open
        if getattr(held, "first", False):
            first_held.set()
            waited.append(second_done.wait(timeout=60))
        return done

    monkeypatch.setitem(cob.STEP_FUNCTIONS, "recover", held_in_the_first)
    errors, recovered = [], {}

    def recover(chunk, is_first):
        held.first = is_first
        number, lo, hi = chunk
        try:
            recovered[number] = cob.run_chunk(on=on, step="recover", chunk=number, lo=lo, hi=hi)
            if not is_first:
                second_done.set()
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            first_held.set()  # the second starts even if the first failed before it was held
            connection.close()

    threads = [threading.Thread(target=recover, args=(first, True))]
    threads[0].start()
    assert first_held.wait(timeout=120)
    threads.append(threading.Thread(target=recover, args=(second, False)))
    threads[1].start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert waited == [True], "the second chunk waited for the first one's locks"
    assert recovered[first[0]] >= 1 and recovered[second[0]] >= 1
    for loan in Loan.objects.filter(pk__in=[loan.pk for loan in loans]):
        assert loan.recovered_fen == 200_000
        assert JournalEntry.objects.filter(idempotency_key=f"recover:cob:{on}:{loan.pk}").count() == 1
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.RECOVERED, business_on=on).count() == 4
    assert sum(FundingPool.objects.values_list("losses_fen", flat=True)) == losses_before - 4 * 200_000
    assert reconcile().is_clean
