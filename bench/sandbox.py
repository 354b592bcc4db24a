"""The sandbox and model monitoring at scale. Prints JSON.

    .venv/bin/python bench/sandbox.py --database-url postgres://postgres@127.0.0.1:5432/xiaodai_bench_sandbox
    .venv/bin/python bench/sandbox.py [--merchants 100000] [--chunk-size 5000] [--psi-rows 100000]

The database is a scratch PostgreSQL database of that name, dropped and created each run (kept
with --keep); without --database-url, a new SQLite file in a temporary folder. It holds a champion,
the seed's four products and --merchants merchants (10 regions, B2C and B2B, 8 categories), each
with a current MerchantScore written the way the rating writes it (grade from the PD by today's
grade terms, line from 90 days' settled sales, rate = product rate + the grade's markup) and ranked
by PD. Then, in the same process:
  sandbox_seconds          `sandbox_run_create` + `sandbox_run_execute` of a candidate policy over
                           every merchant (all regions), side by side with today's policy (the
                           second run; sandbox_first_run_seconds: the first, in a fresh process);
  sandbox_region_seconds   the same limited to one region (about a tenth of the merchants);
  sandbox_rss_peak_above_start_mb  the process's peak RSS during the first whole-population run,
                           above what it held before (Linux /proc; null where it cannot be reset);
  sandbox_python_peak_mb_by_chunk_size  tracemalloc's peak during runs with chunks of 1,000 and of
                           --chunk-size: memory follows the chunk, not the number of merchants;
  psi_seconds              PSI of --psi-rows rows × every feature and the score (bins from a
                           reference of as many rows, then shares and PSI per subject), pure numpy:
                           what a monitored period costs once its population is read;
  psi_subjects             how many subjects that covered;
  monitor_seconds          `drift_reports_build` two weeks after the ratings: the week they were
                           made in (its own reference: no training window here) and, when it has
                           closed, their month; for each period (and once for the reference) the
                           ratings are read and the features computed as of the day after it, then
                           3 PSI rows written (score and two features). The scratch database has
                           no trading history, so the feature reads find no rows: a floor for a
                           marketplace with history (see bench/features.py).
"""

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_db import drop_database, reset_peak_rss, setup_django, vm_kb  # noqa: E402

REGIONS = ["浙江", "广东", "江苏", "上海", "北京", "福建", "山东", "四川", "湖北", "河南"]
CATEGORIES = ["服装", "数码", "家居", "食品", "美妆", "母婴", "运动", "图书"]


# Two of the platform's features, so that monitoring has features to read as well as the score.
POINTS_TABLE = {
    "format": "xiaodai.points_table/1",
    "scaling": {"base_points": 600, "base_odds": 50.0, "pdo": 20.0},
    "intercept_points": 500,
    "features": [
        {
            "name": "gmv_90d_yuan",
            "kind": "numeric",
            "splits": [10_000.0, 50_000.0],
            "bins": [
                {"label": "< 10000", "kind": "range", "points": 0},
                {"label": "[10000, 50000)", "kind": "range", "points": 30},
                {"label": ">= 50000", "kind": "range", "points": 60},
                {"label": "missing", "kind": "missing", "points": 10},
            ],
        },
        {
            "name": "refund_rate_90d",
            "kind": "numeric",
            "splits": [0.05],
            "bins": [
                {"label": "< 0.05", "kind": "range", "points": 40},
                {"label": ">= 0.05", "kind": "range", "points": 0},
                {"label": "missing", "kind": "missing", "points": 20},
            ],
        },
    ],
    "meta": {},
}


def populate(n: int, seed: int = 11) -> None:
    """A champion, the seed's products and n merchants with a current, ranked rating."""
    import numpy as np
    from django.utils import timezone

    from lending.models import Product
    from lending.services import products_create_seed
    from merchants.models import Merchant, Owner, PartnerPlatform
    from scoring import calculations as calc
    from scoring.models import MerchantScore, ScoringModel, default_grade_terms
    from scoring.services.rating import rate_within_cap

    rng = np.random.default_rng(seed)
    products_create_seed()
    main = {p.segment: p for p in Product.objects.filter(is_pledged=False)}
    partners = {
        "b2c": PartnerPlatform.objects.create(code="taobao", name="淘宝", kind="b2c"),
        "b2b": PartnerPlatform.objects.create(code="alibaba", name="1688", kind="b2b"),
    }
    model = ScoringModel.objects.create(
        version="m-bench-01",
        points_table=POINTS_TABLE,
        report={"outcome": {"outcome_days": 90, "bad_dpd": 30}},
        source="platform",
        target="target",
        trained_at=timezone.now(),
        trained_by="bench",
        status=ScoringModel.Status.CHAMPION,
    )
    terms = default_grade_terms()
    rates = {
        (p.pk, g): rate_within_cap(
            product=p, daily_rate=calc.rate_for(grade=g, product_rate=p.daily_rate, grade_terms=terms)
        )
        for p in main.values()
        for g in calc.GRADES
    }
    probability = rng.beta(1.2, 12, n)
    sales = np.round(rng.lognormal(15.5, 1.2, n)).astype(np.int64)  # 90 days' settled sales, fen
    kinds = np.where(rng.random(n) < 0.75, "b2c", "b2b")
    regions = rng.integers(0, len(REGIONS), n)
    categories = rng.integers(0, len(CATEGORIES), n)
    batch = 5000
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        owners = Owner.objects.bulk_create(
            Owner(
                partner=partners[kinds[i]],
                name=f"店主{i}",
                national_id=f"33010619900101{i:04d}"[-18:],
                national_id_index=f"idx{i}",
                phone=f"138{i:08d}",
                address="杭州",
                bank_card=f"6222{i:012d}",
                bank_card_index=f"card{i}",
            )
            for i in range(start, stop)
        )
        merchants = Merchant.objects.bulk_create(
            Merchant(
                partner=partners[kinds[i]],
                external_id=f"M{i:07d}",
                owner=owners[i - start],
                shop_name=f"小店{i}",
                category=CATEGORIES[categories[i]],
                region=REGIONS[regions[i]],
                opened_on=timezone.localdate().replace(year=2020),
                content_hash=f"{i:064d}",
            )
            for i in range(start, stop)
        )
        scores = []
        for m in merchants:
            i = int(m.external_id[1:])
            p = float(probability[i])
            grade = calc.grade_for(p, terms)
            product = main[kinds[i]]
            line = calc.line_for(
                grade=grade,
                settled_sales_fen=int(sales[i]),
                amount_min_fen=product.amount_min_fen,
                amount_max_fen=product.amount_max_fen,
                grade_terms=terms,
            )
            scores.append(
                MerchantScore(
                    merchant=m,
                    model=model,
                    product=product,
                    as_of=timezone.localdate(),
                    points=round(600 - 20 * math.log2(p / (1 - p) * 50)),
                    probability=p,
                    grade=grade,
                    components={"settled_sales_90d_fen": int(sales[i]), "model": {"points": 600}},
                    line_fen=line if calc.grade_within_cutoff(grade, "D") else 0,
                    daily_rate=rates[(product.pk, grade)],
                )
            )
        MerchantScore.objects.bulk_create(scores, batch_size=1000)
    from django.db import connection

    from scoring.services.rating import scores_rank

    scores_rank()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does soon after a bulk load
            cursor.execute("ANALYZE")


