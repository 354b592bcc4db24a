"""Serve the embedded demo: the web server, Celery beat and workers for every queue, started
together and stopped together (Ctrl-C). Once the web server answers it prints the address, the
logins and the partner API keys as its last lines, then stays quiet: the children log warnings
and errors only (no line per request or per beat)."""

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.models import SimulatorState
from demo.receivers import HOLD_FILE_ENV, READY_DIR_ENV
from demo.simulator.onboarding import DEMO_PASSWORD
from merchants.models import ApiKey

# The console speaks English, as the commands' output and the logs do: one language per line.
DEMO_LOGINS = [
    ("seller", "B2C seller (portal)"),
    ("member", "B2B member (portal)"),
    ("officer", "loan officer (/admin/)"),
    ("officer2", "second loan officer, four eyes (/admin/)"),
    ("inspector", "field inspector (/admin/)"),
    ("collections", "collections agent (/admin/)"),
    ("risk", "risk manager (/admin/, /risk/sandbox/, /risk/training/)"),
    ("finance", "finance (/admin/, /demo/advance/)"),
    ("admin", "administrator (/admin/, /demo/advance/)"),
]
# The children log at this level: warnings and errors, never a line per request or per task.
CHILD_LOG_LEVEL = "WARNING"
READY_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 15


def api_keys_active() -> dict[str, str]:
    """The demo partners' keys as issued at seed (kept with the demo's marketplace), those still
    working: a key revoked or rotated away since is not printed."""
    state = SimulatorState.objects.filter(pk=1).first()
    keys = (state.partner_api_keys or {}) if state else {}
    prefixes = {code: raw.split("_")[1] for code, raw in keys.items() if raw.count("_") >= 2}
    active = {key.prefix for key in ApiKey.objects.filter(prefix__in=prefixes.values()) if key.is_active}
    return {code: keys[code] for code, prefix in prefixes.items() if prefix in active}


def worker_queues() -> list[tuple[str, ...]]:
    """The queues each worker consumes: one worker per queue, so a person's sandbox run or
    withdrawal never waits behind a backlog, and payouts keep leaving while a long close of
    business runs on the batch queue."""
    return [(queue,) for queue in settings.CELERY_QUEUES_ALL]


def celery_commands(python: str) -> list[list[str]]:
    """The argv of beat and of each worker: quiet (no banner) and logging warnings only."""
    base = [python, "-m", "celery", "-A", "config", "--quiet"]
    commands = [
        [
            *base,
            "beat",
            "--loglevel",
            CHILD_LOG_LEVEL,
            "--schedule",
            settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ],
    ]
    for queues in worker_queues():
        name = "-".join(queues)
        commands.append(
            [
                *base,
                "worker",
                "--loglevel",
                CHILD_LOG_LEVEL,
                "--concurrency",
                "1",
                "--queues",
                ",".join(queues),
                "--hostname",
                f"{name}@%h",
            ]
        )
    return commands


