"""Serve the embedded demo: the web server, one Celery worker and beat, started together and
stopped together (Ctrl-C)."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from merchants.simulator.onboarding import DEMO_PASSWORD

DEMO_LOGINS = [
    ("seller", "B2C seller 淘宝卖家 (portal)"),
    ("member", "B2B member 1688会员 (portal)"),
    ("officer", "loan officer 信贷员 (/admin/)"),
    ("risk", "risk manager 风控经理 (/admin/)"),
    ("admin", "administrator 管理员 (/admin/)"),
]


class Command(BaseCommand):
    help = "Run web, Celery worker and beat together for the demo."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        python = sys.executable
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        celery = [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--schedule",
            settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ]
        web = [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
        processes = [
            subprocess.Popen(celery, env=env, start_new_session=True),  # noqa: S603 - our own argv
            subprocess.Popen(web, env=env, start_new_session=True),  # noqa: S603 - our own argv
        ]
        self._print_welcome(host, port)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        failed = [p.args[2] if p.args[1] == "-m" else p.args[1] for p in processes if p.returncode]
        if failed:
            self.stderr.write(f"stopped: {', '.join(map(str, failed))} exited with an error")
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
        lines += [f"    {u:<8} {role}" for u, role in DEMO_LOGINS if u in existing]
        lines.append("  Ctrl-C stops web, worker and beat.")
        self.stdout.write("\n".join(lines) + "\n")
