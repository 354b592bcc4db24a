"""Payouts through the simulated channel on PostgreSQL: queued withdrawals settled in batch files
by the payments worker's loop (`payments.payouts.payouts_process`, what the beat task runs),
against a set-based floor measured in the same run. Prints JSON.

    .venv/bin/python bench/payouts.py [--payouts 10000] [--backlog 4500] [--wallets 500]
                                      [--one-at-a-time-sample 40] [--database-url URL] [--keep]
    .venv/bin/python bench/payouts.py --sqlite [--backlog 4500]     # the embedded demo's case

The channel keeps its configured behaviour (settings PAYMENT_CHANNEL: 0.5 s latency per request,
5 % transient failures retried with backoff, 2 % refusals), so the figures include the network
time a real bank channel would cost; `channel_seconds` is how much of it was waiting on it.

Measured:
1. `--payouts` withdrawals (made by `withdrawal_request`, not measured) settled by one worker in
   batch files of PAYMENT_CHANNEL["BATCH_SIZE"].
2. The floor: as many other withdrawals settled by bare set-based SQL in one transaction with no
   channel: the same rows (one withdrawal entry and two postings per paid payout, holds closed,
   balances and held amounts moved, payouts marked), a handful of statements in all.
   `ratio_to_floor` = service seconds / floor seconds; `ratio_to_floor_without_channel` leaves
   out the time spent waiting for the channel.
3. The demo's backlog: `--backlog` withdrawals (a fresh `make run` queues about 4,500) cleared by
   the same loop; the goal is under a minute.
4. For comparison, a sample settled one at a time as before batch files (one request and one
   confirmation per payout), extrapolated to the backlog.

Uses a scratch database (default xiaodai_bench_payouts on 127.0.0.1), dropped and created each
run.
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

from scratch_db import drop_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payouts", type=int, default=10_000)
    parser.add_argument("--backlog", type=int, default=4_500)
    parser.add_argument("--wallets", type=int, default=500)
    parser.add_argument("--one-at-a-time-sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/xiaodai_bench_payouts")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--sqlite", action="store_true", help="only the demo's backlog, on the embedded SQLite database"
    )
    args = parser.parse_args()

    load_at_start = os.getloadavg()[0]  # the machine may be shared; the numbers move with it
    if args.sqlite:
        sqlite_backlog(args, load_at_start)
        return
    setup_django(database_url=args.database_url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from psycopg2.extras import execute_values

    from common.business_date import business_date_today
    from payments import channel, payouts, services
    from payments.models import Account, Payout
    from payments.reconciliation import reconcile
    from tests.merchants.factories import MerchantFactory

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    wallets = [services.wallet_open(merchant=MerchantFactory()) for _ in range(args.wallets)]
    wallets = list(Account.objects.filter(pk__in=[w.pk for w in wallets]).select_related("merchant__owner"))
    total = args.payouts * 2 + args.backlog + args.one_at_a_time_sample
    per_wallet = total * 5_000 // args.wallets + 100_000
    for wallet in wallets:
        services.settlement_credit(wallet=wallet, amount_fen=per_wallet, idempotency_key=f"fund-{wallet.pk}")
    suspense = services.platform_account(Account.Purpose.CHANNEL_SUSPENSE)
    on = business_date_today()

    def queue(count: int, prefix: str) -> list[int]:
        return [
            services.withdrawal_request(
                wallet=rng.choice(wallets),
                amount_fen=rng.randint(100, 5_000),
                idempotency_key=f"{prefix}-{i}",
            ).pk
            for i in range(count)
        ]

    channel_seconds = 0.0
    real_submit_batch = channel.submit_batch

    def timed_submit_batch(*, lines):
        nonlocal channel_seconds
        began = time.perf_counter()
        try:
            return real_submit_batch(lines=lines)
        finally:
            channel_seconds += time.perf_counter() - began

    channel.submit_batch = timed_submit_batch

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    # 1. The service: the worker's loop over batch files.
    queue(args.payouts, "svc")
    analyze()
    began = time.perf_counter()
    done = payouts.payouts_process(business_on=on, seconds=3600)
    service_seconds = time.perf_counter() - began
    service_channel_seconds = channel_seconds

    # 2. The floor: other withdrawals, the same rows by bare set-based SQL, no channel.
    floor_ids = queue(args.payouts, "floor")
    analyze()
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(
            "SELECT p.id, p.account_id, p.hold_id, p.amount_fen FROM payments_payout p "
            "WHERE p.id = ANY(%s) ORDER BY p.id FOR UPDATE",
            [floor_ids],
        )
        rows = raw.fetchall()
        paid = [r for r in rows if channel._final_answer(r[0]).is_success]
        refused = [r for r in rows if not channel._final_answer(r[0]).is_success]
        now = timezone.now()
        entry_ids = execute_values(
            raw,
            "INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on, "
            "created_at) VALUES %s RETURNING id",
            [("withdrawal", f"hold:{h}:post", "", f"withdrawal {p}", on, now) for p, _, h, _ in paid],
            page_size=len(paid) or 1,
            fetch=True,
        )
        execute_values(
            raw,
            "INSERT INTO payments_posting (entry_id, account_id, amount_fen) VALUES %s",
            [
                leg
                for (entry_id,), (_, account, _, amount) in zip(entry_ids, paid, strict=True)
                for leg in ((entry_id, account, amount), (entry_id, suspense.pk, -amount))
            ],
            page_size=2 * len(paid) or 1,
        )
        moved: dict[int, list[int]] = {}
        for _, account, _, amount in rows:
            moved.setdefault(account, [0, 0])[0] += amount  # held released
        for _, account, _, amount in paid:
            moved[account][1] += amount  # balance lowered (a wallet is credit-normal)
        moved.setdefault(suspense.pk, [0, 0])[1] -= sum(r[3] for r in paid)
        execute_values(
            raw,
            "UPDATE payments_account a SET held_fen = a.held_fen - v.held, "
            "balance_fen = a.balance_fen - v.paid FROM (VALUES %s) v(id, held, paid) WHERE a.id = v.id",
            sorted((pk, held, out) for pk, (held, out) in moved.items()),
            page_size=len(moved),
        )
        execute_values(
            raw,
            "UPDATE payments_hold h SET status = v.status, posted_fen = v.posted, entry_id = v.entry_id, "
            "closed_at = now() FROM (VALUES %s) v(id, status, posted, entry_id) WHERE h.id = v.id",
            [(h, "posted", a, e) for (e,), (_, _, h, a) in zip(entry_ids, paid, strict=True)]
            + [(h, "voided", 0, None) for _, _, h, _ in refused],
            template="(%s, %s, %s, %s::bigint)",
            page_size=len(rows),
        )
        execute_values(
            raw,
            "UPDATE payments_payout p SET status = v.status, updated_at = now() "
            "FROM (VALUES %s) v(id, status) WHERE p.id = v.id",
            [(p, "confirmed") for p, *_ in paid] + [(p, "failed") for p, *_ in refused],
            page_size=len(rows),
        )
    floor_seconds = time.perf_counter() - began

    # 3. The demo's backlog, cleared by the same loop.
    queue(args.backlog, "demo")
    analyze()
    channel_seconds = 0.0
    began = time.perf_counter()
    backlog_done = payouts.payouts_process(business_on=on, seconds=3600)
    backlog_seconds = time.perf_counter() - began
    backlog_channel_seconds = channel_seconds

    # 4. One at a time, as before batch files: a request and a confirmation per payout.
    sample = queue(args.one_at_a_time_sample, "one")
    began = time.perf_counter()
    for payout in Payout.objects.select_related("hold").filter(pk__in=sample).order_by("pk"):
        for _ in range(settings.PAYMENT_CHANNEL["MAX_RETRIES"] + 1):
            try:
                reply = channel.submit_payout(
                    payout_id=payout.pk,
                    amount_fen=payout.amount_fen,
                    bank_card_masked=payout.bank_card_masked,
                )
                break
            except channel.ChannelUnavailable:
                continue
        if reply.is_success:
            services.payout_confirm(payout=payout, channel_reference=reply.reference)
        else:
            services.payout_fail(payout=payout, reason=reply.reason)
    one_seconds = time.perf_counter() - began

    left = Payout.objects.exclude(status__in=[Payout.Status.CONFIRMED, Payout.Status.FAILED]).count()
    clean = reconcile().is_clean
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    connection.close()
    if not args.keep:
        drop_database(args.database_url)

    cfg = settings.PAYMENT_CHANNEL
    print(
        json.dumps(
            {
                "benchmark": "queued payouts settled in batch files through the simulated channel "
                "vs a set-based floor",
                "payouts": args.payouts,
                "channel": {k: cfg[k] for k in sorted(cfg)},
                "service_seconds": round(service_seconds, 2),
                "service_payouts_per_second": round(args.payouts / service_seconds),
                "service_confirmed": done.confirmed,
                "service_failed": done.failed,
                "channel_seconds": round(service_channel_seconds, 2),
                "floor_seconds": round(floor_seconds, 3),
                "floor_payouts_per_second": round(args.payouts / floor_seconds),
                "ratio_to_floor": round(service_seconds / floor_seconds, 2),
                "ratio_to_floor_without_channel": round(
                    (service_seconds - service_channel_seconds) / floor_seconds, 2
                ),
                "demo_backlog": args.backlog,
                "demo_backlog_seconds": round(backlog_seconds, 2),
                "demo_backlog_channel_seconds": round(backlog_channel_seconds, 2),
                "demo_backlog_settled": backlog_done.confirmed + backlog_done.failed,
                "demo_backlog_under_a_minute": backlog_seconds < 60,
                "one_at_a_time_sample": args.one_at_a_time_sample,
                "one_at_a_time_payouts_per_second": round(args.one_at_a_time_sample / one_seconds, 2),
                "one_at_a_time_backlog_estimate_seconds": round(
                    args.backlog * one_seconds / args.one_at_a_time_sample
                ),
                "payouts_left_unsettled": left,
                "reconciled_clean": clean,
                "cpu_count": os.cpu_count(),
                "load_average_1min_at_start": round(load_at_start, 2),
                "postgres_version": server_version,
            },
            indent=2,
        )
    )


def sqlite_backlog(args, load_at_start: float) -> None:
    """The embedded demo's case: `--backlog` withdrawals cleared on SQLite (a fresh var dir)."""
    import shutil

    var_dir = setup_django(database_url=None, var_prefix="xiaodai-bench-payouts-")
    from django.core.management import call_command

    from common.business_date import business_date_today
    from payments import payouts, services
    from payments.models import Account, Payout
    from payments.reconciliation import reconcile
    from tests.merchants.factories import MerchantFactory

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    created = [services.wallet_open(merchant=MerchantFactory()) for _ in range(args.wallets)]
    wallets = list(Account.objects.filter(pk__in=[w.pk for w in created]).select_related("merchant__owner"))
    for wallet in wallets:
        services.settlement_credit(wallet=wallet, amount_fen=10_000_000, idempotency_key=f"fund-{wallet.pk}")
    for i in range(args.backlog):
        services.withdrawal_request(
            wallet=rng.choice(wallets), amount_fen=rng.randint(100, 5_000), idempotency_key=f"demo-{i}"
        )
    began = time.perf_counter()
    done = payouts.payouts_process(business_on=business_date_today(), seconds=3600)
    seconds = time.perf_counter() - began
    left = Payout.objects.exclude(status__in=[Payout.Status.CONFIRMED, Payout.Status.FAILED]).count()
    clean = reconcile().is_clean
    shutil.rmtree(var_dir, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "the demo's payout backlog cleared in batch files on SQLite",
                "demo_backlog": args.backlog,
                "demo_backlog_seconds": round(seconds, 2),
                "demo_backlog_settled": done.confirmed + done.failed,
                "demo_backlog_under_a_minute": seconds < 60,
                "payouts_left_unsettled": left,
                "reconciled_clean": clean,
                "cpu_count": os.cpu_count(),
                "load_average_1min_at_start": round(load_at_start, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
