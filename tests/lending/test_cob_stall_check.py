"""The beat's stall check: a fanned-out close that has not moved for the watch period, with no
dispatcher waiting for it, is taken over once a period (lending.cob_dispatch.cob_stall_check)."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from lending import cob, cob_dispatch
from lending.models import CobChunk, CobRun
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory

THROUGH = DAY + dt.timedelta(days=3)


@pytest.fixture
def taken(db, settings, monkeypatch):
    """The take-overs the check makes (what they send is the dispatcher's, tested with workers)."""
    settings.LENDING_COB_WATCH_SECONDS = 60
    cache.delete_many([cob_dispatch.DISPATCHER_KEY, cob_dispatch.TAKEN_OVER_KEY.format(on=DAY.isoformat())])
    calls = []
    monkeypatch.setattr(cob_dispatch, "_take_over", lambda through, chunk_size: calls.append(through))
    open_pool()
    draw(CreditLineFactory(), 1_000_000)
    yield calls
    cache.delete_many([cob_dispatch.DISPATCHER_KEY, cob_dispatch.TAKEN_OVER_KEY.format(on=DAY.isoformat())])


def started(minutes_ago: float, *, by_wallet: bool = True) -> CobRun:
    run = cob.cob_run_start(on=DAY, by_wallet=by_wallet)
    CobRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - dt.timedelta(minutes=minutes_ago))
    return run


def test_a_stalled_fanned_out_close_is_taken_over_once_a_period(taken):
    started(minutes_ago=5)
    assert cob_dispatch.cob_stall_check(through=THROUGH) == DAY
    assert taken == [THROUGH]
    # A second check in the same period (or at the same time) leaves it to the first.
    assert cob_dispatch.cob_stall_check(through=THROUGH) is None
    assert taken == [THROUGH]


def test_a_close_that_moves_or_is_waited_for_is_left_alone(taken):
    run = started(minutes_ago=5)
    CobChunk.objects.create(business_on=DAY, step="due", chunk=0)  # a chunk claimed just now
    assert cob_dispatch.cob_stall_check(through=THROUGH) is None
    CobChunk.objects.filter(business_on=DAY).update(done_at=timezone.now() - dt.timedelta(minutes=2))
    cache.set(cob_dispatch.DISPATCHER_KEY, THROUGH.isoformat())  # a dispatcher waits for it
    assert cob_dispatch.cob_stall_check(through=THROUGH) is None
    cache.delete(cob_dispatch.DISPATCHER_KEY)
    assert cob_dispatch.cob_stall_check(through=THROUGH) == DAY
    assert taken == [THROUGH]
    CobRun.objects.filter(pk=run.pk).update(status=CobRun.Status.FAILED)
    cache.delete(cob_dispatch.TAKEN_OVER_KEY.format(on=DAY.isoformat()))
    assert cob_dispatch.cob_stall_check(through=THROUGH) is None  # failed: for a person to rerun
    assert taken == [THROUGH]


def test_nothing_is_started_that_no_one_started(taken):
    assert cob_dispatch.cob_stall_check(through=THROUGH) is None  # no run: the nightly's to start
    started(minutes_ago=5, by_wallet=False)  # in process: its own process resumes it
    assert cob_dispatch.cob_stall_check(through=THROUGH) is None
    assert cob_dispatch.cob_stall_check(through=DAY - dt.timedelta(days=1)) is None  # not due yet
    assert taken == []
