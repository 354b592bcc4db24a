"""Time seed_demo (in-process, through the same service the command calls) on a fresh SQLite
database in a temporary folder and print JSON: merchants, days, seconds, orders and rows written
per table. `seconds` is the whole seed; `listener_seconds` the part other apps spent reacting to
it (payments credits the last month of settlements into wallets).

    .venv/bin/python bench/seed_demo.py --merchants 2000 --days 365

The database is always a new SQLite file (DATABASE_URL is ignored), so the numbers compare
across runs and machines; the temporary folder is removed afterwards unless --keep.
"""

import argparse
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
    parser.add_argument("--merchants", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end-date", default="2025-06-30", help="last traded day (fixed, so runs compare)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="xiaodai-bench-")
    # Settings read these at import: a private SQLite file, never a shared server.
    os.environ["XIAODAI_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ["XIAODAI_DEMO"] = "1"  # the seed is the demo's
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # a development run: the demo's keys
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    import datetime as dt

    from django.apps import apps
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from demo.simulator import marketplace_seed

    try:
        clock = time.monotonic()
        call_command("migrate", verbosity=0)
        migrate_seconds = time.monotonic() - clock

        clock = time.monotonic()
        report = marketplace_seed(
            merchants=args.merchants,
            days=args.days,
            seed=args.seed,
            ended_on=dt.date.fromisoformat(args.end_date),
        )
        seconds = time.monotonic() - clock

        project = [c for c in apps.get_app_configs() if Path(c.path).resolve().parent == settings.BASE_DIR]
        models = [m for c in project for m in c.get_models()] + [get_user_model()]
        rows = {model._meta.label: model.objects.count() for model in models}
        database = Path(var_dir) / "xiaodai.sqlite3"
        result = {
            "merchants": args.merchants,
            "days": args.days,
            "seed": args.seed,
            "end_date": args.end_date,
            "seconds": round(seconds, 2),
            "listener_seconds": round(report.listener_seconds, 2),
            "migrate_seconds": round(migrate_seconds, 2),
            "orders": rows["merchants.Order"],
            "orders_per_second": round(rows["merchants.Order"] / seconds),
            "database_mb": round(database.stat().st_size / 2**20, 1),
            "rows": {label: count for label, count in rows.items() if count},
        }
        if args.keep:
            result["var_dir"] = var_dir
        print(json.dumps(result, indent=2, ensure_ascii=False))
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
