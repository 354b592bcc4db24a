"""The nightly rescoring (`scoring.tasks.scores_refresh_nightly`) in process and fanned out to 1
and 2 Celery worker processes, on PostgreSQL and Redis. Prints JSON.

    .venv/bin/python bench/scoring_nightly.py \\
        --database-url postgres://postgres@127.0.0.1:5432/xiaodai_bench_scoring_nightly \\
        --redis-url redis://127.0.0.1:6379/6 [--merchants 50000] [--chunk-size 5000] [--workers 1,2]

The world is bench/score_all.py's (the seed's products, a funding pool, a champion trained by the
real pipeline on a synthetic frame, merchants with one feature snapshot each, verifications,
officers' findings, adjustment factors), in a scratch database dropped and created each run.

Measured, each on the same merchants and date, after the scores, offers and runs of the one
before are truncated (and after one unmeasured in-process run that warms the caches):
  in_process     the coordinator called as a function: every chunk, then ranking, offers and
                 the history thinned, in this process (what commands and the demo do);
  workers_N      N worker processes (`celery -A config worker --pool solo -Q batch`), started
                 and answering a ping before the clock starts; the coordinator is sent to the
                 batch queue and the clock stops when the run's finish has committed.
For each: seconds end to end, seconds until the last rating chunk committed (the part that fans
out), the finish (rank, offers, history; one transaction on one worker), merchants a minute, and
whether the scores and offers equal the in-process run's (a digest of their rows).
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_db import drop_database, setup_django  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def rows_digest() -> str:
    """A digest of what a rescoring writes: every score's rating and rank, every offer."""
    from scoring.models import MerchantScore, Offer

    digest = hashlib.sha256()
    for row in (
        MerchantScore.objects.order_by("merchant_id", "as_of")
        .values_list(
            "merchant_id",
            "as_of",
            "points",
            "probability",
            "grade",
            "line_fen",
            "daily_rate",
            "is_current",
            "rank",
        )
        .iterator(chunk_size=5000)
    ):
        digest.update(repr(row).encode())
    for row in (
        Offer.objects.order_by("merchant_id", "product_id")
        .values_list("merchant_id", "product_id", "line_fen", "daily_rate", "grade", "rank", "status")
        .iterator(chunk_size=5000)
    ):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def forget() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE scoring_offer, scoring_merchantscore, scoring_nightlychunk, scoring_nightlyrun CASCADE"
        )
        cursor.execute("VACUUM ANALYZE scoring_merchantscore")


def run_timing(seconds: float) -> dict:
    """The finished run's own timings from its rows: start → last rating chunk → finish."""
    from scoring.models import NightlyChunk, NightlyRun

    run = NightlyRun.objects.get(kind="scores", key=AS_OF.isoformat())
    chunks = NightlyChunk.objects.filter(run=run, step="rate").order_by("done_at")
    last_chunk = chunks.last().done_at
    return {
        "seconds": round(seconds, 2),
        "rating_chunks": chunks.count(),
        "rating_seconds": round((last_chunk - run.started_at).total_seconds(), 2),
        "finish_seconds": round((run.finished_at - last_chunk).total_seconds(), 2),
        "scored": run.summary["scored"],
        "offers_issued": run.summary["offers_issued"],
        "merchants_per_minute": round(run.summary["scored"] / seconds * 60),
    }


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    from django.conf import settings

    from config.celery import app

    app.control.purge()
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
                "--loglevel",
                "WARNING",
                "-n",
                f"bench-{n}@%h",
                "-Q",
                settings.CELERY_QUEUE_BATCH,
            ],
            cwd=ROOT,
            env=env,
            stdout=sys.stderr,  # the workers' banners: stdout is the JSON
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 120
    while len(app.control.ping(timeout=1.0) or []) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not answer in two minutes")
    return processes


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=50_000)
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure, e.g. 1,2")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/xiaodai_bench_scoring_nightly"
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    os.environ["REDIS_URL"] = args.redis_url
    var_dir = setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-scoring-nightly-")
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from score_all import population_grow, train_champion

    from common.business_date import business_date_set
    from lending.services import products_create_seed
    from merchants.models import PartnerPlatform
    from payments import services as payments
    from scoring.features import FEATURE_LABELS, FEATURE_NAMES
    from scoring.models import NightlyRun, RatingAdjustment, ScoringModel
    from scoring.tasks import scores_refresh_nightly

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
    }
    try:
        call_command("migrate", verbosity=0)
        business_date_set(on=AS_OF, allow_backwards=True)
        products_create_seed()
        pool = payments.funding_pool_create(code="main", name="Main")
        payments.funding_pool_add_capital(pool=pool, amount_fen=10**13, idempotency_key="capital")
        partners = [
            PartnerPlatform.objects.create(code="b2c", name="B2C", kind="b2c"),
            PartnerPlatform.objects.create(code="b2b", name="B2B", kind="b2b"),
        ]
        trained = train_champion(FEATURE_NAMES, dict(FEATURE_LABELS))
        ScoringModel.objects.create(
            version="m-bench-01",
            points_table=trained.points_table.to_dict(),
            source="bench",
            target="bad",
            trained_at=timezone.now(),
            trained_by="bench",
            status="champion",
        )
        RatingAdjustment.objects.create(dimension="industry", key="数码", factor="1.2")
        RatingAdjustment.objects.create(dimension="region", key="四川", factor="0.9")
        clock = time.perf_counter()
        population_grow(
            start=0, count=args.merchants, partners=partners, rng=random.Random(3), names=FEATURE_NAMES
        )
        setup_seconds = time.perf_counter() - clock
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

        # A first run warms the caches (PostgreSQL's buffers, the points table): not measured.
        scores_refresh_nightly(as_of=AS_OF.isoformat(), dispatch=False, chunk_size=args.chunk_size)
        forget()
        results: dict = {}
        clock = time.perf_counter()
        scores_refresh_nightly(as_of=AS_OF.isoformat(), dispatch=False, chunk_size=args.chunk_size)
        results["in_process"] = run_timing(time.perf_counter() - clock)
        expected = rows_digest()
        results["in_process"]["same_rows_as_in_process"] = True

        for count in [int(n) for n in args.workers.split(",") if n.strip()]:
            forget()
            processes = start_workers(count, env)
            try:
                clock = time.perf_counter()
                scores_refresh_nightly.apply_async(
                    kwargs={"as_of": AS_OF.isoformat(), "chunk_size": args.chunk_size},
                    queue=settings.CELERY_QUEUE_BATCH,
                )
                while not NightlyRun.objects.filter(
                    kind="scores", key=AS_OF.isoformat(), finished_at__isnull=False
                ).exists():
                    time.sleep(0.1)
                seconds = time.perf_counter() - clock
                # The worker that finished updates the summary with the history thinning last.
                time.sleep(0.5)
            finally:
                stop_workers(processes)
            results[f"workers_{count}"] = run_timing(seconds)
            results[f"workers_{count}"]["same_rows_as_in_process"] = rows_digest() == expected

        print(
            json.dumps(
                {
                    "database": connection.vendor,
                    "broker": "redis",
                    "merchants": args.merchants,
                    "chunk_size": args.chunk_size,
                    "cpus": os.cpu_count(),
                    "setup_seconds": round(setup_seconds, 1),
                    "rescoring": results,
                },
                indent=2,
            )
        )
    finally:
        connection.close()
        if not args.keep:
            drop_database(args.database_url)
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
