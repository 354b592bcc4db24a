"""Nightly scoring runs in chunks: the same rows whether the chunks run in this process or on
Celery workers (one or two), a duplicate or redelivered chunk writes nothing, a chunk that died
half-way is done again by a rerun over the ranges frozen when the run started."""

import contextlib
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from common.business_date import business_date_set, business_date_today
from merchants.models import Merchant
from payments import selectors as payment_selectors
from payments import services as payments
from scoring import services as scoring_services
from scoring.features import merchant_days_catch_up, snapshots_refresh
from scoring.models import (
    DriftReport,
    FeatureSnapshot,
    MerchantDay,
    MerchantDayRun,
    MerchantScore,
    NightlyChunk,
    NightlyRun,
    Offer,
    ScoringModel,
)
from scoring.monitoring.services import monitoring_run
from scoring.monitoring.tasks import monitoring_nightly
from scoring.selectors import merchant_id_ranges, policy_get
from scoring.services import nightly, offers_issue, scores_refresh_all
from scoring.tasks import features_refresh, nightly_chunk, scores_refresh_nightly
from tests.conftest import requires_postgres, requires_redis
from tests.merchants.factories import MerchantFactory, OrderFactory
from tests.scoring.factories import champion_create, products, rated_merchant
from tests.scoring.test_monitoring import watched  # noqa: F401 - a fixture

TODAY = dt.date(2026, 3, 10)
CHUNK = 3


@pytest.fixture
def small_chunks(settings):
    settings.SCORING_NIGHTLY_CHUNK_SIZE = CHUNK


def world_base():
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.acceptance_rate_target = Decimal("0.5")
    policy.cutoff_grade = "E"
    policy.save()


def build_rated_world() -> list[Merchant]:
    """Eleven merchants, ten with snapshots; two not active: three chunks of three active."""
    world_base()
    merchants = [rated_merchant(gmv=90_000.0 - 7_000.0 * i, refund=0.008 * i) for i in range(10)]
    MerchantFactory()  # no snapshot: counted, not scored
    Merchant.objects.filter(pk__in=[merchants[2].pk, merchants[7].pk]).update(
        status=Merchant.Status.RESTRICTED
    )
    return merchants


@pytest.fixture
def rated_world(db, small_chunks):
    return build_rated_world()


def score_rows() -> list[tuple]:
    return list(
        MerchantScore.objects.order_by("merchant_id", "as_of").values_list(
            "merchant_id",
            "as_of",
            "model_id",
            "product_id",
            "points",
            "probability",
            "grade",
            "components",
            "reasons",
            "line_fen",
            "daily_rate",
            "is_current",
            "rank",
        )
    )


def offer_rows() -> list[tuple]:
    return list(
        Offer.objects.order_by("merchant_id", "product_id").values_list(
            "merchant_id",
            "product_id",
            "line_fen",
            "daily_rate",
            "grade",
            "rank",
            "issued_on",
            "expires_on",
            "status",
        )
    )


def rescoring_state() -> tuple[list, list]:
    return score_rows(), offer_rows()


def rescoring_forget() -> None:
    Offer.objects.all().delete()
    MerchantScore.objects.all().delete()
    NightlyRun.objects.all().delete()


def rescored_in_process() -> tuple[list, list]:
    """What score_all writes (the in-process path), then forgotten, for a run to write again."""
    scores_refresh_all(as_of=TODAY, chunk_size=CHUNK)
    offers_issue(as_of=TODAY)
    state = rescoring_state()
    rescoring_forget()
    return state


# --- in process ---------------------------------------------------------------------------------


def test_nightly_rescoring_run_writes_what_score_all_writes(rated_world):
    expected = rescored_in_process()
    assert len(expected[0]) == 8 and expected[1]

    summary = scores_refresh_nightly(as_of=TODAY.isoformat())

    assert rescoring_state() == expected
    assert summary["scored"] == 8 and summary["without_features"] == 1 and summary["ranked"] == 8
    assert summary["offers_issued"] == len(expected[1])
    run = NightlyRun.objects.get(kind="scores", key=TODAY.isoformat())
    assert run.finished_at is not None and len(run.phases[0]["rate"]) == 3
    assert NightlyChunk.objects.filter(run=run, step="rate").count() == 3
    # Again for the same date: nothing is done twice, the same summary comes back.
    assert scores_refresh_nightly(as_of=TODAY.isoformat()) == summary
    assert rescoring_state() == expected


