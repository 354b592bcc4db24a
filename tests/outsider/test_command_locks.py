"""Long management commands started twice at once, and killed with `kill -9` while they hold their
lock (common/locks.py): the second is refused naming the holder (or waits with --wait), and a
killed holder leaves nothing behind that stops the next run. Real processes, each with its own
connection; on SQLite the lock is a file lock, which the same tests check."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from common.locks import AlreadyRunning, exclusive

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time, django
django.setup()
from common.locks import exclusive
with exclusive(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _env() -> dict:
    """The child processes use this test's database (the advisory lock is per database)."""
    env = dict(os.environ)
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{settings['NAME']}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def _holder(name: str) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, name], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "held"
    return child


@pytest.fixture
def transactional(transactional_db):
    """The child processes must see the tables (committed), not a test transaction."""
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("an in-memory SQLite database is not shared with a child process")


def test_a_second_holder_is_refused_naming_the_first_and_a_kill_9_frees_the_lock(transactional):
    child = _holder("outsider.test")
    try:
        with pytest.raises(AlreadyRunning) as refused, exclusive("outsider.test"):
            pytest.fail("both held the lock")
        assert f"pid {child.pid}" in refused.value.message
        assert refused.value.status_code == 409
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # Nobody cleans up: the database (or the kernel) released the dead process's lock.
    deadline = time.monotonic() + 10
    while True:
        try:
            with exclusive("outsider.test"):
                break
        except AlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    # Other names were never held.
    with exclusive("outsider.other"):
        pass


def test_the_same_command_started_twice_at_once_runs_once(transactional):
    """A real `manage.py score_all` while another holds its lock: refused, exit status 1, the
    holder named, nothing done; with --wait it runs once the holder has gone."""
    child = _holder("score_all")
    try:
        refused = subprocess.run(
            [sys.executable, "manage.py", "score_all", "--no-offers"],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 1, refused.stderr
        assert "score_all is already running" in refused.stderr and f"pid {child.pid}" in refused.stderr
        assert "Scored" not in refused.stdout
        waiting = subprocess.Popen(
            [sys.executable, "manage.py", "score_all", "--no-offers", "--wait"],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert waiting.poll() is None  # still waiting for the holder
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "Scored 0 merchants" in out


def test_training_from_the_command_is_refused_while_a_training_job_holds_the_lock(db):
    """The training page's job and `train_model` share one lock: never two trainings at once
    (each may promote a champion)."""
    with exclusive("scoring.train"), pytest.raises(CommandError, match=r"scoring\.train is already running"):
        call_command("train_model", "--promote")
