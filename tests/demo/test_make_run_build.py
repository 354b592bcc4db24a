"""`make run`'s build: `run_demo --build` builds the database in one process (`build_demo`) while
web, beat and the workers start and wait for it, then prints its welcome last; the build's SQLite
connections keep no query log unless asked for one."""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper
from django.test.utils import CaptureQueriesContext, override_settings

from demo.apps import _queries_unrecorded
from demo.receivers import HOLD_FILE_ENV, hold_until_built
from tests.demo.test_run_demo import LAST_LINE, free_port, sessions_alive, welcome_wait

ROOT = Path(__file__).resolve().parents[2]


def test_a_child_waits_for_the_build_and_says_so(tmp_path, monkeypatch):
    built = tmp_path / "built"
    monkeypatch.setenv(HOLD_FILE_ENV, str(built))
    waiter = threading.Thread(target=hold_until_built)
    waiter.start()
    deadline = time.monotonic() + 10
    while not (tmp_path / f"built.{os.getpid()}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / f"built.{os.getpid()}").exists()
    time.sleep(0.3)
    assert waiter.is_alive()
    built.touch()
    waiter.join(timeout=5)
    assert not waiter.is_alive()


def test_without_a_build_nothing_waits(monkeypatch):
    monkeypatch.delenv(HOLD_FILE_ENV, raising=False)
    hold_until_built()


@pytest.mark.django_db
def test_the_build_connection_keeps_no_query_log_unless_asked():
    connection = connections.create_connection("default")
    try:
        if connection.vendor != "sqlite":
            pytest.skip("the build's query log is left out on SQLite only: make run builds on SQLite")
        connection.ensure_connection()
        _queries_unrecorded(sender=None, connection=connection)
        with override_settings(DEBUG=True), connection.cursor() as cursor:
            assert not isinstance(cursor, CursorDebugWrapper)
        with CaptureQueriesContext(connection) as captured:
            connection.cursor().execute("SELECT 1")
        assert [q["sql"] for q in captured.captured_queries] == ["SELECT 1"]
    finally:
        connection.close()


def test_run_demo_builds_while_the_servers_wait_then_welcomes(tmp_path):
    left_out = ("DATABASE_URL", "REDIS_URL", "XIAODAI_SQLITE_BUILD")
    env = {k: v for k, v in os.environ.items() if k not in left_out}
    env |= {"XIAODAI_VAR_DIR": str(tmp_path), "XIAODAI_DEMO": "1", "PYTHONUNBUFFERED": "1"}
    port = free_port()
    end = dt.date.today() - dt.timedelta(days=3)
    log = tmp_path / "run_demo.log"
    argv = [sys.executable, "manage.py", "run_demo", "--port", str(port), "--build"]
    argv += ["--merchants", "6", "--days", "6", "--end-date", end.isoformat()]
    with log.open("w") as out:
        demo = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    started: set[int] = set()
    try:
        started = welcome_wait(demo, log, 400)
        text = log.read_text()
        assert text.rstrip().endswith(LAST_LINE), text
        # The build's three steps, in order, all before the welcome.
        steps = [text.index(f"[build_demo] {name}:") for name in ("migrate", "seed_demo", "scoring_demo")]
        assert steps == sorted(steps) and steps[-1] < text.index("demo is ready")
        assert "Seeded 6 merchants" in text
        assert "Error" not in text and "Traceback" not in text, text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as page:
            assert page.status == 200
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        for session in [sid for sid in started if sessions_alive({sid})]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session, signal.SIGKILL)
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert code == 0, log.read_text()


def test_two_builds_at_once_one_waits_and_both_end_well(tmp_path):
    """`make run` started twice at once: the second build waits for the first, then finds
    everything done (two migrates at once on one SQLite file both created the tables)."""
    left_out = ("DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in left_out}
    env |= {"XIAODAI_VAR_DIR": str(tmp_path), "XIAODAI_DEMO": "1", "XIAODAI_SQLITE_BUILD": "1"}
    end = dt.date.today() - dt.timedelta(days=3)
    argv = [sys.executable, "manage.py", "build_demo", "--merchants", "6", "--days", "6"]
    argv += ["--end-date", end.isoformat()]
    builds = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [build.communicate(timeout=600)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], outputs
    assert sum("another build of this database is running" in out for out in outputs) == 1, outputs
    assert all("Traceback" not in out for out in outputs), outputs
