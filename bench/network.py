"""Relationship-network features at scale: degree, identity-group size and ring score of every
merchant, from the database, timed. Prints JSON.

    .venv/bin/python bench/network.py --database-url postgres://postgres@127.0.0.1:5432/xiaodai_bench_network

A synthetic marketplace is written straight into a scratch PostgreSQL database with COPY (the
generation is not timed): --merchants shops on two partners, owners mostly one per shop, 4 %
of owners with a second shop, about 5 % of shops in brushing rings of 3–6 that give one phone,
address or payout card and buy from each other, consumer orders for everyone, and declared
trading relations. Then, timed:
  features_seconds   `network_features()` (three set-based reads and array work);
  build_seconds      `network_build` for one business date with the shared-attribute detector
                     (flags written), and with --fraudar the FRAUDAR detector too;
and the shared-attribute detector's precision and recall against the planted rings.
The scratch database is dropped afterwards unless --keep.
"""

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch_db import drop_database, setup_django  # noqa: E402


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def generate(*, merchants: int, consumer_orders: int, seed: int) -> dict[int, int]:
    """The synthetic marketplace; returns merchant id → planted ring number."""
    from django.db import connection, transaction

    from merchants.models import PartnerPlatform

    rng = np.random.default_rng(seed)
    now = "2025-06-30 12:00:00+00"
    with transaction.atomic():
        partners = [
            PartnerPlatform.objects.create(code=code, name=code, kind=kind).pk
            for code, kind in (("tb", "b2c"), ("al", "b2b"))
        ]
    n = merchants
    ring_of = np.full(n, -1)
    order = rng.permutation(n)
    used, ring = 0, 0
    while used < int(0.05 * n) - 3:
        size = int(rng.integers(3, 7))
        ring_of[order[used : used + size]] = ring
        used, ring = used + size, ring + 1
    ring_kind = rng.integers(0, 3, ring)  # 0 phone, 1 address, 2 card
    phone = np.array([f"1{rng.integers(30, 90)}{i:08d}" for i in range(n)], dtype=object)
    address = np.array([f"某市某区某路{i}号" for i in range(n)], dtype=object)
    card = np.array([f"6222{i:012d}" for i in range(n)], dtype=object)
    for r in range(ring):
        members = np.flatnonzero(ring_of == r)
        target = (phone, address, card)[ring_kind[r]]
        target[members] = target[members[0]]
    # 4 % of shops belong to the owner of another (honest) shop.
    owner_of = np.arange(n)
    second = np.flatnonzero((rng.random(n) < 0.04) & (ring_of < 0))
    owner_of[second] = rng.choice(np.flatnonzero(ring_of < 0), len(second))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM merchants_owner")
        owner_base = cursor.fetchone()[0] + 1
        _copy(
            cursor,
            "merchants_owner",
            [
                "id",
                "name",
                "national_id",
                "national_id_index",
                "phone",
                "phone_index",
                "address",
                "address_index",
                "bank_card",
                "bank_card_index",
                "partner_id",
                "created_at",
                "updated_at",
            ],
            (
                (
                    owner_base + i,
                    f"owner{i}",
                    "-",
                    f"nid{i:08d}",
                    "-",
                    phone[i],
                    "-",
                    address[i],
                    "-",
                    f"card{card[i]}",
                    partners[i % 2],
                    now,
                    now,
                )
                for i in range(n)
            ),
        )
        _copy(
            cursor,
            "merchants_merchant",
            [
                "id",
                "partner_id",
                "external_id",
                "owner_id",
                "shop_name",
                "category",
                "region",
                "opened_on",
                "status",
                "content_hash",
                "created_at",
                "updated_at",
            ],
            (
                (
                    i + 1,
                    partners[i % 2],
                    f"M{i:07d}",
                    owner_base + owner_of[i],
                    f"shop {i}",
                    "c",
                    "r",
                    "2023-01-01",
                    "active",
                    "-",
                    now,
                    now,
                )
                for i in range(n)
            ),
        )
        sellers = rng.integers(0, n, consumer_orders)
        fake = []
        for r in range(ring):
            members = np.flatnonzero(ring_of == r)
            for s in members:
                for b in members:
                    if s != b:
                        fake.extend([(s, b)] * int(rng.integers(3, 15)))
        columns = [
            "partner_id",
            "merchant_id",
            "external_id",
            "buyer_ref",
            "buyer_merchant_id",
            "amount_fen",
            "status",
            "placed_at",
            "content_hash",
            "updated_at",
        ]
        rows = [
            (partners[s % 2], s + 1, f"C{k}", f"u{k}", None, 10_000, "settled", now, "-", now)
            for k, s in enumerate(sellers.tolist())
        ]
        rows += [
            (partners[s % 2], s + 1, f"F{k}", f"M{b:07d}", b + 1, 50_000, "settled", now, "-", now)
            for k, (s, b) in enumerate(fake)
        ]
        _copy(cursor, "merchants_order", columns, rows)
        relations = rng.integers(0, n, (n // 10, 2))
        relations = relations[relations[:, 0] != relations[:, 1]]
        _copy(
            cursor,
            "merchants_tradingrelation",
            ["merchant_id", "counterparty_id", "kind", "since_on", "created_at", "updated_at"],
            {(a + 1, b + 1, "supplier", "2024-01-01", now, now) for a, b in relations.tolist()},
        )
        cursor.execute("ANALYZE")
    return {i + 1: int(ring_of[i]) for i in range(n) if ring_of[i] >= 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=100_000)
    parser.add_argument("--consumer-orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fraudar", action="store_true", help="also time the FRAUDAR detector")
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database (dropped first)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    os.environ["XIAODAI_DEMO"] = "0"
    setup_django(database_url=args.database_url)
    from django.core.management import call_command

    from riskcontrol.models import NetworkRun
    from riskcontrol.network.features import network_features
    from riskcontrol.network.rings import precision_recall
    from riskcontrol.network.services import network_run_build

    try:
        call_command("migrate", verbosity=0)
        clock = time.monotonic()
        truth = generate(merchants=args.merchants, consumer_orders=args.consumer_orders, seed=args.seed)
        generate_seconds = time.monotonic() - clock

        clock = time.monotonic()
        features = network_features()
        features_seconds = time.monotonic() - clock

        on = dt.date(2025, 7, 1)
        build = {}
        detectors = [NetworkRun.Detector.SHARED_ATTRIBUTES] + (
            [NetworkRun.Detector.FRAUDAR] if args.fraudar else []
        )
        quality = {}
        for detector in detectors:
            clock = time.monotonic()
            run = network_run_build(on=on, detector=detector)
            build[detector] = round(time.monotonic() - clock, 2)
            flagged = set(run.flags.values_list("merchant_id", flat=True))
            precision, recall = precision_recall(flagged, set(truth))
            quality[detector] = {
                "rings": run.rings,
                "flagged": run.flagged,
                "precision": round(precision, 4),
                "recall": round(recall, 4),
            }
        print(
            json.dumps(
                {
                    "merchants": args.merchants,
                    "consumer_orders": args.consumer_orders,
                    "planted_ring_members": len(truth),
                    "generate_seconds": round(generate_seconds, 2),
                    "features_seconds": round(features_seconds, 2),
                    "build_seconds": build,
                    "quality": quality,
                    "max_degree": int(features.degree.max()),
                    "max_component_size": int(features.component_size.max()),
                    "merchants_with_ring_score": int((features.ring_score > 0).sum()),
                },
                indent=2,
            )
        )
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url)


if __name__ == "__main__":
    main()
