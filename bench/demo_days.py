"""Time the demo's day loop (what `scoring_demo` spends most of a first `make run` on) and print
JSON: CPU and wall seconds of trading and closing the first --dates business dates after a fresh
seed, and the CPU seconds of each part (the demo's borrowers, the marketplace's own writing,
close of business).

    .venv/bin/python bench/demo_days.py                  # 200 merchants x 120 days, 20 dates
    .venv/bin/python bench/demo_days.py --dates 150      # every date of a first `make run`

A new SQLite file in a temporary folder (DATABASE_URL and REDIS_URL are ignored), the build's
SQLite settings (XIAODAI_SQLITE_BUILD=1), the seed's history ending 151 days before today as in
`make run`. CPU seconds move much less with the machine's load than wall seconds.
"""

import argparse
import collections
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--dates", type=int, default=20, help="business dates to trade and close")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="xiaodai-bench-days-")
    os.environ["XIAODAI_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["XIAODAI_DEMO"] = "1"
    os.environ["XIAODAI_SQLITE_BUILD"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command

    from common.business_date import business_date_today
    from demo import borrowers
    from demo import services as demo_services
    from demo.simulator import engine, marketplace_seed
    from lending import cob

    cpu: collections.Counter = collections.Counter()

    def timed(module, name: str) -> None:
        function = getattr(module, name)

        @functools.wraps(function)
        def wrapper(*a, **k):
            began = time.process_time()
            try:
                return function(*a, **k)
            finally:
                cpu[name] += time.process_time() - began

        setattr(module, name, wrapper)

    try:
        call_command("migrate", verbosity=0, skip_checks=True)
        marketplace_seed(
            merchants=args.merchants,
            days=args.days,
            seed=7,
            ended_on=dt.date.today() - dt.timedelta(days=151),
        )
        for name in ("vanished_shops_act", "borrowers_spend", "borrowers_repay_early", "borrowers_draw"):
            timed(borrowers, name)
        timed(engine, "_day_write")
        timed(cob, "close_of_business")
        start = business_date_today()
        load = os.getloadavg()[0]
        began_cpu, began = time.process_time(), time.monotonic()
        demo_services.demo_days_trade_and_close(through=start + dt.timedelta(days=args.dates - 1))
        seconds_cpu, seconds = time.process_time() - began_cpu, time.monotonic() - began
        result = {
            "merchants": args.merchants,
            "days": args.days,
            "dates": args.dates,
            "load_at_start": round(load, 1),
            "load_at_end": round(os.getloadavg()[0], 1),
            "cpu_s": round(seconds_cpu, 2),
            "wall_s": round(seconds, 2),
            "cpu_s_per_date": round(seconds_cpu / args.dates, 3),
            "cpu_s_by_part": {
                **{name: round(value, 2) for name, value in cpu.most_common()},
                "other (trading's other listeners, the loop)": round(seconds_cpu - sum(cpu.values()), 2),
            },
        }
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
