"""Safe defaults: DEBUG is off unless DJANGO_DEBUG says so, production refuses to start without
its keys, and the development server does not pile up PostgreSQL connections."""

import concurrent.futures
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.db import connection

from tests.conftest import requires_postgres

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("XIAODAI_TEST_PORT", "8104"))
SETTINGS_READ = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; print(json.dumps({'debug': s.DEBUG, "
    "'conn_max_age': d.get('CONN_MAX_AGE'), 'health_checks': d.get('CONN_HEALTH_CHECKS')}))"
)
KEYS = ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "API_KEY_HASH_KEY")


def settings_process(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", *KEYS, "DATABASE_CONN_MAX_AGE"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": os.pathsep.join(sys.path)})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", SETTINGS_READ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("debug", [None, "0"])
def test_without_keys_and_without_debug_the_settings_refuse_to_load(debug):
    env = {} if debug is None else {"DJANGO_DEBUG": debug}
    result = settings_process(**env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("missing", ["FIELD_ENCRYPTION_KEY", "API_KEY_HASH_KEY"])
def test_production_refuses_to_start_without_each_key(missing):
    env = {name: f"{name.lower()}-0123456789-0123456789" for name in KEYS if name != missing}
    result = settings_process(DJANGO_DEBUG="0", **env)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_with_its_keys_production_starts_with_debug_off_even_when_debug_is_unset():
    env = {name: f"{name.lower()}-0123456789-0123456789" for name in KEYS}
    result = settings_process(**env)
    assert result.returncode == 0, result.stderr
    assert '"debug": false' in result.stdout


def test_development_asks_for_debug_and_needs_no_keys():
    result = settings_process(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert '"debug": true' in result.stdout


def test_postgres_connections_last_one_request_unless_configured_and_compose_keeps_them():
    base = {"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://u@127.0.0.1:5432/db"}
    plain = settings_process(**base)
    assert '"conn_max_age": 0' in plain.stdout and '"health_checks": true' in plain.stdout, plain.stderr
    kept = settings_process(**base, DATABASE_CONN_MAX_AGE="60")
    assert '"conn_max_age": 60' in kept.stdout
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    web = compose["services"]["web"]
    assert int(web["environment"]["DATABASE_CONN_MAX_AGE"]) > 0
    assert "gunicorn" in str(web["command"])


def _wait_for(url: str, process: subprocess.Popen) -> None:
    for _ in range(240):
        if process.poll() is not None:
            raise AssertionError(process.stdout.read())
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 (our own http:// server)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the development server did not start")


def _hit(_):
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/api/v1/merchants/",
        headers={"Authorization": "Api-Key xd_nope0000_" + "x" * 40},
    )
    try:
        urllib.request.urlopen(request, timeout=60)  # noqa: S310 (our own http:// server)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return repr(exc)
    return 200


def _connections_to(database: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        )
        return cursor.fetchone()[0]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_hundreds_of_quick_requests_to_the_development_server_leave_no_connections_behind():
    database = connection.settings_dict["NAME"]
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{database}"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_CONN_MAX_AGE"}
    env.update({"DATABASE_URL": url, "DJANGO_DEBUG": "1", "PYTHONPATH": os.pathsep.join(sys.path)})
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload", "--skip-checks"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{PORT}/login/", server)
        with concurrent.futures.ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(_hit, range(300)))
        # Every request reached the database (an unknown key is looked up) and was answered.
        assert answers == [401] * 300, {str(a) for a in answers}
        time.sleep(1)
        assert _connections_to(database) <= 2
    finally:
        server.terminate()
        server.wait(timeout=30)
