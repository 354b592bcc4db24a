"""An instant credit-loan application through the partner API on PostgreSQL, from request to
decision, against a floor measured in the same run (a minimal authenticated GET). Prints JSON.

    .venv/bin/python bench/decide.py [--requests 300] [--concurrent-requests 400] [--clients 8]
                                     [--gunicorn-workers 3]
                                     [--database-url postgres://…/h7_decide]
                                     [--redis-url redis://127.0.0.1:6379/9] [--profile 100]
                                     [--cpu 100] [--no-server] [--keep] [--conn-max-age 60] [--port 0]
                                     [--template-url postgres://…/h_decide_tpl [--seed-template]]

Goals (issue 10): decision p50 ≤ 15 ms, p99 ≤ 50 ms, and decision p50 at most 2 × the floor's.

The world is seeded in this process through the services (a fresh scratch database, migrated):
the four seed products, a hand-made champion (two features, as the tests' champion), a policy
that declines nobody for the grade, a funded pool, one B2C partner with an API key, and one
merchant per application to be made, each with a feature snapshot and a current score rated on
the business date (so the rating stage reads the score and does not rate again). Each merchant's
agreement is quoted before the clock starts (`application_terms`), as a partner shows it before
the merchant applies; the application sends its SHA-256 (`accepted_sha256`).

Then gunicorn (`config.wsgi`, DEBUG off, database connections kept for --conn-max-age seconds,
as in docker-compose.yml, requests carrying the TLS proxy's X-Forwarded-Proto) serves the scratch
database, and per series of
LENDING_INSTANT_PAYOUT:
- "async": the reply says approved; the payout is a Celery task sent to Redis (--redis-url, the
  bench's own db number; no worker runs, the queue is emptied at the end). This is "request to
  decision".
- "inline": the line is opened and the loan paid into the wallet inside the request (the reply
  says disbursed).
each measured after a warm-up (both endpoints, on merchants of their own):
- decision: POST /api/v1/applications/ (an Idempotency-Key, a new merchant each time: every
  request is a real instant decision), one client, --requests times: p50, p99;
- floor: GET /api/v1/merchants/{id}/ (API-key authentication, one merchant read), by the same
  client, one after each application (taking turns, so the load of a shared machine falls on
  both alike);
- throughput: --clients threads, each with its own HTTP connection, --concurrent-requests
  applications in all (new merchants again): applications decided per second of wall time, and
  the latencies under that load.
Every reply is checked (201, approved or disbursed as the series expects).

With --profile N, N more applications run in this process through Django's test client under
cProfile before gunicorn starts (payout as the first of --series); the 30 costliest functions
(cumulative) go to stderr. With --cpu N, N applications and N floor reads run in this process,
taking turns, before that: the median CPU time (`time.process_time`) and wall time of each, their
ratio, and the statements of one decision go into the JSON as `in_process` (with --no-server,
only these in-process figures).

Uses a scratch database (default h7_decide on 127.0.0.1), dropped and created each run (kept with
--keep). With --template-url, the world is seeded once into that database (--seed-template, then
stop) and each run clones it instead of seeding: two versions of the code measured from the
same rows, without the seeding's minutes. bench/decide_breakdown.py, as gunicorn's config file
(GUNICORN_CMD_ARGS), logs where each request's time goes inside the workers.
bench/decide_calls.py, on a template made with --seed-template, gives the figures a loaded machine
does not move (Python calls and statements per decision) and writes the decisions' records, masked,
to compare two versions of the code byte for byte.
`--database-url "" --redis-url ""` runs it on SQLite and the filesystem broker in a
temporary directory: a smoke run for the tests, not a figure."""

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from scratch_db import clone_database, drop_database, setup_django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TODAY = dt.date(2026, 3, 2)
AMOUNT = "2000.00"
PRODUCT = "credit_loan"
# The tests' hand-made champion: gmv_90d_yuan and refund_rate_90d.
POINTS_TABLE = {
    "format": "xiaodai.points_table/1",
    "scaling": {"base_points": 600, "base_odds": 50.0, "pdo": 20.0},
    "intercept_points": 500,
    "features": [
        {
            "name": "gmv_90d_yuan",
            "kind": "numeric",
            "label_zh": "近90天销售额偏低",
            "label_en": "low sales over 90 days",
            "iv": 0.4,
            "weight": 1.0,
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
            "label_zh": "近90天退款率偏高",
            "label_en": "high refund rate over 90 days",
            "iv": 0.3,
            "weight": 1.0,
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


def _national_id(n: int) -> str:
    """A well-formed resident ID (17 digits and its ISO 7064 MOD 11-2 check character): risk
    control's identity check declines a malformed one."""
    body = f"330106{1900 + n // 1000:04d}0101{n % 1000:03d}"  # unique for up to 100,000 shops
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def seed(merchants: int) -> tuple[str, list[dict]]:
    """The world; returns the API key and, per merchant, its id and accepted agreement."""
    from django.core.management import call_command
    from django.utils import timezone

    from common.business_date import business_date_set
    from lending.models import Product
    from lending.services import applications, products_create_seed
    from merchants.models import ALL_SCOPES, ApiKey, PartnerPlatform
    from merchants.services import MerchantData, OwnerData, merchant_upsert
    from payments import services as payments
    from scoring.features import FEATURES_VERSION
    from scoring.models import FeatureSnapshot, ScoringModel
    from scoring.selectors import policy_get
    from scoring.services.rating import merchant_rate

    call_command("migrate", verbosity=0)
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="bench", name="Bench pool")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**13, idempotency_key="bench-capital")
    products_create_seed()
    ScoringModel.objects.create(
        version="bench-01",
        points_table=POINTS_TABLE,
        report={"metrics": {}},
        source="bench",
        target="bad",
        trained_at=timezone.now(),
        trained_by="bench",
        status=ScoringModel.Status.CHAMPION,
    )
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    partner = PartnerPlatform.objects.create(code="bench", name="Bench", kind=PartnerPlatform.Kind.B2C)
    prefix, raw = ApiKey.generate()
    ApiKey.objects.create(
        partner=partner, name="bench", prefix=prefix, digest=ApiKey.digest_of(raw), scopes=ALL_SCOPES
    )
    product = Product.objects.get(code=PRODUCT)
    shops = []
    for n in range(merchants):
        merchant, _ = merchant_upsert(
            partner=partner,
            data=MerchantData(
                external_id=f"S{n:06d}",
                shop_name=f"小店{n}",
                category="服装",
                region="浙江",
                opened_on=dt.date(2020, 1, 1),
                owner=OwnerData(
                    name=f"店主{n}",
                    national_id=_national_id(n),
                    phone=f"138{n:08d}",
                    # Each shop its own address: one shared address would make every owner
                    # related to every other (risk control links owners by address), so each
                    # decision would weigh all the bench's shops as one group.
                    address=f"浙江杭州西湖区文三路{n}号",
                    bank_card=f"6222{n:015d}",
                ),
            ),
        )
        FeatureSnapshot.objects.create(
            merchant=merchant,
            as_of=TODAY,
            version=FEATURES_VERSION,
            features={
                "gmv_90d_yuan": 60_000.0 + n,
                "refund_rate_90d": 0.01,
                "settled_share_90d": 1.0,
                "questionnaire_score": None,
            },
        )
        merchant_rate(merchant=merchant, as_of=TODAY)
        terms = applications.application_terms(
            merchant=merchant, product=product, amount_fen=200_000, on=TODAY
        )
        if terms.outcome != "pass" or terms.quote is None:
            raise SystemExit(f"merchant {merchant.external_id} would not be approved: {terms.reasons}")
        shops.append({"id": merchant.external_id, "sha": terms.quote.contract_sha256})
    return raw, shops


def _world_keep(key: str, shops: list[dict]) -> None:
    """The seeded world's API key and merchants, kept in the template database itself."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_decide_world (data text NOT NULL)")
        cursor.execute(
            "INSERT INTO bench_decide_world (data) VALUES (%s)", [json.dumps({"key": key, "shops": shops})]
        )


def _world_read() -> tuple[str, list[dict]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM bench_decide_world")
        world = json.loads(cursor.fetchone()[0])
    return world["key"], world["shops"]


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)

    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


class Client:
    """One HTTP connection (reopened when the server closes it), timing each request."""

    def __init__(self, port: int, key: str):
        self.port = port
        self.headers = {
            "Authorization": f"Api-Key {key}",
            "X-Forwarded-Proto": "https",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[float, int, dict]:
        payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        self.connection.request(method, path, body=payload, headers={**self.headers, **(headers or {})})
        response = self.connection.getresponse()
        data = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return elapsed_ms, response.status, json.loads(data) if data else {}

    def floor(self, merchant: str) -> float:
        elapsed, status, body = self.request("GET", f"/api/v1/merchants/{merchant}/")
        if status != 200:
            raise SystemExit(f"floor request failed: {status} {body}")
        return elapsed

    def apply(self, shop: dict, expected: str) -> float:
        elapsed, status, body = self.request(
            "POST",
            "/api/v1/applications/",
            {"merchant": shop["id"], "product": PRODUCT, "amount": AMOUNT, "accepted_sha256": shop["sha"]},
            {"Idempotency-Key": f"bench-{shop['id']}"},
        )
        if status != 201 or body.get("status") != expected:
            raise SystemExit(
                f"application for {shop['id']} not {expected}: {status} {json.dumps(body)[:600]}"
            )
        return elapsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    *,
    workers: int,
    payout: str,
    redis_url: str,
    key: str,
    probe_merchant: str,
    conn_max_age: int,
    port: int = 0,
):
    port = port or free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LENDING_INSTANT_PAYOUT": payout,
        "REDIS_URL": redis_url,
        "DATABASE_CONN_MAX_AGE": str(conn_max_age),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    # On a shared machine under load, three workers importing Django can take more than a minute.
    deadline = time.monotonic() + 180
    while True:
        try:
            Client(port, key).floor(probe_merchant)
            return server, port
        except (OSError, http.client.HTTPException):
            if server.poll() is not None or time.monotonic() > deadline:
                if server.poll() is None:
                    stop_gunicorn(server)  # not left serving (and holding the database) after the run
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)


def stop_gunicorn(server) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def measure_series(*, port: int, key: str, shops: list[dict], args, expected: str) -> dict:
    warm, sequential, concurrent = (
        shops[: args.warmup],
        shops[args.warmup : args.warmup + args.requests],
        shops[args.warmup + args.requests :],
    )
    client = Client(port, key)
    # Warm-up: every worker has imported, connected and run both paths.
    for shop in warm:
        client.floor(shop["id"])
        client.apply(shop, expected)
    # Taking turns, so that the load of a shared machine falls on both alike.
    floor, decision = [], []
    for shop in sequential:
        decision.append(client.apply(shop, expected))
        floor.append(client.floor(shop["id"]))

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def work(part: list[dict]) -> None:
        own = Client(port, key)
        mine = []
        try:
            for shop in part:
                mine.append(own.apply(shop, expected))
        except SystemExit as exc:
            with lock:
                failures.append(str(exc))
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=work, args=(concurrent[i :: args.clients],)) for i in range(args.clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(failures[0])
    floor_stats, decision_stats = percentiles(floor), percentiles(decision)
    return {
        "floor": floor_stats,
        "decision": decision_stats,
        "ratio_p50": round(decision_stats["p50_ms"] / floor_stats["p50_ms"], 2),
        "concurrent": {
            "clients": args.clients,
            "applications": len(concurrent),
            "seconds": round(wall, 3),
            "per_second": round(len(concurrent) / wall, 1),
            **{k: v for k, v in percentiles(latencies).items() if k != "requests"},
        },
    }


def in_process_client(key: str):
    from django.test import Client as DjangoClient

    return DjangoClient(HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_X_FORWARDED_PROTO="https")


def in_process_apply(client, shop: dict):
    """The bench's application through Django's test client (no server)."""
    return client.post(
        "/api/v1/applications/",
        {"merchant": shop["id"], "product": PRODUCT, "amount": AMOUNT, "accepted_sha256": shop["sha"]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"bench-{shop['id']}",
    )


def profile(key: str, shops: list[dict], out_path: str = "") -> None:
    """cProfile on CPU time (`time.process_time`: the machine's load and the database's replies
    do not count), the 30 largest by cumulative time; the whole profile to `out_path` if given."""
    client = in_process_client(key)

    def run(shop):
        response = in_process_apply(client, shop)
        assert response.status_code == 201, response.content

    run(shops[0])
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    started = time.perf_counter()
    for shop in shops[1:]:
        run(shop)
    per_request = (time.perf_counter() - started) * 1000 / max(1, len(shops) - 1)
    profiler.disable()
    if out_path:
        profiler.dump_stats(out_path)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    print(f"in-process, under cProfile: {per_request:.2f} ms (wall) per application", file=sys.stderr)
    print(out.getvalue(), file=sys.stderr)


def cpu(key: str, shops: list[dict], payout: str) -> dict:
    """In this process through Django's test client: CPU time (`time.process_time`) and wall
    time per request, decision and floor taking turns, medians; and the statements of one
    decision. CPU time does not count the time spent waiting for the database or for the cores
    (the load of a shared machine), so its ratio is the one the machine's load least disturbs.
    The test client closes the response inside the request, as a server does once it has sent
    the reply: `decision_reply_*` is the decision up to that close (what the client waits for),
    the rest being what runs when the response is closed."""
    from django.db import connection
    from django.http.response import HttpResponseBase
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    closing: list[tuple[float, float]] = []
    close = HttpResponseBase.close

    def timed_close(self):
        closing.append((time.process_time(), time.perf_counter()))
        return close(self)

    HttpResponseBase.close = timed_close

    client = in_process_client(key)
    expected = "approved" if payout == "async" else "disbursed"

    def apply(shop):
        response = in_process_apply(client, shop)
        if response.status_code != 201 or response.json()["status"] != expected:
            raise SystemExit(f"in-process application not {expected}: {response.content[:600]}")

    def floor(shop):
        response = client.get(f"/api/v1/merchants/{shop['id']}/")
        if response.status_code != 200:
            raise SystemExit(f"in-process floor failed: {response.content[:600]}")

    samples: dict[str, list[float]] = {
        "decision_cpu": [],
        "decision_wall": [],
        "floor_cpu": [],
        "floor_wall": [],
        "decision_reply_cpu": [],
        "decision_reply_wall": [],
    }
    with override_settings(LENDING_INSTANT_PAYOUT=payout):
        for shop in shops[:3]:  # warm-up: imports, caches, the connection
            apply(shop)
            floor(shop)
        with CaptureQueriesContext(connection) as queries:
            apply(shops[3])
        statements = [q["sql"] for q in queries.captured_queries]
        if os.environ.get("DECIDE_STATEMENTS"):
            Path(os.environ["DECIDE_STATEMENTS"]).write_text("\n;;\n".join(statements))
        for shop in shops[4:]:
            for name, call in (("decision", apply), ("floor", floor)):
                closing.clear()
                cpu_started, wall_started = time.process_time(), time.perf_counter()
                call(shop)
                samples[f"{name}_cpu"].append((time.process_time() - cpu_started) * 1000)
                samples[f"{name}_wall"].append((time.perf_counter() - wall_started) * 1000)
                if name == "decision" and closing:
                    samples["decision_reply_cpu"].append((closing[0][0] - cpu_started) * 1000)
                    samples["decision_reply_wall"].append((closing[0][1] - wall_started) * 1000)
    HttpResponseBase.close = close
    medians = {
        f"{name}_ms": round(statistics.median(values), 2) for name, values in samples.items() if values
    }
    return {
        "payout": payout,
        "requests": len(shops) - 4,
        **medians,
        "cpu_ratio": round(medians["decision_cpu_ms"] / medians["floor_cpu_ms"], 2),
        "decision_statements": len(statements),
        "decision_commits": sum(1 for sql in statements if sql.upper().startswith("COMMIT")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="sequential applications per series")
    parser.add_argument(
        "--concurrent-requests", type=int, default=400, help="applications per series, concurrent"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/h7_decide",
        help='a scratch PostgreSQL database; "" for SQLite in a temporary var dir (a smoke run)',
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/9",
        help='its db is emptied at the end; "" for no Redis',
    )
    parser.add_argument("--series", nargs="+", default=["async", "inline"], choices=["async", "inline"])
    parser.add_argument("--profile", type=int, default=0, help="applications profiled in process first")
    parser.add_argument("--profile-out", default="", help="the whole profile (pstats) written here")
    parser.add_argument(
        "--cpu", type=int, default=0, help="applications timed in process first (CPU time per request)"
    )
    parser.add_argument(
        "--no-server", action="store_true", help="only the in-process figures (--cpu, --profile)"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (0: any free one)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="gunicorn's DATABASE_CONN_MAX_AGE (docker-compose.yml sets 60; 0 opens a connection "
        "per request)",
    )
    parser.add_argument(
        "--template-url",
        default="",
        help="a PostgreSQL database holding a seeded world (made by a run with --seed-template): "
        "the scratch database is cloned from it instead of seeded, so runs of two versions of the "
        "code start from the same rows",
    )
    parser.add_argument(
        "--seed-template", action="store_true", help="seed --template-url's database and stop"
    )
    args = parser.parse_args()

    os.environ["REDIS_URL"] = args.redis_url
    per_series = 0 if args.no_server else args.warmup + args.requests + args.concurrent_requests
    in_process = args.cpu + 4 if args.cpu else 0
    needed = per_series * len(args.series) + args.profile + in_process
    started = time.perf_counter()
    if args.seed_template:
        setup_django(database_url=args.template_url, var_prefix="xiaodai-bench-decide-")
        key, shops = seed(needed)
        _world_keep(key, shops)
        print(json.dumps({"template": args.template_url, "merchants": len(shops)}))
        return
    if args.template_url:
        clone_database(args.template_url, args.database_url)
        setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-decide-", fresh=False)
        key, shops = _world_read()
        if len(shops) < needed:
            raise SystemExit(f"the template has {len(shops)} merchants; this run needs {needed}")
    else:
        setup_django(database_url=args.database_url or None, var_prefix="xiaodai-bench-decide-")
        key, shops = seed(needed)
    seed_seconds = time.perf_counter() - started
    extra = shops[per_series * len(args.series) :]
    cpu_figures = cpu(key, extra[:in_process], args.series[0]) if args.cpu else None
    if args.profile:
        from django.test import override_settings

        with override_settings(LENDING_INSTANT_PAYOUT=args.series[0]):
            profile(key, extra[in_process : in_process + args.profile], args.profile_out)
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    output = {
        "database": settings.DATABASES["default"]["ENGINE"],
        "product": PRODUCT,
        "amount": AMOUNT,
        "gunicorn_workers": args.gunicorn_workers,
        "seed_seconds": round(seed_seconds, 1),
    }
    try:
        for number, payout in enumerate([] if args.no_server else args.series):
            mine = shops[number * per_series : (number + 1) * per_series]
            server, port = start_gunicorn(
                workers=args.gunicorn_workers,
                payout=payout,
                redis_url=args.redis_url,
                key=key,
                probe_merchant=mine[0]["id"],
                conn_max_age=args.conn_max_age,
                port=args.port,
            )
            try:
                expected = "approved" if payout == "async" else "disbursed"
                output[payout] = measure_series(port=port, key=key, shops=mine, args=args, expected=expected)
            finally:
                stop_gunicorn(server)
    finally:
        if args.redis_url:
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()
        if args.database_url and not args.keep:
            drop_database(args.database_url)
    main_series = output.get("async") or output.get("inline")
    if main_series is not None:
        output["decision"] = main_series["decision"]
        output["floor"] = main_series["floor"]
        output["goals"] = {
            "decision_p50_at_most_15_ms": main_series["decision"]["p50_ms"] <= 15,
            "decision_p99_at_most_50_ms": main_series["decision"]["p99_ms"] <= 50,
            "decision_p50_at_most_2x_floor": main_series["ratio_p50"] <= 2,
        }
    if cpu_figures is not None:
        output["in_process"] = cpu_figures
    output["python"] = sys.version.split()[0]
    output["cpus"] = os.cpu_count()
    output["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
