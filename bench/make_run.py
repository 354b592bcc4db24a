"""Time the first `make run` step by step and print JSON: each step's wall seconds, CPU seconds
(user + system of the step's processes) and the load average when it started, then the same for a
second start on the built database. Issue 13's goal: the welcome within 90 s of wall time at the
default size, and in seconds the second time.

    .venv/bin/python bench/make_run.py                         # 200 merchants x 120 days, port 8000
    .venv/bin/python bench/make_run.py --port 8130 --no-serve  # the build steps only

The steps are the Makefile's `run` target's, as subprocesses of this script, in a new folder
(XIAODAI_VAR_DIR, removed afterwards unless --keep): migrate, seed_demo, scoring_demo (all with
XIAODAI_SQLITE_BUILD=1), then run_demo until it prints the welcome, when it is stopped. On a
shared machine the wall seconds move with the load; the CPU seconds much less.
"""

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WELCOME = "demo is ready:"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _step(name: str, argv: list[str], env: dict, steps: list[dict]) -> None:
    load, cpu, clock = _load(), _cpu(), time.monotonic()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    steps.append(
        {
            "step": name,
            "wall_s": round(time.monotonic() - clock, 1),
            "cpu_s": round(_cpu() - cpu, 1),
            "load_at_start": load,
        }
    )


def _serve(argv: list[str], env: dict, steps: list[dict]) -> None:
    """run_demo until its welcome; then stopped (SIGINT, as Ctrl-C) and waited for, so its
    children's CPU time is counted."""
    load, cpu, clock = _load(), _cpu(), time.monotonic()
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    ready = None
    for line in process.stdout:
        if WELCOME in line:
            ready = time.monotonic() - clock
            break
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    steps.append(
        {
            "step": "run_demo until the welcome",
            "wall_s": round(ready, 1) if ready is not None else None,
            "cpu_s": round(_cpu() - cpu, 1),
            "load_at_start": load,
            "note": "CPU until stopped, children included",
        }
    )


def _run(args, env: dict, python: str) -> list[dict]:
    build = {**env, "XIAODAI_SQLITE_BUILD": "1"}
    end = dt.date.today() - dt.timedelta(days=151)
    steps: list[dict] = []
    _step("migrate", [python, "manage.py", "migrate", "--noinput", "--skip-checks"], build, steps)
    _step(
        "seed_demo",
        [
            *[python, "manage.py", "seed_demo", "--if-empty"],
            *["--merchants", str(args.merchants), "--days", str(args.days), "--end-date", end.isoformat()],
        ],
        build,
        steps,
    )
    _step("scoring_demo", [python, "manage.py", "scoring_demo", "--if-needed"], build, steps)
    if not args.no_serve:
        _serve([python, "manage.py", "run_demo", "--host", "127.0.0.1", "--port", str(args.port)], env, steps)
    return steps


def _total(steps: list[dict]) -> dict:
    return {
        "wall_s": round(sum(s["wall_s"] or 0 for s in steps), 1),
        "cpu_s": round(sum(s["cpu_s"] for s in steps), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="the build steps only, no run_demo")
    parser.add_argument("--keep", action="store_true", help="keep the folder and print its path")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="xiaodai-make-run-")
    env = {
        **os.environ,
        "XIAODAI_VAR_DIR": var_dir,
        "XIAODAI_DEMO": "1",
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
    }
    # As `make run`: the demo's own SQLite file and kombu's filesystem broker, no shared servers.
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    try:
        first = _run(args, env, sys.executable)
        second = _run(args, env, sys.executable)
        result = {
            "merchants": args.merchants,
            "days": args.days,
            "cpus": os.cpu_count(),
            "first": {"steps": first, "total": _total(first)},
            "second": {"steps": second, "total": _total(second)},
        }
        if args.keep:
            result["var_dir"] = var_dir
        print(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