def test_before_any_model_is_promoted_the_night_rates_with_the_expert_scorecard(rated_world):
    ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION).update(
        status=ScoringModel.Status.RETIRED
    )

    summary = scores_refresh_nightly(as_of=TODAY.isoformat())

    assert summary["scored"] == 8
    used = set(MerchantScore.objects.filter(as_of=TODAY).values_list("model__version", flat=True))
    assert used == {"expert-1"}


def test_a_chunk_that_died_half_way_is_done_by_the_rerun_over_the_frozen_ranges(rated_world, monkeypatch):
    expected = rescored_in_process()
    real = nightly.scores_rate_range
    planned = merchant_id_ranges(size=CHUNK, is_active_only=True)

    def dies_in_the_second_chunk(*, as_of, lo, hi, ctx):
        counts = real(as_of=as_of, lo=lo, hi=hi, ctx=ctx)  # its rows are written, then it dies
        if lo == planned[1][0]:
            raise RuntimeError("worker killed")
        return counts

    monkeypatch.setattr(nightly, "scores_rate_range", dies_in_the_second_chunk)
    with pytest.raises(RuntimeError):
        scores_refresh_nightly(as_of=TODAY.isoformat())
    run = NightlyRun.objects.get(kind="scores")
    assert list(NightlyChunk.objects.filter(run=run).values_list("step", "chunk")) == [("rate", 0)]
    assert run.finished_at is None
    # Nothing of the dead chunk is left: its rows rolled back with its claim.
    assert not MerchantScore.objects.filter(
        merchant_id__gte=planned[1][0], merchant_id__lte=planned[1][1]
    ).exists()

    # While it was down the first merchant left: ranges recomputed now would start elsewhere.
    Merchant.objects.filter(pk=planned[0][0]).update(status=Merchant.Status.RESTRICTED)
    assert merchant_id_ranges(size=CHUNK, is_active_only=True) != planned
    Merchant.objects.filter(pk=planned[0][0]).update(status=Merchant.Status.ACTIVE)
    monkeypatch.setattr(nightly, "scores_rate_range", real)

    summary = scores_refresh_nightly(as_of=TODAY.isoformat())

    run.refresh_from_db()
    assert run.phases == [{"rate": [list(r) for r in planned]}]
    assert rescoring_state() == expected
    assert summary["scored"] == 8 and run.finished_at is not None


