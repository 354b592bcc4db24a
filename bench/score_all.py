"""score_all at scale, and one decision's latency. Prints JSON.

    .venv/bin/python bench/score_all.py --database-url postgres://postgres@127.0.0.1:5432/xiaodai_bench_score_all
    .venv/bin/python bench/score_all.py --merchants 20000            # SQLite in a temporary folder

What it builds, in a scratch database (PostgreSQL: dropped and created each run, dropped after
unless --keep): the seed's products and a funding pool; a champion trained by the real pipeline
(`scoring.modeling.train`, challenger off) on a synthetic frame of every feature in
FEATURE_NAMES, so the points table has the demo's shape; then merchants with owners and one
feature snapshot each (values drawn around realistic levels), a verification for one in three,
an officer's finding for one in twenty, and an industry and a region adjustment factor. Trading
history is not simulated: score_all reads snapshots only, which is the point.

What it measures, in one process:
  score_all            `scores_refresh_all` (rate, write MerchantScore rows, rank) over
                       --small merchants, then again after growing the population to
                       --merchants: seconds, merchants a minute, and memory at both sizes —
                       tracemalloc's Python peak and the RSS high-water mark above the start —
                       which must not grow with the number of merchants.
  offers_issue         seconds at the full size.
  decision             medians over --decisions random merchants of: `features_for` (the
                       snapshot read), the points table alone, the 360° rating of one merchant
                       (its verification and finding reads plus `rate_row`: points, terms,
                       grade, lines, rates), and `merchant_rate` end to end (with its writes).
"""

import argparse
import datetime as dt
import json
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

AS_OF = dt.date(2026, 6, 30)


def synthetic_features(rng: random.Random, names: tuple[str, ...]) -> dict:
    """One merchant's features: a latent quality moves the trading ones; a few are missing."""
    quality = rng.random()
    gmv = rng.lognormvariate(10 + quality, 0.8)
    values = {
        "gmv_30d_yuan": gmv / 3,
        "gmv_90d_yuan": gmv,
        "gmv_180d_yuan": gmv * 2,
        "orders_30d": gmv / 300,
        "orders_90d": gmv / 100,
        "orders_180d": gmv / 50,
        "avg_order_yuan_90d": rng.uniform(30, 300),
        "refund_rate_90d": max(0.0, rng.gauss(0.08 - 0.06 * quality, 0.02)),
        "complaint_rate_90d": max(0.0, rng.gauss(0.01 - 0.008 * quality, 0.003)),
        "rating_avg_90d": min(5.0, 3.5 + 1.4 * quality + rng.gauss(0, 0.2)),
        "low_rating_share_90d": max(0.0, 0.2 - 0.18 * quality + rng.gauss(0, 0.03)),
        "settled_share_90d": rng.uniform(0.7, 1.0),
        "gmv_trend_30_90": rng.gauss(1 + 0.2 * (quality - 0.5), 0.1),
        "gmv_weekly_cv_26w": rng.uniform(0.1, 0.6),
        "shop_age_days": rng.uniform(60, 3000),
        "questionnaire_score": min(100.0, max(0.0, rng.gauss(40 + 40 * quality, 10))),
    }
    out = {}
    for name in names:
        value = values.get(name, rng.random())
        out[name] = None if rng.random() < 0.03 else float(value)
    return out, quality


def train_champion(names: tuple[str, ...], labels: dict):
    import pandas as pd

    from scoring.modeling import train

    rng = random.Random(11)
    rows = []
    for _ in range(6000):
        features, quality = synthetic_features(rng, names)
        features["bad"] = 1 if rng.random() < 0.12 * (1 - quality) ** 2 + 0.005 else 0
        rows.append(features)
    return train(pd.DataFrame(rows), "bad", labels=labels, seed=0, challenger=False)


def population_grow(*, start: int, count: int, partners, rng: random.Random, names) -> None:
    """Owners, merchants and snapshots for merchant numbers start .. start + count."""
    from merchants.models import Merchant, Owner, Verification
    from scoring.features import FEATURES_VERSION
    from scoring.models import FeatureSnapshot, OfficerFinding

    batch = 5000
    for offset in range(start, start + count, batch):
        numbers = range(offset, min(offset + batch, start + count))
        owners = Owner.objects.bulk_create(
            [
                Owner(
                    partner=partners[n % 2],
                    name=f"owner {n}",
                    national_id=f"33010619900101{n:04d}"[:18],
                    national_id_index=f"nid{n}",
                    phone=f"138{n:08d}",
                    address="杭州",
                    bank_card=f"6222{n:012d}",
                    bank_card_index="",
                )
                for n in numbers
            ]
        )
        merchants = Merchant.objects.bulk_create(
            [
                Merchant(
                    partner=partners[n % 2],
                    external_id=f"B{n:07d}",
                    owner=owner,
                    shop_name=f"shop {n}",
                    category=rng.choice(["apparel", "food", "electronics", "home"]),
                    region=rng.choice(["zhejiang", "guangdong", "jiangsu", "sichuan"]),
                    opened_on=dt.date(2020, 1, 1),
                    content_hash="bench",
                )
                for n, owner in zip(numbers, owners, strict=True)
            ]
        )
        FeatureSnapshot.objects.bulk_create(
            [
                FeatureSnapshot(
                    merchant=m,
                    as_of=AS_OF,
                    version=FEATURES_VERSION,
                    features=synthetic_features(rng, names)[0],
                )
                for m in merchants
            ],
            batch_size=1000,
        )
        Verification.objects.bulk_create(
            [
                Verification(
                    merchant=m,
                    kind=rng.choice(["business_licence", "tax", "customs"]),
                    provider="bench",
                    result=rng.choice(["verified", "verified", "failed"]),
                    checked_on=AS_OF,
                )
                for m in merchants[::3]
            ]
        )
        OfficerFinding.objects.bulk_create(
            [
                OfficerFinding(merchant=m, kind="video_check", points=rng.randint(-20, 20), found_on=AS_OF)
                for m in merchants[::20]
            ]
        )


