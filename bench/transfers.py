"""Single wallet-to-wallet transfers per second through services.wallet_to_wallet on PostgreSQL,
from several threads at once, against a floor: the same rows (one journal entry, two postings
per transfer) written by bare INSERTs, one transaction per transfer from the same number of
threads (the fair comparison), and all of them in one transaction (the bulk ceiling). Prints
JSON, including service/floor ratios.

    .venv/bin/python bench/transfers.py [--transfers 10000] [--threads 4] [--wallets 200] [--rounds 4]

The service path per transfer: lock both wallets in id order (one SELECT … FOR UPDATE), check in
Python that the source can pay, then one statement inserts the entry (its idempotency key
checked by ON CONFLICT), its postings and both balance updates, and commit (where PostgreSQL's
deferred trigger checks the entry balances): BEGIN, two statements, COMMIT, as many round trips
as the floor's BEGIN, two INSERTs, COMMIT (`statements_per_transfer` lists them). The service and
the floor take turns in `--rounds` rounds, so load from other work on the machine falls on both.
The floor's INSERTs go into the same tables, so they pay for the same indexes and the same
commit-time trigger.

Uses a scratch database (default xiaodai_bench_pay on 127.0.0.1), dropped and created each run.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

import psycopg2
from psycopg2.extras import execute_values
from scratch_db import drop_database, fresh_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_threads(threads: int, work) -> float:
    """Run work(k) in `threads` threads released together; seconds until the last finishes."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def runner(k: int) -> None:
        try:
            work(k, barrier)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=runner, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--wallets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4, help="service and floor take turns this many times")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/xiaodai_bench_pay")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]  # the machine may be shared; the numbers move with it
    fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    # As in production: DEBUG off, so Django does not record every query it runs.
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "k" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments import services
    from payments.models import JournalEntry
    from tests.merchants.factories import MerchantFactory

    call_command("migrate", verbosity=0)
    wallets = [services.wallet_open(merchant=MerchantFactory()) for _ in range(args.wallets)]
    for wallet in wallets:
        services.settlement_credit(wallet=wallet, amount_fen=1_000_000, idempotency_key=f"fund-{wallet.pk}")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        cursor.execute("ANALYZE")
    connection.close()

    per_thread = args.transfers // args.threads // args.rounds
    total = per_thread * args.threads * args.rounds
    turn = {"round": 0}

    def plan(k: int, prefix: str, round_no: int | None = None) -> list[tuple[int, int, int, str]]:
        """Thread k's transfers in this round: (source index, target index, amount, key); the
        same for both paths, so they write the same rows."""
        round_no = turn["round"] if round_no is None else round_no
        rng = random.Random(args.seed * 1000 + k + 100 * round_no)
        rows = []
        for i in range(per_thread):
            source, target = rng.sample(range(args.wallets), 2)
            rows.append((source, target, rng.randint(1, 10_000), f"{prefix}-{round_no}-{k}-{i}"))
        return rows

    # 1. The service: one transfer per call, each its own transaction, from N threads.
    failures: dict[str, int] = {}
    failures_lock = threading.Lock()

    def service_work(k: int, barrier: threading.Barrier) -> None:
        transfers = plan(k, "t")
        try:
            connection.ensure_connection()
            barrier.wait()
            for source, target, amount, key in transfers:
                try:
                    services.wallet_to_wallet(
                        source=wallets[source], target=wallets[target], amount_fen=amount, idempotency_key=key
                    )
                except Exception as exc:
                    with failures_lock:
                        failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
        finally:
            connection.close()

    # 2. The floor: the same rows by bare INSERTs, one transaction per transfer, from N threads.
    dsn = args.database_url
    ids = [w.pk for w in wallets]
    digest = hashlib.sha256(b"bench").hexdigest()
    entry_sql = (
        "INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on, "
        "created_at) VALUES ('transfer', %s, %s, '', CURRENT_DATE, now()) RETURNING id"
    )
    postings_sql = (
        "INSERT INTO payments_posting (entry_id, account_id, amount_fen) VALUES (%s, %s, %s), (%s, %s, %s)"
    )

    def floor_work(k: int, barrier: threading.Barrier) -> None:
        transfers = plan(k, "f")
        db = psycopg2.connect(dsn)
        try:
            cursor = db.cursor()
            barrier.wait()
            for source, target, amount, key in transfers:
                cursor.execute(entry_sql, [key, digest])
                entry_id = cursor.fetchone()[0]
                cursor.execute(postings_sql, [entry_id, ids[source], amount, entry_id, ids[target], -amount])
                db.commit()
        finally:
            db.close()

    # The two paths take turns, round by round, so a change in the machine's load (it may be
    # shared) falls on both alike.
    service_seconds = floor_seconds = 0.0
    for round_no in range(args.rounds):
        turn["round"] = round_no
        service_seconds += run_threads(args.threads, service_work)
        floor_seconds += run_threads(args.threads, floor_work)
    written = JournalEntry.objects.filter(
        kind=JournalEntry.Kind.TRANSFER, idempotency_key__startswith="t-"
    ).count()
    # The floor's bare INSERTs move no cached balances, so the whole ledger cannot reconcile
    # after them; check the service's own work: every wallet's cached balance equals its
    # postings from the funding and the service's transfers.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FROM payments_account a
            WHERE a.purpose = 'wallet' AND a.balance_fen <> -COALESCE((
                SELECT SUM(p.amount_fen) FROM payments_posting p
                JOIN payments_journalentry e ON e.id = p.entry_id
                WHERE p.account_id = a.id
                  AND (e.idempotency_key LIKE 'fund-%%' OR e.idempotency_key LIKE 't-%%')
            ), 0)
            """
        )
        clean = cursor.fetchone()[0] == 0
    with CaptureQueriesContext(connection) as one_transfer:
        services.wallet_to_wallet(
            source=wallets[0], target=wallets[1], amount_fen=1, idempotency_key="count-queries"
        )
    statements = [q["sql"].split()[0].upper() for q in one_transfer.captured_queries]
    connection.close()

    # 3. The bulk ceiling: all of them in one transaction, batched, from one connection.
    bulk = [row for r in range(args.rounds) for k in range(args.threads) for row in plan(k, "b", r)]
    db = psycopg2.connect(dsn)
    began = time.perf_counter()
    with db.cursor() as cursor:
        entry_ids = execute_values(
            cursor,
            "INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on, "
            "created_at) VALUES %s RETURNING id",
            [(key, digest) for _, _, _, key in bulk],
            template="('transfer', %s, %s, '', CURRENT_DATE, now())",
            page_size=1000,
            fetch=True,
        )
        postings = []
        for (entry_id,), (source, target, amount, _) in zip(entry_ids, bulk, strict=True):
            postings += [(entry_id, ids[source], amount), (entry_id, ids[target], -amount)]
        execute_values(
            cursor,
            "INSERT INTO payments_posting (entry_id, account_id, amount_fen) VALUES %s",
            postings,
            page_size=2000,
        )
    db.commit()
    bulk_seconds = time.perf_counter() - began
    db.close()

    if not args.keep:
        drop_database(args.database_url)

    service_rate = total / service_seconds
    floor_rate = total / floor_seconds
    bulk_rate = len(bulk) / bulk_seconds
    print(
        json.dumps(
            {
                "benchmark": "wallet-to-wallet transfers on PostgreSQL: service vs bare INSERT floor",
                "transfers": total,
                "threads": args.threads,
                "rounds": args.rounds,
                "statements_per_transfer": statements,
                "wallets": args.wallets,
                "service_transfers_per_second": round(service_rate),
                "service_seconds": round(service_seconds, 2),
                "service_failures": sum(failures.values()),
                "service_failures_by_error": failures,
                "service_entries_written": written,
                "service_balances_match_its_postings": clean,
                "floor_per_transfer_transactions_per_second": round(floor_rate),
                "floor_per_transfer_seconds": round(floor_seconds, 2),
                "floor_bulk_one_transaction_per_second": round(bulk_rate),
                "floor_bulk_seconds": round(bulk_seconds, 2),
                "ratio_service_to_floor": round(service_rate / floor_rate, 3),
                "ratio_service_to_bulk_floor": round(service_rate / bulk_rate, 4),
                "cpu_count": os.cpu_count(),
                "load_average_1min_at_start": round(load_at_start, 2),
                "postgres_version": server_version,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