def every_chunk_twice(run: NightlyRun, *, threads: bool) -> list[int | None]:
    """Each chunk of the run done by two workers: at once in two threads, or one after the other
    (a duplicate delivery)."""
    chunks = len(run.phases[0]["rate"])
    done: list[int | None] = []

    def worker():
        try:
            for number in range(chunks):
                done.append(nightly.nightly_chunk_run(run_id=run.pk, step="rate", chunk=number))
        finally:
            if threads:
                connection.close()

    if threads:
        pair = [threading.Thread(target=worker) for _ in range(2)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
    else:
        worker()
        worker()
    return done


def test_a_duplicate_delivery_of_every_chunk_writes_each_once(rated_world):
    expected = rescored_in_process()
    run = nightly.scores_run_start(as_of=TODAY, model=champion())

    done = every_chunk_twice(run, threads=False)

    assert done.count(None) == 3 and sum(d for d in done if d) == 8
    nightly.nightly_run_inline(run)
    assert rescoring_state() == expected
    assert NightlyChunk.objects.filter(run=run, step="rate").count() == 3


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_doing_every_chunk_at_once_write_each_once(settings):
    settings.SCORING_NIGHTLY_CHUNK_SIZE = CHUNK
    build_rated_world()
    expected = rescored_in_process()
    run = nightly.scores_run_start(as_of=TODAY, model=champion())

    done = every_chunk_twice(run, threads=True)

    assert done.count(None) == 3 and sum(d for d in done if d) == 8
    nightly.nightly_run_inline(run)
    assert rescoring_state() == expected
    assert NightlyChunk.objects.filter(run=run, step="rate").count() == 3


def champion():
    from scoring.selectors import champion_get

    return champion_get()


# --- features -----------------------------------------------------------------------------------


@pytest.fixture
def trading_world(db, small_chunks):
    """Seven merchants trading over the five days before the business date."""
    world_base()
    merchants = [MerchantFactory(opened_on=dt.date(2025, 1, 1)) for _ in range(7)]
    for day in range(5):
        on = TODAY - dt.timedelta(days=5 - day)
        for k, merchant in enumerate(merchants):
            for n in range((k + day) % 3 + 1):
                at = timezone.make_aware(dt.datetime.combine(on, dt.time(9 + n, 15 * k % 60)))
                OrderFactory(
                    merchant=merchant,
                    amount_fen=10_000 + 1_000 * k + 100 * n,
                    placed_at=at,
                    paid_at=at + dt.timedelta(minutes=5),
                    status="paid",
                )
    return merchants


def features_state() -> tuple[list, list, list]:
    days = list(MerchantDay.objects.order_by("merchant_id", "business_on").values())
    for row in days:
        row.pop("id")
    runs = list(MerchantDayRun.objects.order_by("business_on").values_list("business_on", "rows", "is_final"))
    snapshots = list(
        FeatureSnapshot.objects.order_by("merchant_id").values_list(
            "merchant_id", "as_of", "version", "features"
        )
    )
    return days, runs, snapshots


def features_forget() -> None:
    MerchantDay.objects.all().delete()
    MerchantDayRun.objects.all().delete()
    FeatureSnapshot.objects.all().delete()
    NightlyRun.objects.all().delete()


def features_in_process() -> tuple[list, list, list]:
    merchant_days_catch_up(through=TODAY - dt.timedelta(days=1), redo_days=3, as_of=business_date_today())
    snapshots_refresh(as_of=TODAY, chunk_size=CHUNK)
    state = features_state()
    features_forget()
    return state


def test_nightly_features_run_writes_what_the_catch_up_and_snapshots_write(trading_world):
    expected = features_in_process()
    assert len(expected[0]) == 35 and len(expected[2]) == 7

    summary = features_refresh(through=(TODAY - dt.timedelta(days=1)).isoformat())

    assert features_state() == expected
    assert summary == {
        "days_built": [(TODAY - dt.timedelta(days=5 - k)).isoformat() for k in range(5)],
        "snapshots": 7,
    }
    run = NightlyRun.objects.get(kind="features")
    assert [list(phase) for phase in run.phases] == [["days"], ["snapshots"]]
    assert len(run.phases[1]["snapshots"]) == 3


# --- on Celery workers (PostgreSQL and Redis) ---------------------------------------------------


def broker_drained(queue: str) -> bool:
    """No message waiting in the queue nor taken and not yet acknowledged (Redis transport)."""
    from config.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        return client.llen(queue) == 0 and client.hlen("unacked") == 0


def wait_until(condition, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the workers did not finish in time")
        time.sleep(0.2)


def database_url() -> str:
    """The test database, for worker processes started beside the test."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def workers(count: int):
    """`count` Celery workers on every queue: one in this process (celery's testing worker), the
    others as separate worker processes on the same test database and broker."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
                "-n",
                f"nightly-test-{n}@%h",
                "-Q",
                ",".join(settings.CELERY_QUEUES_ALL),
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )
        for n in range(1, count)
    ]
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=settings.CELERY_QUEUES_ALL
        ):
            yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def run_finished(kind: str, key: str):
    return lambda: NightlyRun.objects.filter(kind=kind, key=key, finished_at__isnull=False).exists()


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker_count", [1, 2])
def test_rescoring_dispatched_to_workers_writes_what_it_writes_in_process(worker_count, settings):
    settings.SCORING_NIGHTLY_CHUNK_SIZE = CHUNK
    build_rated_world()
    expected = rescored_in_process()
    key = TODAY.isoformat()

    with workers(worker_count):
        scores_refresh_nightly.apply_async(kwargs={"as_of": key})
        wait_until(run_finished("scores", key))
        assert rescoring_state() == expected
        # Every chunk and the coordinator delivered again: nothing is written twice.
        run = NightlyRun.objects.get(kind="scores", key=key)
        for number in range(len(run.phases[0]["rate"])):
            nightly_chunk.delay(run.pk, "rate", number)
        scores_refresh_nightly.apply_async(kwargs={"as_of": key})
        time.sleep(0.5)
        wait_until(lambda: broker_drained(settings.CELERY_QUEUE_BATCH))

    assert rescoring_state() == expected
    assert NightlyChunk.objects.filter(run=run, step="rate").count() == 3
    assert NightlyChunk.objects.filter(run=run, step="finish").count() == 1


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_features_dispatched_to_two_workers_write_what_they_write_in_process(settings):
    settings.SCORING_NIGHTLY_CHUNK_SIZE = CHUNK
    world_base()
    merchants = [MerchantFactory(opened_on=dt.date(2025, 1, 1)) for _ in range(7)]
    for day in range(5):
        on = TODAY - dt.timedelta(days=5 - day)
        for k, merchant in enumerate(merchants):
            at = timezone.make_aware(dt.datetime.combine(on, dt.time(10, k)))
            OrderFactory(
                merchant=merchant, amount_fen=10_000 + 1_000 * k, placed_at=at, paid_at=at, status="paid"
            )
    expected = features_in_process()
    through = (TODAY - dt.timedelta(days=1)).isoformat()

    with workers(2):
        features_refresh.apply_async(kwargs={"through": through})
        wait_until(run_finished("features", through))

    assert features_state() == expected


