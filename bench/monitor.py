"""Post-loan monitoring: how fast, and how early.

    # speed: merchants per second of one monitoring run, on a scratch PostgreSQL database
    .venv/bin/python bench/monitor.py speed --merchants 10000 100000

    # quality: a seeded demo marketplace traded and closed day by day for a quarter, monitored
    # each night; scores the warnings against the simulator's hidden truth (cash_dry_on)
    .venv/bin/python bench/monitor.py quality --merchants 300 --days 120 --quarter 90
    # … over several marketplaces (seeds), pooled
    .venv/bin/python bench/monitor.py quality --merchants 400 --seeds 7 11 13 17 --parallel 2

Both print JSON. `speed` seeds merchants that each hold a line and a drawn loan and trade every
day of the 74-day window (set-based INSERT … SELECT, so seeding stays quick), then times
`monitoring_run` once per size. `quality` runs on a fresh SQLite file in a temporary folder.

Quality is scored on the merchants whose cash dries up (SimulatedProfile.cash_dry_on) during the
quarter and who then miss a payment (a loan past due): warned = an open warning on some night
from the cash_dry_on date up to the night before the first missed payment; lead time = days from
the first such night to the first missed payment. A false alarm is a merchant that had an open
warning on some night but never got into trouble in the quarter (no cash_dry_on or vanish_on
through its end, no payment missed). The hidden profile is read here only, never by production
code."""

