"""Serve the embedded demo: the web server, Celery beat and workers for every queue, started
together and stopped together (Ctrl-C)."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.simulator.onboarding import DEMO_PASSWORD

DEMO_LOGINS = [
    ("seller", "B2C seller 淘宝卖家 (portal)"),
    ("member", "B2B member 1688会员 (portal)"),
    ("officer", "loan officer 信贷员 (/admin/)"),
    ("officer2", "second loan officer 复核信贷员, four eyes (/admin/)"),
    ("inspector", "field inspector 实地尽调员 (/admin/)"),
    ("collections", "collections agent 催收专员 (/admin/)"),
    ("risk", "risk manager 风控经理 (/admin/, /risk/sandbox/)"),
    ("finance", "finance 财务 (/admin/)"),
    ("admin", "administrator 管理员 (/admin/)"),
]


def worker_queues() -> list[tuple[str, ...]]:
    """The queues each worker consumes: one worker per queue, so a person's sandbox run or
    withdrawal never waits behind a backlog, and payouts keep leaving while a long close of
    business runs on the batch queue."""
    return [(queue,) for queue in settings.CELERY_QUEUES_ALL]


def celery_commands(python: str) -> list[list[str]]:
    """The argv of beat and of each worker."""
    base = [python, "-m", "celery", "-A", "config"]
    commands = [
        [*base, "beat", "--loglevel", "INFO", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
    ]
    for queues in worker_queues():
        name = "-".join(queues)
        commands.append(
            [
                *base,
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--queues",
                ",".join(queues),
                "--hostname",
                f"{name}@%h",
            ]
        )
    return commands


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run web, Celery beat and a worker for each group of queues together for the demo."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        # Ctrl-C, and a plain `kill` from a supervisor, both stop every process started here (a
        # shell that started this in the background may have left SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        python = sys.executable
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        web = [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
        processes = [
            subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603 - our own argv
            for argv in [*celery_commands(python), web]
        ]
        self._print_welcome(host, port)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            # Each child leads its own process group (start_new_session): stop the group, so a
            # worker's pool processes stop with it.
            for p in processes:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        failed = [
            " ".join(map(str, p.args[2:6])) for p in processes if p.returncode not in (0, -signal.SIGTERM)
        ]
        if failed:
            self.stderr.write(f"stopped: {'; '.join(failed)} exited with an error")
            sys.exit(1)

    def _print_welcome(self, host, port):
        existing = set(
            get_user_model()
            .objects.filter(username__in=[u for u, _ in DEMO_LOGINS])
            .values_list("username", flat=True)
        )
        lines = [
            "",
            f"Xiaodai 小贷 demo: http://{host}:{port}/",
            f"  officers' workbench: http://{host}:{port}/admin/",
            f"  partner API docs:    http://{host}:{port}/api/docs/",
            f"  database: {settings.DATABASES['default']['NAME']}",
            f"  broker:   {settings.CELERY_BROKER_URL}",
            "  logins (password for all: " + DEMO_PASSWORD + "):",
        ]
        lines += [f"    {u:<11} {role}" for u, role in DEMO_LOGINS if u in existing]
        lines.append(
            "  Ctrl-C stops web, beat and the workers (queues: "
            + "; ".join(",".join(q) for q in worker_queues())
            + ")."
        )
        self.stdout.write("\n".join(lines) + "\n")
