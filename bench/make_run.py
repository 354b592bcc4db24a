"""Time the first `make run` step by step and print JSON: each step's wall seconds, CPU seconds
(user + system of the step's processes) and the load average when it started, then the same for a
second start on the built database. Issue 13's goal: the welcome within 90 s of wall time at the
default size, and in seconds the second time.

    .venv/bin/python bench/make_run.py                         # 200 merchants x 120 days, port 8000
    .venv/bin/python bench/make_run.py --port 8130 --no-serve  # the build steps only

The Makefile's `run` target, as a subprocess of this script, in a new folder (XIAODAI_VAR_DIR,
removed afterwards unless --keep): `run_demo --build`, which builds the database in one process
(`build_demo`: migrate, seed_demo, scoring_demo, with XIAODAI_SQLITE_BUILD=1) while web, beat and
the workers start and wait for it, until it prints the welcome, when it is stopped. The build's
steps are read from the lines `build_demo` prints (their own wall and CPU seconds); "to the
welcome after the build" is the rest. With --no-serve, `build_demo` alone. On a shared machine
the wall seconds move with the load; the CPU seconds much less.
"""

import argparse
import datetime as dt
import json
import os
import re
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
BUILD_STEP = re.compile(r"^\[build_demo\] (\S+): ([\d.]+) s wall, ([\d.]+) s CPU")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _build_steps(line: str, clock: float, steps: list[dict], load: float) -> bool:
    match = BUILD_STEP.match(line.strip())
    if match:
        steps.append(
            {
                "step": match.group(1),
                "wall_s": float(match.group(2)),
                "cpu_s": float(match.group(3)),
                "load_at_start": load,
                "ended_at_s": round(time.monotonic() - clock, 1),
            }
        )
    return bool(match)


def _run(args, env: dict, python: str) -> dict:
    """`run_demo --build` until its welcome (or `build_demo` alone with --no-serve); then stopped
    (SIGINT, as Ctrl-C) and waited for, so its children's CPU time is counted."""
    end = dt.date.today() - dt.timedelta(days=151)
    sizes = ["--merchants", str(args.merchants), "--days", str(args.days), "--end-date", end.isoformat()]
    if args.no_serve:
        argv, run_env = [python, "manage.py", "build_demo", *sizes], {**env, "XIAODAI_SQLITE_BUILD": "1"}
    else:
        serve = ["--host", "127.0.0.1", "--port", str(args.port), "--build"]
        argv = [python, "manage.py", "run_demo", *serve, *sizes]
        run_env = env
    load, cpu, clock = _load(), _cpu(), time.monotonic()
    process = subprocess.Popen(argv, env=run_env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    steps: list[dict] = []
    ready = None
    for line in process.stdout:
        _build_steps(line, clock, steps, _load())
        if WELCOME in line:
            ready = time.monotonic() - clock
            break
    if ready is not None:
        process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    total = time.monotonic() - clock if args.no_serve else ready
    built = steps[-1]["ended_at_s"] if steps else None
    if not args.no_serve:
        steps.append(
            {
                "step": "to the welcome after the build",
                "wall_s": round(ready - built, 1) if ready is not None and built is not None else None,
                "note": "web, beat and the workers started during the build and waited for it",
            }
        )
    return {
        "steps": steps,
        "total": {
            "wall_s": round(total, 1) if total is not None else None,
            "cpu_s": round(_cpu() - cpu, 1),
            "load_at_start": load,
            "note": "CPU of every process, until stopped",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-serve", action="store_true", help="build_demo only, no run_demo")
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
            "first": first,
            "second": second,
        }
        if args.keep:
            result["var_dir"] = var_dir
        print(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