def measured(fn):
    """fn() with seconds, tracemalloc's Python peak (MB) and the RSS high-water above the start."""
    rss_before = vm_kb("VmRSS")
    peak_reset = reset_peak_rss()
    tracemalloc.start()
    clock = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - clock
    python_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss_peak = (vm_kb("VmHWM") - rss_before) / 1024 if peak_reset else None
    return result, seconds, round(python_peak, 1), None if rss_peak is None else round(rss_peak, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000, help="first population, to compare memory")
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="a scratch PostgreSQL database (dropped first)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    var_dir = setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-score-all-")
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from common.business_date import business_date_set
    from lending.services import products_create_seed
    from merchants.models import Merchant, PartnerPlatform
    from payments import services as payments
    from scoring.features import FEATURE_LABELS, FEATURE_NAMES, features_for
    from scoring.models import RatingAdjustment, ScoringModel
    from scoring.services import merchant_rate, offers_issue, scores_refresh_all
    from scoring.services.rating import rate_row, rating_context, records_360

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
        clock = time.perf_counter()
        trained = train_champion(FEATURE_NAMES, dict(FEATURE_LABELS))
        train_seconds = time.perf_counter() - clock
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

        rng = random.Random(3)
        runs = []
        grown = 0
        for size in sorted({args.small, args.merchants}):
            clock = time.perf_counter()
            population_grow(start=grown, count=size - grown, partners=partners, rng=rng, names=FEATURE_NAMES)
            setup_seconds = time.perf_counter() - clock
            grown = size
            # Speed without tracemalloc (it slows Python down), then the same run again (it
            # rewrites the same rows) for the Python peak.
            rss_before = vm_kb("VmRSS")
            peak_reset = reset_peak_rss()
            clock = time.perf_counter()
            summary = scores_refresh_all(as_of=AS_OF, chunk_size=args.chunk_size)
            seconds = time.perf_counter() - clock
            rss_peak = round((vm_kb("VmHWM") - rss_before) / 1024, 1) if peak_reset else None
            _, _, python_peak, _ = measured(
                lambda: scores_refresh_all(as_of=AS_OF, chunk_size=args.chunk_size)
            )
            runs.append(
                {
                    "merchants": size,
                    "setup_seconds": round(setup_seconds, 1),
                    "seconds": round(seconds, 2),
                    "merchants_per_minute": round(summary["scored"] / seconds * 60),
                    "python_peak_mb": python_peak,
                    "rss_peak_above_start_mb": rss_peak,
                    "grades": summary["grades"],
                }
            )
        issued, offers_seconds, _, _ = measured(lambda: offers_issue(as_of=AS_OF))

        ids = list(Merchant.objects.values_list("pk", flat=True))
        ctx = rating_context()
        table = ctx.table
        timings = {"features_for": [], "points_table": [], "rating_360": [], "merchant_rate": []}
        pick = random.Random(5)
        for i in range(args.decisions):
            merchant_id = pick.choice(ids)
            start = time.perf_counter_ns()
            features = features_for(merchant_id, as_of=AS_OF)
            read = time.perf_counter_ns()
            table.score(features)
            scored = time.perf_counter_ns()
            merchant = Merchant.objects.only("category", "region", "partner__kind").select_related("partner")
            merchant = merchant.get(pk=merchant_id)
            before_360 = time.perf_counter_ns()
            verifications, findings = records_360(merchant_id, AS_OF)
            rate_row(
                ctx,
                features=features,
                category=merchant.category,
                region=merchant.region,
                kind=merchant.partner.kind,
                verifications=verifications,
                findings=findings,
            )
            done = time.perf_counter_ns()
            timings["features_for"].append((read - start) / 1000)
            timings["points_table"].append((scored - read) / 1000)
            timings["rating_360"].append((done - before_360) / 1000)
            if i % 10 == 0:
                clock = time.perf_counter_ns()
                merchant_rate(merchant=merchant, as_of=AS_OF)
                timings["merchant_rate"].append((time.perf_counter_ns() - clock) / 1000)
        decision = {
            name: {"median_us": round(statistics.median(v)), "p95_us": round(sorted(v)[int(len(v) * 0.95)])}
            for name, v in timings.items()
        }
        decision["features_for_plus_points_plus_360_median_us"] = round(
            statistics.median(
                a + b + c
                for a, b, c in zip(
                    timings["features_for"], timings["points_table"], timings["rating_360"], strict=True
                )
            )
        )
        result = {
            "database": connection.vendor,
            "chunk_size": args.chunk_size,
            "champion_features": len(table.features),
            "champion_train_seconds": round(train_seconds, 1),
            "score_all": runs,
            "offers_issue": {"offers": issued, "seconds": round(offers_seconds, 2)},
            "decision": decision,
            "decisions_measured": args.decisions,
        }
        if args.keep:
            result["var_dir"] = var_dir
        print(json.dumps(result, indent=2, ensure_ascii=False))
    finally:
        connection.close()
        if args.database_url and not args.keep:
            drop_database(args.database_url)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
