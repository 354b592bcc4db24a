"""The demo stands apart: a production install (XIAODAI_DEMO=0) migrates, checks and schedules
without it, no production app imports it, and a demo database made before the move keeps its
marketplace."""

import ast
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_APPS = ("common", "merchants", "payments", "lending", "scoring", "riskcontrol")


def manage(var_dir: Path, *args: str, demo: bool) -> subprocess.CompletedProcess:
    """manage.py in a fresh process on a fresh SQLite file under var_dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env |= {"XIAODAI_VAR_DIR": str(var_dir), "XIAODAI_DEMO": "1" if demo else "0", "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def tables(var_dir: Path) -> set[str]:
    with sqlite3.connect(var_dir / "xiaodai.sqlite3") as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_production_install_migrates_and_runs_without_the_demo(tmp_path):
    migrated = manage(tmp_path, "migrate", "--noinput", demo=False)
    assert migrated.returncode == 0, migrated.stderr
    checked = manage(tmp_path, "check", demo=False)
    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout
    names = tables(tmp_path)
    assert {"merchants_merchant", "lending_loan", "scoring_scoringmodel"} <= names
    assert not [name for name in names if name.startswith("demo_") or name.endswith("simulatorstate")]
    pending = manage(tmp_path, "makemigrations", "--check", "--dry-run", demo=False)
    assert pending.returncode == 0, pending.stdout + pending.stderr
    for command in ("seed_demo", "demo_advance", "run_demo", "scoring_demo", "simulate_day"):
        refused = manage(tmp_path, command, "--help", demo=False)
        assert refused.returncode != 0 and "Unknown command" in refused.stderr, command


def test_a_production_install_schedules_lending_s_close_and_nothing_of_the_demo(tmp_path):
    probe = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'apps': settings.INSTALLED_APPS, "
        "'beat': sorted(e['task'] for e in settings.CELERY_BEAT_SCHEDULE.values())}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "XIAODAI_VAR_DIR": str(tmp_path),
        "XIAODAI_DEMO": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    production = json.loads(done.stdout.strip().splitlines()[-1])
    assert "demo" not in production["apps"]
    assert "lending.tasks.close_of_business_nightly" in production["beat"]
    assert not [task for task in production["beat"] if task.startswith("demo.")]


def test_no_production_app_imports_the_demo():
    # The same rule as import-linter's `forbidden` contract, checked where the tests run.
    offenders = []
    for app in PRODUCTION_APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                if any(name == "demo" or name.startswith("demo.") for name in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_a_demo_database_from_before_the_move_keeps_its_marketplace_state(tmp_path):
    # Migrated as it was before the demo app existed: the state lived in the merchants app.
    before = manage(tmp_path, "migrate", "merchants", "0002", "--noinput", demo=True)
    assert before.returncode == 0, before.stderr
    assert "merchants_simulatorstate" in tables(tmp_path)
    with sqlite3.connect(tmp_path / "xiaodai.sqlite3") as db:
        db.execute(
            "INSERT INTO merchants_simulatorstate (id, seed, started_on, last_simulated_on) "
            "VALUES (1, 7, '2025-01-01', '2025-03-31')"
        )
    after = manage(tmp_path, "migrate", "--noinput", demo=True)
    assert after.returncode == 0, after.stderr
    assert "merchants_simulatorstate" not in tables(tmp_path)
    with sqlite3.connect(tmp_path / "xiaodai.sqlite3") as db:
        moved = db.execute(
            "SELECT id, seed, started_on, last_simulated_on FROM demo_simulatorstate"
        ).fetchall()
    assert moved == [(1, 7, "2025-01-01", "2025-03-31")]
