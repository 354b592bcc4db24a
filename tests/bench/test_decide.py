"""bench/decide.py still runs end to end: a few applications through gunicorn on SQLite (a smoke
run; the figures come from PostgreSQL, docs/benchmarks.md)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_decision_bench_runs_a_few_applications_on_sqlite(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "decide.py",
            "--database-url",
            "",
            "--redis-url",
            "",
            "--series",
            "async",
            "--warmup",
            "1",
            "--requests",
            "3",
            "--concurrent-requests",
            "4",
            "--clients",
            "2",
            "--gunicorn-workers",
            "1",
        ],
        cwd=ROOT / "bench",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["database"].endswith("sqlite3")
    assert figures["async"]["decision"]["requests"] == 3 and figures["async"]["floor"]["requests"] == 3
    assert figures["async"]["concurrent"]["applications"] == 4
    assert set(figures["goals"]) == {
        "decision_p50_at_most_15_ms",
        "decision_p99_at_most_50_ms",
        "decision_p50_at_most_2x_floor",
    }