import argparse
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def quality(args) -> dict:
    import tempfile

    var_dir = tempfile.mkdtemp(prefix="xiaodai-bench-monitor-")
    os.environ["XIAODAI_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ["XIAODAI_DEMO"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # a development run: the demo's keys
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Q

    from common.business_date import business_date_today
    from demo.services import demo_days_trade_and_close
    from demo.simulator import marketplace_trade_through
    from lending.models import Loan
    from merchants.models import SimulatedProfile
    from payments.payouts import payouts_process
    from riskcontrol.models import MerchantRisk, Warning
    from riskcontrol.monitoring.services import monitoring_run
    from scoring.features import merchant_days_catch_up

    clock = time.monotonic()
    call_command("migrate", verbosity=0)
    end = dt.date.fromisoformat(args.end_date)
    call_command(
        "seed_demo",
        "--merchants",
        str(args.merchants),
        "--days",
        str(args.days),
        f"--end-date={end}",
        "--seed",
        str(args.seed),
        verbosity=0,
        stdout=io.StringIO(),
    )
    seed_seconds = time.monotonic() - clock
    first_missed: dict[int, dt.date] = {}
    warned_on: dict[int, list[dt.date]] = {}  # nights with an open warning
    raised_on: dict[int, list[dt.date]] = {}  # nights at level yellow or worse
    monitor_seconds = 0.0
    first_day = business_date_today()
    for _ in range(args.quarter):
        on = business_date_today()
        # Trade the day, let the channel pay out its withdrawals as the beat does within seconds
        # (payments.tasks.payouts_settle), then close it: money a shop takes out leaves its wallet
        # that day, as in production, rather than waiting in a hold for a beat the bench lacks.
        marketplace_trade_through(through=on)
        payouts_process(business_on=on)
        demo_days_trade_and_close(through=on)
        merchant_days_catch_up(through=on, as_of=on + dt.timedelta(days=1))
        t0 = time.monotonic()
        monitoring_run(on=on)
        monitor_seconds += time.monotonic() - t0
        for merchant_id in (
            Loan.objects.filter(Q(days_past_due__gt=0) | Q(status=Loan.Status.WRITTEN_OFF))
            .values_list("merchant_id", flat=True)
            .distinct()
        ):
            first_missed.setdefault(merchant_id, on)
        for merchant_id in (
            Warning.objects.filter(status=Warning.Status.OPEN)
            .values_list("merchant_id", flat=True)
            .distinct()
        ):
            warned_on.setdefault(merchant_id, []).append(on)
        for merchant_id in MerchantRisk.objects.filter(level_rank__gte=1).values_list(
            "merchant_id", flat=True
        ):
            raised_on.setdefault(merchant_id, []).append(on)
    last_day = business_date_today() - dt.timedelta(days=1)
    profiles = {p.merchant_id: p for p in SimulatedProfile.objects.all()}

    # Loans already past due when the quarter began are not a miss the quarter could foresee.
    def score(nights_of: dict[int, list[dt.date]]) -> dict:
        cohort, caught, leads = [], [], []
        for merchant_id, profile in profiles.items():
            dry = profile.cash_dry_on
            missed = first_missed.get(merchant_id)
            if dry is None or not first_day <= dry <= last_day or missed is None or missed < dry:
                continue
            cohort.append(merchant_id)
            nights = [d for d in nights_of.get(merchant_id, []) if dry <= d < missed]
            if nights:
                caught.append(merchant_id)
                leads.append((missed - nights[0]).days)
        warned = set(nights_of)
        false_alarms = [m for m in warned if not in_trouble(m)]
        return {
            "cash_dry_then_missed_payment": len(cohort),
            "warned_before_first_missed_payment": len(caught),
            "detection_rate": round(len(caught) / len(cohort), 3) if cohort else None,
            "median_lead_days": statistics.median(leads) if leads else None,
            "lead_days": sorted(leads),
            "merchants_warned": len(warned),
            "false_alarms": len(false_alarms),
            "false_alarm_rate": round(len(false_alarms) / len(warned), 3) if warned else None,
            "warning_kinds_of_caught": by_kind(caught),
            "warning_kinds_of_false_alarms": by_kind(false_alarms),
        }

    def in_trouble(merchant_id: int) -> bool:
        p = profiles.get(merchant_id)
        return (
            merchant_id in first_missed
            or (p is not None and p.cash_dry_on is not None and p.cash_dry_on <= last_day)
            or (p is not None and p.vanish_on is not None and p.vanish_on <= last_day)
        )

    def by_kind(merchant_ids) -> dict:
        rows = Warning.objects.filter(merchant_id__in=list(merchant_ids)).values_list("merchant_id", "kind")
        return dict(Counter(kind for _, kind in set(rows)))

    dry_in_quarter = [
        m for m, p in profiles.items() if p.cash_dry_on is not None and first_day <= p.cash_dry_on <= last_day
    ]
    monitored = MerchantRisk.objects.count()

    return {
        "merchants": args.merchants,
        "history_days": args.days,
        "quarter": [first_day.isoformat(), last_day.isoformat()],
        "merchants_monitored": monitored,
        "cash_dry_in_quarter": len(dry_in_quarter),
        "any_open_warning": score(warned_on),
        "level_yellow_or_worse": score(raised_on),
        "seed_seconds": round(seed_seconds, 1),
        "monitoring_seconds_total": round(monitor_seconds, 1),
        "seconds": round(time.monotonic() - clock, 1),
    }


def quality_seeds(args) -> dict:
    """`quality` once per seed, each in its own process and database, and the cohorts pooled:
    detection rate over all the merchants that ran dry and then missed a payment, the median of
    all their lead times, the false-alarm rate over all the merchants warned."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int) -> dict:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "quality",
            f"--merchants={args.merchants}",
            f"--days={args.days}",
            f"--quarter={args.quarter}",
            f"--seed={seed}",
            f"--end-date={args.end_date}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    with ThreadPoolExecutor(max_workers=max(args.parallel, 1)) as pool:
        runs = dict(zip(args.seeds, pool.map(one, args.seeds), strict=True))

    def pooled(view: str) -> dict:
        parts = [run[view] for run in runs.values()]
        cohort = sum(p["cash_dry_then_missed_payment"] for p in parts)
        caught = sum(p["warned_before_first_missed_payment"] for p in parts)
        leads = sorted(lead for p in parts for lead in p["lead_days"])
        warned = sum(p["merchants_warned"] for p in parts)
        false = sum(p["false_alarms"] for p in parts)
        return {
            "cash_dry_then_missed_payment": cohort,
            "warned_before_first_missed_payment": caught,
            "detection_rate": round(caught / cohort, 3) if cohort else None,
            "median_lead_days": statistics.median(leads) if leads else None,
            "lead_days": leads,
            "merchants_warned": warned,
            "false_alarms": false,
            "false_alarm_rate": round(false / warned, 3) if warned else None,
        }

    return {
        "merchants_per_seed": args.merchants,
        "seeds": args.seeds,
        "any_open_warning": pooled("any_open_warning"),
        "level_yellow_or_worse": pooled("level_yellow_or_worse"),
        "per_seed": {
            seed: {
                view: {
                    k: run[view][k]
                    for k in (
                        "cash_dry_then_missed_payment",
                        "warned_before_first_missed_payment",
                        "median_lead_days",
                        "merchants_warned",
                        "false_alarms",
                    )
                }
                for view in ("any_open_warning", "level_yellow_or_worse")
            }
            | {"seconds": run["seconds"], "merchants_monitored": run["merchants_monitored"]}
            for seed, run in runs.items()
        },
        "warning_kinds_of_false_alarms": dict(
            sum(
                (Counter(run["any_open_warning"]["warning_kinds_of_false_alarms"]) for run in runs.values()),
                Counter(),
            )
        ),
    }


def speed(args) -> dict:
    from scratch_db import drop_database, setup_django

    setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-monitor-")
    from django.core.management import call_command
    from django.db import connection

    from riskcontrol.monitoring.services import monitoring_run

    call_command("migrate", verbosity=0)
    results = []
    try:
        for count in args.merchants:
            with connection.cursor() as cursor:
                _seed(cursor, count=count, on=args.on)
                # Each size starts from a book nobody has monitored yet.
                for table in (
                    "riskcontrol_partnernotice",
                    "riskcontrol_riskaction",
                    "riskcontrol_warning",
                    "riskcontrol_merchantrisk",
                    "riskcontrol_monitoringchunk",
                    "riskcontrol_monitoringrun",
                ):
                    cursor.execute(f"DELETE FROM {table}")
                cursor.execute("UPDATE lending_creditline SET status = 'active' WHERE status = 'frozen'")
                cursor.execute("ANALYZE")
            row = {"merchants": count}
            # The first night acts on every level it finds; the next night (the same facts, the run
            # row removed) finds nothing new: the steady state.
            for night in ("first_night", "next_night"):
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM riskcontrol_monitoringchunk")
                    cursor.execute("DELETE FROM riskcontrol_monitoringrun")
                clock = time.monotonic()
                run = monitoring_run(on=args.on, chunk_size=args.chunk_size)
                seconds = time.monotonic() - clock
                row[night] = {
                    "merchants_with_exposure": run.summary["merchants"],
                    "seconds": round(seconds, 2),
                    "merchants_per_second": round(run.summary["merchants"] / seconds),
                    "chunks": len(run.chunk_bounds),
                    "summary": run.summary,
                }
            results.append(row)
    finally:
        connection.close()
        if not args.keep:
            drop_database(args.database_url)
    return {"database": "postgresql", "chunk_size": args.chunk_size, "runs": results}


def _seed(cursor, *, count: int, on: dt.date) -> None:
    """Top the world up to `count` merchants, each with a line of 100,000 yuan, a drawn loan of
    10,000 yuan and 74 days of trading (one in ten going quiet for the last 14, one in twenty
    past due), in a few INSERT … SELECT statements."""
    cursor.execute("SELECT count(*) FROM merchants_merchant")
    have = cursor.fetchone()[0]
    if have >= count:
        return
    first, last = have + 1, count
    from lending.services import products_create_seed
    from payments import services as payments

    if have == 0:
        products_create_seed()
        payments.funding_pool_create(code="bench", name="Bench")
        cursor.execute(
            "INSERT INTO merchants_partnerplatform (code, name, kind, is_active, created_at, updated_at) "
            "VALUES ('bench', 'Bench', 'b2c', true, now(), now())"
        )
    cursor.execute("SELECT id FROM merchants_partnerplatform WHERE code = 'bench'")
    partner = cursor.fetchone()[0]
    cursor.execute("SELECT id, daily_rate FROM lending_product WHERE code = 'credit_loan'")
    product, rate = cursor.fetchone()
    cursor.execute("SELECT id FROM payments_fundingpool WHERE code = 'bench'")
    pool = cursor.fetchone()[0]
    cursor.execute("SELECT amount_max_fen FROM lending_product WHERE id = %s", [product])
    limit = min(cursor.fetchone()[0], 5_000_000)
    params = {
        "first": first,
        "last": last,
        "partner": partner,
        "product": product,
        "rate": rate,
        "pool": pool,
        "on": on,
        "limit": limit,
    }
    for sql in SEED_SQL:
        cursor.execute(sql, params)


_DAY_COLUMNS = (
    "placed_count, placed_fen, paid_count, paid_fen, shipped_count, shipped_fen, delivered_count, "
    "cancelled_count, disputed_count, settlement_count, settled_fen, settled_order_count, refund_count, "
    "refund_fen, complaint_count, complaint_upheld_count, rating_count, rating_star_sum, rating_low_count, "
    "wallet_in_fen, wallet_out_fen, loan_in_fen, loan_out_fen"
)
SEED_SQL = [
    """INSERT INTO merchants_owner (created_at, updated_at, name, national_id, national_id_index, phone,
         phone_index, address, address_index, bank_card, bank_card_index, partner_id)
       SELECT now(), now(), 'owner ' || g, 'id' || g, md5('id' || g), 'p' || g, md5('p' || g),
         'addr ' || g, md5('addr ' || g), 'c' || g, md5('c' || g), %(partner)s
       FROM generate_series(%(first)s, %(last)s) g""",
    """INSERT INTO merchants_merchant (created_at, updated_at, partner_id, external_id, owner_id, shop_name,
         category, region, opened_on, status, content_hash)
       SELECT now(), now(), %(partner)s, 'BM' || g, o.id, 'shop ' || g, 'bench', 'bench',
         DATE '2020-01-01', 'active', md5('m' || g)
       FROM generate_series(%(first)s, %(last)s) g
       JOIN merchants_owner o ON o.national_id = 'id' || g""",
    """INSERT INTO payments_account (code, name, type, purpose, merchant_id, balance_fen, held_fen,
         created_at)
       SELECT 'wallet-bench-' || m.external_id, 'wallet', 'liability', 'wallet', m.id, 0, 0, now()
       FROM merchants_merchant m WHERE m.partner_id = %(partner)s
         AND substr(m.external_id, 3)::int BETWEEN %(first)s AND %(last)s""",
    """INSERT INTO lending_creditline (created_at, updated_at, merchant_id, product_id, limit_fen, used_fen,
         grade, daily_rate, opened_on, expires_on, status)
       SELECT now(), now(), m.id, %(product)s, %(limit)s, 1000000, 'B', %(rate)s, DATE '2026-01-01',
         DATE '2099-12-31', 'active'
       FROM merchants_merchant m WHERE m.partner_id = %(partner)s
         AND substr(m.external_id, 3)::int BETWEEN %(first)s AND %(last)s""",
    """INSERT INTO lending_loan (reference, merchant_id, product_id, line_id, pool_id, wallet_id,
         idempotency_key, principal_fen, fee_fen, daily_rate, rate_ppb, penalty_rate_ppb, repayment_method,
         term, term_unit, disbursed_on, maturity_on, status, classification, principal_outstanding_fen,
         interest_outstanding_fen, penalty_outstanding_fen, fee_outstanding_fen, due_principal_fen,
         due_interest_fen, accrual_mode, accrued_through_on, accrual_segment_start_on,
         accrual_segment_base_fen, accrual_segment_days, accrual_segment_posted_fen, overdue_span_base_fen,
         overdue_span_posted_fen, penalty_span_base_fen, penalty_span_posted_fen, next_installment,
         days_past_due, max_days_past_due, interest_accrued_total_fen, paid_total_fen, written_off_fen,
         recovered_fen, updated_at)
       SELECT 'BL' || m.external_id, m.id, %(product)s, l.id, %(pool)s, a.id, 'bench-' || m.external_id,
         1000000, 0, %(rate)s, (%(rate)s * 100000000)::bigint, (%(rate)s * 150000000)::bigint, 'bullet',
         90, 'days', %(on)s::date - 30, %(on)s::date + 60,
         CASE WHEN substr(m.external_id, 3)::int %% 50 = 1 THEN 'overdue' ELSE 'active' END, 'normal',
         1000000, 0, 0, 0, 0, 0, 'daily', %(on)s::date, %(on)s::date - 30, 1000000, 0, 0, 0, 0, 0, 0, 1,
         CASE WHEN substr(m.external_id, 3)::int %% 50 = 1 THEN 20 ELSE 0 END,
         CASE WHEN substr(m.external_id, 3)::int %% 50 = 1 THEN 20 ELSE 0 END, 0, 0, 0, 0, now()
       FROM merchants_merchant m
       JOIN lending_creditline l ON l.merchant_id = m.id
       JOIN payments_account a ON a.merchant_id = m.id
       WHERE m.partner_id = %(partner)s AND substr(m.external_id, 3)::int BETWEEN %(first)s AND %(last)s""",
    # 74 days of trading, 1,000 yuan a day; one merchant in fifty has gone quiet for the last 14.
    f"""INSERT INTO scoring_merchantday (merchant_id, business_on, {_DAY_COLUMNS})
       SELECT m.id, %(on)s::date - d, 10, 100000, 10, 100000, 10, 100000, 10, 0, 0, 1, 100000, 10, 0, 0,
         0, 0, 0, 0, 0, 100000, CASE WHEN d %% 7 = 3 THEN 630000 ELSE 0 END, 0, 0
       FROM merchants_merchant m CROSS JOIN generate_series(0, 73) d
       WHERE m.partner_id = %(partner)s AND substr(m.external_id, 3)::int BETWEEN %(first)s AND %(last)s
         AND NOT (substr(m.external_id, 3)::int %% 50 = 0 AND d < 14)""",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--merchants", type=int, default=300)
    q.add_argument("--days", type=int, default=120, help="history traded before the quarter")
    q.add_argument("--quarter", type=int, default=90)
    q.add_argument("--seed", type=int, default=7)
    q.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="several marketplaces, one process each (a fresh database), pooled into one score",
    )
    q.add_argument("--parallel", type=int, default=1, help="seeds run at once")
    q.add_argument("--end-date", default="2025-06-30")
    s = sub.add_parser("speed")
    s.add_argument("--merchants", type=int, nargs="+", default=[10_000, 100_000])
    s.add_argument("--chunk-size", type=int, default=2_000)
    s.add_argument("--on", type=dt.date.fromisoformat, default=dt.date(2026, 6, 30))
    s.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/xiaodai_bench_monitor")
    s.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.mode == "quality" and args.seeds:
        result = quality_seeds(args)
    elif args.mode == "quality":
        import shutil

        try:
            result = quality(args)
        finally:
            shutil.rmtree(os.environ.get("XIAODAI_VAR_DIR", "/nonexistent"), ignore_errors=True)
    else:
        result = speed(args)
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
