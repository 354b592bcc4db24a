"""Server time of every portal and workbench page on a demo of 2,000 merchants with a year of
trading (issue 13: every page under 300 ms). Prints JSON.

    .venv/bin/python bench/pages.py --database-url postgres://postgres@127.0.0.1:5432/xiaodai_bench_pages
    .venv/bin/python bench/pages.py                       # SQLite: var/bench-pages/xiaodai.sqlite3

The pages are tests/page_catalogue.py's, read from the URL conf (the portal, the risk pages, the
workbench's index and each app's page, every registered model's changelist and one change page,
the model admins' own pages, the ops screen, the credit file, the job status every job page polls,
the demo's pages), each opened as its role (the credit file and the workbench's index also as
each staff role they show differently to, named "<page>[<login>]") with Django's test client in this process,
DEBUG off as in production: one request to warm up, one to count queries, then --repeat timed
requests; p50, p95 and max in milliseconds. Pages whose p50 is over --budget-ms (300) are listed
under "slow", pages that answered other than 200 under "failed", and every page of the URL conf
that could not be opened at all (no row of its kind in the database: a change page of an empty
table, an object only a person's action makes) under "not_measured" with the reason, also
printed to stderr as the run starts.

Before measuring, the trial balance's running totals are brought up to date as the beat keeps
them (payments.ledger_totals: on a database built before they existed, the whole journal is folded
once; the figure is in the output).

When the database holds no demo marketplace it is built first, as `make run` builds the demo
but larger: migrate; `seed_demo --merchants M --days D` ending --closed-days + 1 days ago; then
`scoring_demo --through yesterday`, which trades and closes those days (loans are drawn, repaid,
fall behind), trains a champion and issues offers and applications. When the demo's loans have too
few outcomes to train on, the tests' hand-made champion is promoted and scoring_demo runs again.
Building is slow (each closed day trades and closes 2,000 shops: 6-13 hours for a year); the
database is kept, so the next run measures at once (--database-url names it; it is never dropped).
bench/pages_world.py builds the issue's size in about half an hour instead: the same seed, then a
year of loans, ledger and the day's pipeline written with set-based SQL (its docstring); this
script then measures that database as it finds it.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _setup(database_url: str) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["XIAODAI_VAR_DIR"] = str(ROOT / "var" / "bench-pages")
    os.environ["XIAODAI_DEMO"] = "1"
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    # DEBUG off, but with the development keys `make run` and `seed_demo` use under DJANGO_DEBUG=1
    # (config/settings.py), so a demo built by those commands decrypts here.
    demo_secret = "django-insecure-xiaodai-demo-only-never-in-production"  # noqa: S105
    for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "API_KEY_HASH_KEY"):
        os.environ.setdefault(name, demo_secret)
    # DEBUG off serves the collected, hashed static files, as production does.
    os.environ["DJANGO_STATIC_ROOT"] = str(ROOT / "var" / "bench-pages" / "static")
    from scratch_db import setup_django

    setup_django(database_url=database_url or None, fresh=False)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def _build(*, merchants: int, days: int, closed_days: int, say) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from demo.simulator.onboarding import marketplace_has_data
    from scoring.selectors import champion_get

    call_command("migrate", verbosity=0)
    if marketplace_has_data():
        return
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    end = yesterday - dt.timedelta(days=closed_days)
    say(f"building the demo: {merchants} merchants, {days} days to {end}, closed through {yesterday}")
    # The commands' reports go to stderr: stdout is the JSON.
    call_command("seed_demo", merchants=merchants, days=days, end_date=end, stdout=sys.stderr)
    call_command("scoring_demo", through=yesterday, stdout=sys.stderr)
    if champion_get() is None:
        from tests.scoring.factories import champion_create

        champion_create("m-bench-pages")
        call_command("scoring_demo", through=yesterday, stdout=sys.stderr)


def _measure(pages, *, repeat: int) -> dict:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.page_catalogue import login_user

    clients: dict[str, Client] = {}
    results = {}
    for page in pages:
        if page.login not in clients:
            clients[page.login] = Client()
            clients[page.login].force_login(login_user(page.login))
        # DEBUG is off: every request over HTTPS, as behind the TLS proxy (no redirect to https://).
        client = clients[page.login]
        client.get(page.url, secure=True)
        # Django empties the query log when a request starts: the count starts from empty too.
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.url, secure=True)
        count = len(queries)  # now: the capture reads the log, which the next request empties
        # The database's share of that request: its queries' times as Django's log has them.
        db_ms = sum(float(query["time"]) for query in queries.captured_queries) * 1000
        slowest = max(queries.captured_queries, key=lambda query: float(query["time"]), default=None)
        timings, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(page.url, secure=True)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        results[page.name] = {
            "url": page.url,
            "login": page.login,
            "status": response.status_code,
            "queries": count,
            "p50_ms": round(statistics.median(timings), 1),
            # Interpolated between the timed requests (with 5 of them, near the slowest).
            "p95_ms": round(statistics.quantiles(timings, n=20, method="inclusive")[18], 1)
            if len(timings) > 1
            else round(timings[0], 1),
            "max_ms": round(max(timings), 1),
            # This process's CPU time (Python: views, templates; not the database server's): on a
            # shared machine it moves far less with the load than the wall-clock time does.
            "cpu_p50_ms": round(statistics.median(cpu), 1),
            # The counted request's queries: their time in all and the slowest's (ms, its SQL's start).
            "db_ms": round(db_ms, 1),
            "slowest_query_ms": round(float(slowest["time"]) * 1000, 1) if slowest else 0.0,
            "slowest_query": slowest["sql"][:160] if slowest else "",
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite under var/)")
    parser.add_argument("--merchants", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365, help="days of trading seeded")
    parser.add_argument("--closed-days", type=int, default=365, help="days traded and closed up to yesterday")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--budget-ms", type=float, default=300.0)
    parser.add_argument(
        "--only",
        default="",
        help="measure only pages whose name contains this (or one of these, comma-separated)",
    )
    args = parser.parse_args()

    _setup(args.database_url)
    _build(
        merchants=args.merchants,
        days=args.days,
        closed_days=args.closed_days,
        say=lambda message: print(message, file=sys.stderr),
    )

    from django.db import connection

    if connection.vendor == "postgresql":
        # The planner's statistics and the dead rows cleared, as autovacuum keeps them on a live
        # database (a freshly seeded one has no statistics yet; a server with autovacuum off, as
        # on the shared build machine, leaves every row version a close of business updated:
        # build with a `VACUUM (FULL, ANALYZE)` at the end, docs/benchmarks.md).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    # The trial balance's running totals, as the beat keeps them (payments.tasks.ledger_totals_refresh,
    # every 10 minutes): on a database built before they existed this folds the whole journal once.
    from payments.ledger_totals import ledger_totals_refresh

    started = time.perf_counter()
    refreshed = ledger_totals_refresh()
    refresh_seconds = time.perf_counter() - started

    from common.business_date import business_date_today
    from lending.models import CobRun, Loan, LoanEvent
    from merchants.models import Merchant, Order
    from payments.models import Posting
    from tests.page_catalogue import catalogue, logins_move_to_busiest

    # The portal's pages as the shops with the most to show (the worst case).
    logins_move_to_busiest()
    found = catalogue()
    wanted = args.only.split(",")
    pages = [p for p in found.pages if any(part in p.name for part in wanted)]
    skipped = {name: reason for name, reason in found.skipped.items() if any(part in name for part in wanted)}
    for name, reason in skipped.items():
        print(f"not measured: {name} ({reason})", file=sys.stderr)
    load_at_start = Path("/proc/loadavg").read_text().split()[:3]
    results = _measure(pages, repeat=args.repeat)
    slow = sorted(name for name, r in results.items() if r["p50_ms"] > args.budget_ms)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "business_date": business_date_today().isoformat(),
                "merchants": Merchant.objects.count(),
                "orders": Order.objects.count(),
                "loans": Loan.objects.count(),
                "loan_events": LoanEvent.objects.count(),
                "days_closed": CobRun.objects.filter(status=CobRun.Status.DONE).count(),
                "postings": Posting.objects.count(),
                "ledger_totals_refresh": {
                    "postings_folded": refreshed.postings_folded,
                    "seconds": round(refresh_seconds, 1),
                },
                # The machine's load average (1, 5, 15 minutes) as the measuring began and ended.
                "load_average_start": load_at_start,
                "load_average": Path("/proc/loadavg").read_text().split()[:3],
                "repeat": args.repeat,
                "budget_ms": args.budget_ms,
                "pages_measured": len(results),
                # Pages of the URL conf that could not be opened, each with why: no row of their
                # kind in the database, or arguments the catalogue cannot fill.
                "pages_not_measured": len(skipped),
                "slow": {name: results[name] for name in slow},
                "failed": {name: r for name, r in results.items() if r["status"] != 200},
                "not_measured": skipped,
                "pages": results,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