def _die_with_parent() -> None:
    """In each child before it runs (Linux): SIGTERM when run_demo dies, even by SIGKILL, so no
    child outlives it. Elsewhere a no-op; the process groups below still stop them."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run web, Celery beat and a worker for each group of queues together for the demo."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--build",
            action="store_true",
            help="first build the demo's database (manage.py build_demo, with XIAODAI_SQLITE_BUILD=1) "
            "while web, beat and the workers start and wait for it (what `make run` does)",
        )
        parser.add_argument("--merchants", type=int, default=None, help="with --build: seed's --merchants")
        parser.add_argument("--days", type=int, default=None, help="with --build: seed_demo's --days")
        parser.add_argument("--end-date", default=None, help="with --build: seed_demo's --end-date")

    def handle(self, *args, host, port, build=False, **options):
        # Ctrl-C, and a plain `kill` from a supervisor, both stop every process started here (a
        # shell that started this in the background may have left SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        python = sys.executable
        work_dir = Path(tempfile.mkdtemp(prefix="xiaodai-run-demo-"))
        ready_dir = work_dir / "ready"
        ready_dir.mkdir()
        built = work_dir / "built"
        env = {
            **os.environ,
            READY_DIR_ENV: str(ready_dir),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": CHILD_LOG_LEVEL,
            # The development server's request lines: server errors only.
            "DJANGO_SERVER_LOG_LEVEL": "ERROR",
        }
        if build:
            # The children load everything while the database is built, then wait for it.
            env[HOLD_FILE_ENV] = str(built)
        web = [python, "-m", "demo.held_start", "runserver", f"{host}:{port}", "--noreload", "--skip-checks"]
        processes = []
        builder = None
        try:
            if build:
                builder = subprocess.Popen(  # noqa: S603 - our own argv
                    self._build_argv(python, options),
                    env={**os.environ, "XIAODAI_SQLITE_BUILD": "1"},
                    # In this command's process group: Ctrl-C reaches it too. Each date it closes
                    # commits, so a build stopped half-way resumes at the next start.
                    preexec_fn=_die_with_parent,
                )
            for argv in [*celery_commands(python), web]:
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own argv
                        argv,
                        env=env,
                        # Each child leads its own process group: Ctrl-C reaches only this
                        # command, which then stops every group (a worker with its pool) in order.
                        start_new_session=True,
                        preexec_fn=_die_with_parent,
                        # The web server's stdout holds only its start-up banner.
                        stdout=subprocess.DEVNULL if argv is web else None,
                    )
                )
                if builder is not None:
                    # One at a time while the build runs: the build keeps a core to itself.
                    self._wait_for_hold(builder, processes, built)
            if build:
                if not self._wait_for_build(builder, processes):
                    self.stderr.write("the demo's build failed: stopped web, beat and the workers")
                    sys.exit(1)
                built.touch()
            ready = self._wait_until_ready(host, port, processes, ready_dir)
            if ready:
                self._print_welcome(host, port)
            while ready and all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if builder is not None and builder.poll() is None:
                builder.send_signal(signal.SIGINT)
                builder.wait()
            self._stop(processes)
            shutil.rmtree(work_dir, ignore_errors=True)
        failed = [
            " ".join(map(str, p.args[2:7]))
            for p in processes
            if p.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL)
        ]
        if failed:
            self.stderr.write(f"stopped: {'; '.join(failed)} exited with an error")
            sys.exit(1)
        self.stdout.write("Stopped web, beat and the workers.")

    @staticmethod
    def _build_argv(python: str, options: dict) -> list[str]:
        argv = [python, "manage.py", "build_demo"]
        for name in ("merchants", "days", "end_date"):
            if options.get(name) is not None:
                argv += [f"--{name.replace('_', '-')}", str(options[name])]
        return argv

    @staticmethod
    def _wait_for_hold(builder, processes, built: Path) -> None:
        """Until every child started is waiting for the build (or the build ended, or one
        stopped)."""
        while builder.poll() is None and all(p.poll() is None for p in processes):
            if len(list(built.parent.glob(f"{built.name}.*"))) >= len(processes):
                return
            time.sleep(0.1)

    @staticmethod
    def _wait_for_build(builder, processes) -> bool:
        """Until the build ends; False when it failed or a child stopped meanwhile."""
        while builder.poll() is None:
            if any(p.poll() is not None for p in processes):
                builder.send_signal(signal.SIGINT)
                builder.wait()
                return False
            time.sleep(0.2)
        return builder.returncode == 0

    def _wait_until_ready(self, host, port, processes, ready_dir: Path) -> bool:
        """Until the web server answers and beat and every worker said they are up (or the time
        is over: then the welcome comes anyway, perhaps before a late start-up line)."""
        celery = len(processes) - 1
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                return False
            if _answers(host, port) and len(list(ready_dir.iterdir())) >= celery:
                return True
            time.sleep(0.2)
        if _answers(host, port):
            return True
        self.stderr.write(f"the web server did not answer on {host}:{port} in {READY_TIMEOUT_SECONDS} s")
        return False

    def _stop(self, processes) -> None:
        """SIGTERM every child (a worker stops its pool and finishes its task), then SIGKILL each
        child's process group, whatever is left of it after the grace period; every child is
        waited for."""
        for p in processes:
            if p.poll() is None:
                # The child itself: a worker then stops its pool in order (a pool process
                # signalled directly would be logged as lost).
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for p in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        for p in processes:
            # The group too: a pool process may outlive its worker.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def _print_welcome(self, host, port):
        existing = set(
            get_user_model()
            .objects.filter(username__in=[u for u, _ in DEMO_LOGINS])
            .values_list("username", flat=True)
        )
        lines = [
            "",
            f"  database: {settings.DATABASES['default']['NAME']}",
            f"  broker:   {settings.CELERY_BROKER_URL} (queues: "
            + "; ".join(",".join(q) for q in worker_queues())
            + ")",
            "",
            f"Xiaodai demo is ready: http://{host}:{port}/",
            f"  officers' workbench:  http://{host}:{port}/admin/",
            f"  risk: sandbox http://{host}:{port}/risk/sandbox/ · training http://{host}:{port}/risk/training/",
            f"  move the demo on:     http://{host}:{port}/demo/advance/",
            f"  partner API docs:     http://{host}:{port}/api/docs/",
            "  logins (password for all: " + DEMO_PASSWORD + "):",
        ]
        lines += [f"    {u:<11} {role}" for u, role in DEMO_LOGINS if u in existing]
        keys = api_keys_active()
        if keys:
            lines.append("  partner API keys (Authorization: Api-Key <key>):")
            lines += [f"    {code:<11} {raw}" for code, raw in keys.items()]
        else:
            lines.append(
                "  partner API keys: none kept; issue one: manage.py api_keys issue --partner taobao"
            )
        lines.append("Ctrl-C stops web, beat and the workers together.")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
