"""Bulk order ingestion into PostgreSQL: orders per second through the service that the partner
API's batch endpoint calls, and through the endpoint itself (JSON parsing and validation
included), batch after batch in turns so that a shared machine's load falls on both alike.
Prints JSON, with the endpoint's share of the service's rate (issue 12's goal: at least 0.8).

    .venv/bin/python bench/ingest_orders.py [--orders 200000] [--batch 5000] [--merchants 2000]
                                            [--database-url postgres://…/xiaodai_bench]

Also, without the database, what reading a batch costs per order: DRF's
OrderBatchInputSerializer against the batch reader the endpoint uses (merchants/api/batch.py),
on the same parsed bodies.

Uses a scratch database (default xiaodai_bench on 127.0.0.1), dropped and created each run,
DEBUG off as in production.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from scratch_db import drop_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--merchants", type=int, default=2000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/xiaodai_bench")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    setup_django(database_url=args.database_url)
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.test import APIClient

    from merchants.api.batch import order_batch_read
    from merchants.api.serializers import OrderBatchInputSerializer
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

    client = APIClient()
    # As behind the TLS proxy (production settings redirect plain HTTP).
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}", HTTP_X_FORWARDED_PROTO="https")
    # Even batches go through the service, as history loads use it; odd ones through the
    # endpoint, their JSON bodies made before the clock starts.
    firsts = list(range(0, args.orders, args.batch))
    bodies = {
        first: json.dumps(
            {"orders": [payload(i) for i in range(first, min(first + args.batch, args.orders))]}
        )
        for first in firsts[1::2]
    }
    service_seconds = api_seconds = 0.0
    service_count = api_count = 0
    for number, first in enumerate(firsts):
        last = min(first + args.batch, args.orders)
        if number % 2 == 0:
            # 1. The service, its rows built in the timed part (as a caller builds them).
            began = time.perf_counter()
            orders_upsert(partner=partner, orders=[order(i) for i in range(first, last)])
            service_seconds += time.perf_counter() - began
            service_count += last - first
        else:
            # 2. The HTTP endpoint in-process: JSON parsing, validation, then the service.
            began = time.perf_counter()
            response = client.post("/api/v1/orders/batch/", bodies[first], content_type="application/json")
            api_seconds += time.perf_counter() - began
            assert response.status_code == 200, response.content[:500]
            api_count += last - first

    # 3. Resending what is already there (up to 50,000 of the service's orders): the idempotent
    # path.
    resend_count = 0
    began = time.perf_counter()
    for first in firsts[0::2]:
        if resend_count >= 50_000:
            break
        last = min(first + args.batch, args.orders)
        orders_upsert(partner=partner, orders=[order(i) for i in range(first, last)])
        resend_count += last - first
    resend_seconds = time.perf_counter() - began

    # 4. Reading a batch alone (no database): DRF's parser and serializer against the batch
    # reader, on the same request bodies.
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    factory = APIRequestFactory()
    sample = list(bodies.values())[:4]
    read_orders = sum(len(json.loads(body)["orders"]) for body in sample)

    def requests() -> list[Request]:
        return [
            Request(factory.post("/", body, content_type="application/json"), parsers=[JSONParser()])
            for body in sample
        ]

    def serializer_read(request):
        serializer = OrderBatchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["orders"]

    timings = {}
    for name, read in (("serializer", serializer_read), ("batch_reader", order_batch_read)):
        made = requests()
        began = time.perf_counter()
        for request in made:
            read(request)
        timings[name] = round((time.perf_counter() - began) * 1e6 / read_orders, 1)

    assert Order.objects.count() == args.orders
    from django.db import connections

    connections.close_all()
    if not args.keep:
        drop_database(args.database_url)
    service_rate = service_count / service_seconds
    api_rate = api_count / api_seconds
    print(
        json.dumps(
            {
                "benchmark": "bulk order ingestion into PostgreSQL",
                "orders": args.orders,
                "batch": args.batch,
                "merchants": args.merchants,
                "service_orders_per_second": round(service_rate),
                "api_orders_per_second": round(api_rate),
                "api_share_of_service": round(api_rate / service_rate, 3),
                "goal_api_at_least_0_8_of_service": api_rate / service_rate >= 0.8,
                "resend_orders_per_second": round(resend_count / resend_seconds),
                "service_seconds": round(service_seconds, 2),
                "api_seconds": round(api_seconds, 2),
                "read_us_per_order": timings,
                "cpu_count": os.cpu_count(),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
