"""Scoring features at demo scale: build the daily aggregates of a seeded marketplace's whole
history, one more day of them, every merchant's snapshot, and read one snapshot the way a
decision does. Prints JSON.

    .venv/bin/python bench/features.py [--merchants 2000] [--days 365]
    .venv/bin/python bench/features.py --database-url postgres://postgres@127.0.0.1:5432/xiaodai_bench_features

The marketplace is seeded through `demo.simulator.marketplace_seed` (what `seed_demo`
calls) with scoring's own listener switched off, so the seed's time and scoring's are told
apart; then, in the same process:
  history_seconds      `merchant_days_catch_up` over the whole history (one INSERT … SELECT …
                       GROUP BY per span of up to 92 days);
  one_day_seconds      `merchant_days_build` of the last day again (what each closed date costs);
  snapshot_seconds     `snapshots_refresh` of every merchant (chunks of --chunk-size), with the
                       process's peak RSS above what it held before;
  python_peak_mb       tracemalloc's peak during snapshots of chunks of 500 and of --chunk-size:
                       memory follows the chunk, not the number of merchants;
  features_for_us      median and 95th percentile over 2,000 reads of random merchants;
  features_as_of_ms    median of 50 point-in-time computations for one merchant (what the
                       training frame pays per disbursement date).
Without --database-url the database is a new SQLite file in a temporary folder; with it, a
scratch PostgreSQL database of that name, dropped and created each run (kept with --keep).
"""

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_db import drop_database, reset_peak_rss, setup_django, vm_kb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end-date", default="2025-06-30")
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--database-url", default=None, help="a scratch PostgreSQL database (dropped first)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    os.environ["XIAODAI_DEMO"] = "1"  # the marketplace is the demo's simulator
    var_dir = setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-features-")
    from django.core.management import call_command
    from django.db import connection

    from common.business_date import business_date_today
    from demo.simulator import marketplace_seed
    from merchants.models import Merchant
    from merchants.signals import marketplace_seeded
    from scoring.features import features_as_of, features_for, merchant_days_build, snapshots_refresh
    from scoring.features.aggregates import merchant_days_catch_up
    from scoring.models import MerchantDay

    ended_on = dt.date.fromisoformat(args.end_date)
    as_of = ended_on + dt.timedelta(days=1)
    try:
        call_command("migrate", verbosity=0)
        marketplace_seeded.disconnect(dispatch_uid="demo.scoring.seeded")
        clock = time.perf_counter()
        seed = marketplace_seed(merchants=args.merchants, days=args.days, seed=args.seed, ended_on=ended_on)
        seed_seconds = time.perf_counter() - clock

        clock = time.perf_counter()
        built = merchant_days_catch_up(through=ended_on, as_of=business_date_today())
        history_seconds = time.perf_counter() - clock
        rows = MerchantDay.objects.count()

        clock = time.perf_counter()
        merchant_days_build(first_on=ended_on, last_on=ended_on, as_of=business_date_today())
        one_day_seconds = time.perf_counter() - clock

        rss_before_kb = vm_kb("VmRSS")
        peak_reset = reset_peak_rss()
        clock = time.perf_counter()
        written = snapshots_refresh(as_of=as_of, chunk_size=args.chunk_size)
        snapshot_seconds = time.perf_counter() - clock
        snapshot_peak_mb = (vm_kb("VmHWM") - rss_before_kb) / 1024 if peak_reset else None

        python_peak = {}
        for size in sorted({500, args.chunk_size}):
            tracemalloc.start()
            snapshots_refresh(as_of=as_of, chunk_size=size)
            python_peak[str(size)] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()

        ids = list(Merchant.objects.values_list("pk", flat=True))
        rng = random.Random(1)
        reads = []
        for _ in range(2000):
            merchant_id = rng.choice(ids)
            started = time.perf_counter_ns()
            features_for(merchant_id, as_of=business_date_today())
            reads.append((time.perf_counter_ns() - started) / 1000)
        reads.sort()

        point_in_time = []
        for _ in range(50):
            merchant_id = rng.choice(ids)
            started = time.perf_counter()
            features_as_of([merchant_id], as_of - dt.timedelta(days=rng.randint(0, 60)))
            point_in_time.append((time.perf_counter() - started) * 1000)

        result = {
            "database": connection.vendor,
            "merchants": args.merchants,
            "days": args.days,
            "orders": seed.orders,
            "seed_seconds_without_scoring": round(seed_seconds, 1),
            "history_days_built": len(built),
            "merchant_day_rows": rows,
            "history_seconds": round(history_seconds, 2),
            "one_day_seconds": round(one_day_seconds, 3),
            "snapshots": written,
            "chunk_size": args.chunk_size,
            "snapshot_seconds": round(snapshot_seconds, 2),
            "snapshot_rss_peak_above_start_mb": round(snapshot_peak_mb, 1)
            if snapshot_peak_mb is not None
            else None,
            "python_peak_mb_by_chunk_size": python_peak,
            "features_for_us": {
                "median": round(statistics.median(reads)),
                "p95": round(reads[int(len(reads) * 0.95)]),
            },
            "features_as_of_one_merchant_ms": round(statistics.median(point_in_time), 1),
        }
        if args.keep:
            result["var_dir"] = var_dir
        print(json.dumps(result, indent=2))
    finally:
        connection.close()
        if args.database_url and not args.keep:
            drop_database(args.database_url)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
