"""API work that lands between two steps of a fanned-out close.

The in-process close closes a chunk's loans through all its steps in one transaction, so a crash
leaves every loan closed for the day or untouched, and what the partner API does while the close
is down acts as it would have before the close. The fanned-out close (lending.cob_dispatch) ran
each step of a chunk in its own transaction: killed after the due step, it left loans whose
installment had fallen due but which were neither deducted from nor accrued, and a loan written
off (or repaid) through the API then was acted on in a state the twin, never killed, never shows
(its installment counted as fallen due on the day it was written off: next_installment,
oldest_unpaid_due_on, accrual_segment_days differed; the money did not).

Now a chunk of wallets closes whole (due, deduction, accrual) in one transaction: a worker killed
after a chunk's due step, before the rest, leaves the chunk untouched."""

import contextlib

import pytest
from django.db import transaction

from lending import cob
from tests.lending.test_cob_resume import (
    CRASH_ON,
    Rollback,
    activity,
    assert_same,
    build,
    finish_and_go_on,
    snapshot,
)


def test_api_work_after_the_due_step_of_a_killed_fanned_out_close_equals_the_twin(db, settings, monkeypatch):
    settings.LENDING_COB_CHUNK_SIZE = 3
    build()
    with pytest.raises(Rollback), transaction.atomic():
        activity("highest")
        finish_and_go_on()
        twin = snapshot()
        raise Rollback
    with pytest.raises(Rollback), transaction.atomic():
        # The workers began every chunk's due step, and each was killed after it, before the
        # steps that follow it (the deduction raises as a killed worker's process would end).
        run = cob.cob_run_start(on=CRASH_ON, by_wallet=True)
        original = cob.STEP_FUNCTIONS["deduct"]
        monkeypatch.setitem(cob.STEP_FUNCTIONS, "deduct", killed)
        for number, (lo, hi) in enumerate(cob.step_ranges(run, "due")):
            with contextlib.suppress(RuntimeError):
                cob.run_chunk(on=CRASH_ON, step="due", chunk=number, lo=lo, hi=hi)
        monkeypatch.setitem(cob.STEP_FUNCTIONS, "deduct", original)
        activity("highest")  # a drawdown, a repayment in full and a write-off
        finish_and_go_on()  # the rerun (in process, keeping the run's chunks) and ten more days
        assert_same(snapshot(), twin, "the API between the due step and the rest")
        raise Rollback


def killed(*args, **kwargs):
    raise RuntimeError("worker killed")
