"""run_demo starts the web server, beat and workers that together consume every queue, serves the
login page, prints its welcome last and then stays quiet, and stops every process it started on
Ctrl-C or a plain kill."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from demo.management.commands.run_demo import celery_commands, worker_queues

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = "Ctrl-C stops web, beat and the workers together."


def test_workers_consume_every_queue_and_the_interactive_one_alone():
    groups = worker_queues()
    consumed = [queue for group in groups for queue in group]
    assert sorted(consumed) == sorted(settings.CELERY_QUEUES_ALL)
    assert len(consumed) == len(set(consumed))
    assert (settings.CELERY_QUEUE_INTERACTIVE,) in groups
    commands = celery_commands("python")
    assert [argv[argv.index("--quiet") + 1] for argv in commands] == ["beat"] + ["worker"] * len(groups)
    assert all(argv[argv.index("--loglevel") + 1] == "WARNING" for argv in commands)
    assert [argv[argv.index("--queues") + 1] for argv in commands[1:]] == [",".join(g) for g in groups]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sessions_alive(session_ids: set[int]) -> list[int]:
    """Pids of processes still running in any of these sessions (a worker's pool included)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) in session_ids:
            alive.append(int(stat.parent.name))
    return alive


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def welcome_wait(demo: subprocess.Popen, log: Path, seconds: float) -> set[int]:
    """Wait until run_demo's log ends with the welcome (or `seconds` pass), failing if it exits
    first; the ids of the children it started meanwhile."""
    started: set[int] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and LAST_LINE not in log.read_text():
        time.sleep(1)
        assert demo.poll() is None, log.read_text()
        started |= children_of(demo.pid)
    return started | children_of(demo.pid)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_run_demo_serves_the_login_page_and_a_stop_signal_stops_everything(tmp_path, stop):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"XIAODAI_VAR_DIR": str(tmp_path), "XIAODAI_DEMO": "1", "PYTHONUNBUFFERED": "1"}
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    log = tmp_path / "run_demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "run_demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # As from a shell's background job: SIGINT ignored on the way in.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    started: set[int] = set()
    try:
        started = welcome_wait(demo, log, 180)
        text = log.read_text()
        # The welcome comes last, once web, beat and every worker are up: address, logins, keys.
        assert text.rstrip().endswith(LAST_LINE), text
        welcome = text[text.index("demo is ready") :]
        assert f"http://127.0.0.1:{port}/" in welcome and "partner API keys" in welcome
        assert len(started) == 2 + len(worker_queues())  # web, beat and the workers
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as page:
                assert page.status == 200
        # Then it stays quiet: no line per request, and none per beat tick (payouts every 5 s).
        time.sleep(12)
        assert log.read_text() == text
    finally:
        demo.send_signal(stop)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        deadline = time.monotonic() + 10
        while sessions_alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = sessions_alive(started)
        # Whatever the outcome, leave nothing running behind the test.
        for session in [sid for sid in started if sessions_alive({sid})]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session, signal.SIGKILL)
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert code == 0, log.read_text()
    assert left == []


@pytest.mark.django_db
def test_the_welcome_prints_the_seeded_partner_keys_still_working():
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from demo.management.commands.run_demo import api_keys_active
    from merchants.models import ApiKey

    call_command("seed_demo", "--merchants", "10", "--days", "10", "--end-date=2025-03-31", stdout=StringIO())
    keys = api_keys_active()
    assert sorted(keys) == ["alibaba", "taobao"] and all(raw.startswith("xd_") for raw in keys.values())
    ApiKey.objects.filter(prefix=keys["taobao"].split("_")[1]).update(revoked_at=timezone.now())
    assert sorted(api_keys_active()) == ["alibaba"]
