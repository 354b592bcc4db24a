"""The nightly jobs other than close of business, as an outsider tries them: a process killed at
the worst moment, then run again, must end as a run never killed; the same job started twice at
once must end well in both processes and write what one run writes."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections

from common.business_date import business_date_today
from lending import collections
from lending.models import CollectionCase, CollectionCaseChange, Loan
from merchants.models import Merchant
from riskcontrol.models import NetworkRun, RingFlag
from riskcontrol.network.services import network_run_build
from scoring.models import MerchantScore, NightlyChunk, NightlyRun, ScoringModel
from scoring.services import nightly
from scoring.tasks import scores_refresh_nightly
from tests.conftest import requires_postgres
from tests.lending.conftest import open_pool
from tests.lending.test_collections import spent_loan
from tests.merchants.factories import MerchantFactory
from tests.scoring.test_nightly import TODAY, rated_world, small_chunks  # noqa: F401 - fixtures


def old_rating() -> MerchantScore:
    """A past rating the night's thinning deletes (not current, not a Monday's, no offer)."""
    on = TODAY - dt.timedelta(days=60)
    assert on.weekday() != 0
    return MerchantScore.objects.create(
        merchant=Merchant.objects.order_by("pk").first(),
        model=ScoringModel.objects.get(status=ScoringModel.Status.CHAMPION),
        as_of=on,
        points=600,
        probability=0.02,
        grade="B",
        is_current=False,
    )


@pytest.mark.usefixtures("rated_world")
def test_rescoring_killed_after_its_run_finished_thins_the_history_when_run_again(monkeypatch):
    """The run's last commit is done (ratings, ranks, offers); the worker dies while thinning the
    history. The coordinator run again finds the run finished: it must still thin the history."""
    stale = old_rating()
    real = nightly.scores_history_thin

    def killed(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(nightly, "scores_history_thin", killed)
    with pytest.raises(RuntimeError):
        scores_refresh_nightly(as_of=TODAY.isoformat())
    run = NightlyRun.objects.get(kind="scores", key=TODAY.isoformat())
    assert run.finished_at is not None and "history_thinned" not in run.summary
    monkeypatch.setattr(nightly, "scores_history_thin", real)

    summary = scores_refresh_nightly(as_of=TODAY.isoformat())

    assert not MerchantScore.objects.filter(pk=stale.pk).exists()
    assert summary["history_thinned"] >= 1
    run.refresh_from_db()
    assert run.summary == summary
    # Done once: a third call finds it recorded and does nothing more.
    assert NightlyChunk.objects.filter(run=run, step=nightly.AFTER).count() == 1
    old_rating()
    assert scores_refresh_nightly(as_of=TODAY.isoformat()) == summary
    assert MerchantScore.objects.filter(as_of=TODAY - dt.timedelta(days=60)).exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_network_built_twice_at_once_ends_well_in_both_as_one_build(monkeypatch):
    """The nightly task and an officer's `network_build` on the same date at once (the task
    takes no command lock): the second must wait for the first and replace its run, not fail
    on the run's unique date and detector, and one run with its flags is left."""
    MerchantFactory.create_batch(3)
    on = dt.date(2026, 3, 10)
    detector = NetworkRun.Detector.SHARED_ATTRIBUTES
    first_wrote, second_done = threading.Event(), threading.Event()
    real = RingFlag.objects.bulk_create
    errors: list[BaseException] = []

    def bulk_create(flags, **kwargs):
        created = real(flags, **kwargs)
        if not first_wrote.is_set():
            # The first holds its uncommitted run until the second is done or waits on a lock.
            first_wrote.set()
            for _ in range(600):
                if second_done.is_set() or _someone_waits_on_a_lock():
                    break
                time.sleep(0.05)
        return created

    monkeypatch.setattr(RingFlag.objects, "bulk_create", bulk_create)

    def build(after: threading.Event | None, done: threading.Event | None) -> None:
        try:
            if after is not None:
                after.wait(30)
            network_run_build(on=on, detector=detector)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            if done is not None:
                done.set()
            connection.close()

    first = threading.Thread(target=build, args=(None, None))
    second = threading.Thread(target=build, args=(first_wrote, second_done))
    first.start()
    second.start()
    first.join()
    second.join()

    assert errors == []
    run = NetworkRun.objects.get(business_on=on, detector=detector)
    assert run.finished_at is not None and run.flagged == RingFlag.objects.filter(run=run).count()


def _someone_waits_on_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0] > 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_collections_synced_twice_at_once_opens_each_case_once_and_both_end_well(monkeypatch):
    """Close of business's last step and the nightly collections task sync the same date at
    once: the second must wait and find the first's cases, not fail on one open case per loan."""
    open_pool()
    loans = [spent_loan(code=f"ten-days-{n}") for n in range(2)]
    Loan.objects.filter(pk__in=[loan.pk for loan in loans]).update(
        status=Loan.Status.OVERDUE, days_past_due=5, max_days_past_due=5
    )
    on = business_date_today()
    first_wrote, second_done = threading.Event(), threading.Event()
    real = CollectionCaseChange.objects.bulk_create
    errors: list[BaseException] = []

    def bulk_create(changes, **kwargs):
        created = real(changes, **kwargs)
        if not first_wrote.is_set():
            first_wrote.set()
            for _ in range(600):
                if second_done.is_set() or _someone_waits_on_a_lock():
                    break
                time.sleep(0.05)
        return created

    monkeypatch.setattr(CollectionCaseChange.objects, "bulk_create", bulk_create)

    def sync(after: threading.Event | None, done: threading.Event | None) -> None:
        try:
            if after is not None:
                after.wait(30)
            collections.cases_sync(on=on)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            if done is not None:
                done.set()
            connection.close()

    first = threading.Thread(target=sync, args=(None, None))
    second = threading.Thread(target=sync, args=(first_wrote, second_done))
    first.start()
    second.start()
    first.join()
    second.join()

    assert errors == []
    assert sorted(CollectionCase.objects.values_list("loan_id", "status")) == sorted(
        (loan.pk, "open") for loan in loans
    )
    assert CollectionCaseChange.objects.filter(kind="opened").count() == 2