def sandbox_once(region: str = "", chunk_size: int = 5000) -> tuple[float, dict]:
    from scoring.sandbox.services import sandbox_run_create, sandbox_run_execute

    started = time.perf_counter()
    run = sandbox_run_create(
        created_by=None,
        name="bench",
        region=region,
        segment="",
        policy={"cutoff_grade": "B", "line_multiple": "0.5", "acceptance_rate_target": "0.5"},
        horizon_days=180,
    )
    run = sandbox_run_execute(run_id=run.pk, chunk_size=chunk_size)
    return time.perf_counter() - started, run.result


def psi_bench(rows: int) -> tuple[float, int]:
    import numpy as np
    import pandas as pd

    from scoring.features import FEATURE_NAMES
    from scoring.monitoring import psi as psi_math

    rng = np.random.default_rng(5)
    columns = ["score", *FEATURE_NAMES]
    reference = pd.DataFrame({c: rng.lognormal(3, 1, rows) for c in columns})
    actual = pd.DataFrame({c: rng.lognormal(3.1, 1, rows) for c in columns})
    for frame in (reference, actual):  # some missing values, as features have
        frame.iloc[::17, 3] = np.nan
    started = time.perf_counter()
    for column in columns:
        psi_math.drift(reference[column].to_numpy(), actual[column].to_numpy())
    return time.perf_counter() - started, len(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--psi-rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="a scratch PostgreSQL database (dropped first)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    var_dir = setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-sandbox-")
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        clock = time.perf_counter()
        populate(args.merchants)
        populate_seconds = time.perf_counter() - clock

        rss_before_kb = vm_kb("VmRSS")
        peak_reset = reset_peak_rss()
        cold_seconds, _ = sandbox_once(chunk_size=args.chunk_size)  # the first: imports, rate cap cache
        rss_peak_mb = max((vm_kb("VmHWM") - rss_before_kb) / 1024, 0.0) if peak_reset else None
        seconds, result = sandbox_once(chunk_size=args.chunk_size)
        region_seconds, region_result = sandbox_once(region=REGIONS[0], chunk_size=args.chunk_size)

        python_peak = {}
        for size in sorted({1000, args.chunk_size}):
            tracemalloc.start()
            sandbox_once(chunk_size=size)
            python_peak[str(size)] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()

        psi_seconds, subjects = psi_bench(args.psi_rows)

        from django.utils import timezone

        from scoring.monitoring.services import drift_reports_build

        clock = time.perf_counter()
        drift = drift_reports_build(as_of=timezone.localdate() + dt.timedelta(days=14))
        monitor_seconds = time.perf_counter() - clock
        print(
            json.dumps(
                {
                    "database": connection.vendor,
                    "merchants": args.merchants,
                    "populate_seconds": round(populate_seconds, 1),
                    "chunk_size": args.chunk_size,
                    "sandbox_first_run_seconds": round(cold_seconds, 2),
                    "sandbox_seconds": round(seconds, 2),
                    "sandbox_merchants_per_second": round(result["population"] / seconds),
                    "sandbox_chunks": result["chunks"],
                    "sandbox_approved": {
                        "today": result["baseline"]["approved"],
                        "candidate": result["candidate"]["approved"],
                    },
                    "sandbox_region_merchants": region_result["population"],
                    "sandbox_region_seconds": round(region_seconds, 2),
                    "sandbox_rss_peak_above_start_mb": None if rss_peak_mb is None else round(rss_peak_mb, 1),
                    "sandbox_python_peak_mb_by_chunk_size": python_peak,
                    "psi_rows": args.psi_rows,
                    "psi_subjects": subjects,
                    "psi_seconds": round(psi_seconds, 3),
                    "monitor_periods": drift.get("periods"),
                    "monitor_reports": drift["reports"],
                    "monitor_seconds": round(monitor_seconds, 1),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    finally:
        connection.close()
        if args.database_url and not args.keep:
            drop_database(args.database_url)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