def test_funding_capacity_has_one_home_in_payments(db):
    assert scoring_services.funding_capacity_fen is payment_selectors.funding_capacity_fen
    pool = payments.funding_pool_create(code="p1", name="P1")
    payments.funding_pool_add_capital(pool=pool, amount_fen=5_000_000, idempotency_key="c1")
    other = payments.funding_pool_create(code="p2", name="P2")
    payments.funding_pool_add_capital(pool=other, amount_fen=7_000_000, idempotency_key="c2")
    pools = [pool, other]
    for p in pools:
        p.refresh_from_db()
    assert payment_selectors.funding_capacity_fen() == sum(p.capacity_fen for p in pools) == 12_000_000


# --- monitoring ---------------------------------------------------------------------------------

MONITORED_ON = dt.date(2026, 4, 6)  # five weeks and March closed


def drift_rows() -> list[tuple]:
    return list(
        DriftReport.objects.order_by("period", "period_start", "subject").values_list(
            "model_id",
            "period",
            "period_start",
            "subject",
            "psi",
            "status",
            "reference_start",
            "reference_end",
            "expected",
            "actual",
        )
    )


def monitored_in_process() -> tuple[list, dict]:
    summary = monitoring_run(as_of=MONITORED_ON)
    rows = drift_rows()
    DriftReport.objects.all().delete()
    NightlyRun.objects.all().delete()
    return rows, summary


def test_nightly_monitoring_run_writes_what_monitoring_run_writes(watched, mailoutbox):  # noqa: F811
    rows, summary = monitored_in_process()
    assert len(rows) == 12 and summary["emails"] == 0  # nobody to email

    nightly_summary = monitoring_nightly(as_of=MONITORED_ON.isoformat())

    assert drift_rows() == rows
    assert nightly_summary == summary
    run = NightlyRun.objects.get(kind="monitoring")
    # Every closed period with subjects to report is a chunk (the last two weeks rated nobody).
    assert [c[0] for c in run.phases[0]["drift"]] == ["week"] * 5 + ["month"]


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_monitoring_dispatched_to_two_workers_writes_what_it_writes_in_process(watched):  # noqa: F811
    rows, summary = monitored_in_process()
    key = MONITORED_ON.isoformat()

    with workers(2):
        monitoring_nightly.apply_async(kwargs={"as_of": key})
        wait_until(run_finished("monitoring", key))

    assert drift_rows() == rows
    assert NightlyRun.objects.get(kind="monitoring").summary == summary
