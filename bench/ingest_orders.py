"""Bulk order ingestion into PostgreSQL: orders per second through the service that the partner
API's batch endpoint calls, and through the endpoint itself (JSON parsing and validation
included). Prints JSON.

    .venv/bin/python bench/ingest_orders.py [--orders 200000] [--batch 5000] [--merchants 2000]

Uses a scratch database (default xiaodai_bench on 127.0.0.1), dropped and created each run.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from scratch_db import fresh_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--merchants", type=int, default=2000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/xiaodai_bench")
    args = parser.parse_args()

    fresh_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # a development run: the demo's keys
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.test import APIClient

    from merchants.models import Order
    from merchants.services import OrderData, orders_upsert
    from tests.merchants.factories import ApiKeyFactory, MerchantFactory

    call_command("migrate", verbosity=0)
    raw = "xd_benchkey_" + "b" * 40
    partner = ApiKeyFactory(raw_key=raw).partner
    merchants = [MerchantFactory(partner=partner).external_id for _ in range(args.merchants)]
    start_at = timezone.now() - dt.timedelta(days=400)

    def order(i: int) -> OrderData:
        placed = start_at + dt.timedelta(seconds=97 * i)
        return OrderData(
            external_id=f"S{i:09d}",
            merchant_external_id=merchants[i % len(merchants)],
            buyer_ref=f"b{i % 7919}",
            amount_fen=1000 + (i * 7919) % 90_000,
            placed_at=placed,
            status="settled",
            status_times={
                "paid": placed + dt.timedelta(minutes=3),
                "shipped": placed + dt.timedelta(days=1),
                "delivered": placed + dt.timedelta(days=3),
                "settled": placed + dt.timedelta(days=8),
            },
        )

    # 1. The service, as history loads and the batch endpoint use it.
    half = args.orders // 2
    began = time.perf_counter()
    for first in range(0, half, args.batch):
        orders_upsert(partner=partner, orders=[order(i) for i in range(first, min(first + args.batch, half))])
    service_seconds = time.perf_counter() - began

    # 2. The HTTP endpoint in-process: JSON parsing, per-field validation, then the service.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")

    def payload(i: int) -> dict:
        o = order(i)
        body = {
            "id": o.external_id,
            "merchant_id": o.merchant_external_id,
            "buyer_id": o.buyer_ref,
            "amount": f"{o.amount_fen // 100}.{o.amount_fen % 100:02d}",
            "status": o.status,
            "placed_at": o.placed_at.isoformat(),
        }
        body.update({f"{s}_at": t.isoformat() for s, t in o.status_times.items()})
        return body

    bodies = [
        json.dumps({"orders": [payload(i) for i in range(first, min(first + args.batch, args.orders))]})
        for first in range(half, args.orders, args.batch)
    ]
    began = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/orders/batch/", body, content_type="application/json")
        assert response.status_code == 200, response.content[:500]
    api_seconds = time.perf_counter() - began

    # 3. Resending what is already there: the idempotent path.
    began = time.perf_counter()
    for first in range(0, min(half, 50_000), args.batch):
        orders_upsert(partner=partner, orders=[order(i) for i in range(first, first + args.batch)])
    resend_count = min(half, 50_000)
    resend_seconds = time.perf_counter() - began

    assert Order.objects.count() == args.orders
    print(
        json.dumps(
            {
                "benchmark": "bulk order ingestion into PostgreSQL",
                "orders": args.orders,
                "batch": args.batch,
                "merchants": args.merchants,
                "service_orders_per_second": round(half / service_seconds),
                "api_orders_per_second": round((args.orders - half) / api_seconds),
                "resend_orders_per_second": round(resend_count / resend_seconds),
                "service_seconds": round(service_seconds, 2),
                "api_seconds": round(api_seconds, 2),
                "cpu_count": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
