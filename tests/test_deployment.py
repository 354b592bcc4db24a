"""Production packaging stays consistent with the code it ships: Django's deployment checks pass
with production settings, and the Dockerfile, docker-compose.yml, Makefile and README agree with
the settings module and with each other."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS_FILE = ROOT / "config" / "settings.py"

APP_SERVICES = ("web", "worker", "worker-interactive", "worker-batch", "beat")
REQUIRED_IN_PRODUCTION = ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL")
# Written with `${NAME:?message}`, so compose refuses to start without them.
REQUIRED_FROM_OPERATOR = ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "API_KEY_HASH_KEY")


def settings_env_names() -> set[str]:
    """Every variable config/settings.py reads: env("X"), env.<type>("X") and Env().<type>("X")."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS_FILE.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        target = func.value if isinstance(func, ast.Attribute) else func
        reads_env = (isinstance(target, ast.Name) and target.id == "env") or (
            isinstance(target, ast.Call) and getattr(target.func, "attr", None) == "Env"
        )
        if reads_env:
            names.add(first.value)
    return names


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_deploy_check_passes_with_production_settings_and_no_warnings():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "q7Vx-2mKp_9ZrT4bWc8NjH3sLd6Fy1Ga5Ue0Io7Rk2Pq9Sw4Xz8Cn3Bm6Eh1Ja5Tv",
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "FIELD_ENCRYPTION_KEY": "deploy-check-field-key-0123456789",
        "API_KEY_HASH_KEY": "deploy-check-api-key-hash-0123456789",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_settings_reader_finds_the_variables_production_needs():
    # Guards the parser below: if settings stop reading these, the consistency checks mean nothing.
    assert set(REQUIRED_IN_PRODUCTION) | {"DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"} <= (settings_env_names())


def test_compose_defines_the_production_services(services):
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert any("/var/lib/postgresql/data" in volume for volume in services["postgres"]["volumes"])


def test_compose_runs_exactly_one_beat(services):
    beat = services["beat"]
    assert int(beat.get("deploy", {}).get("replicas", 1)) == 1
    assert "scale" not in beat or int(beat["scale"]) == 1


def test_compose_app_services_share_one_image_and_one_environment(services):
    app = [services[name] for name in (*APP_SERVICES, "migrate") if name in services]
    assert len({service["image"] for service in app}) == 1
    assert all(service.get("build") for service in app)
    assert all(service["environment"] == services["web"]["environment"] for service in app)


def test_compose_sets_only_variables_that_settings_read(services):
    read = settings_env_names()
    for name in APP_SERVICES:
        unread = set(services[name]["environment"]) - read
        assert not unread, f"{name} sets {sorted(unread)}, which config/settings.py never reads"


def test_compose_sets_every_variable_production_requires(services):
    env = services["web"]["environment"]
    assert set(REQUIRED_IN_PRODUCTION) <= set(env)
    assert str(env["DJANGO_DEBUG"]) in {"0", "False", "false", "off", "no"}
    assert env["DATABASE_URL"].startswith("postgres://xiaodai:")
    assert env["DATABASE_URL"].endswith("@postgres:5432/xiaodai")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert {"DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS"} <= set(env)
    for name in REQUIRED_FROM_OPERATOR:
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), (
            f"{name} must be required from the operator: ${{{name}:?message}}"
        )


def worker_queues(service: dict) -> list[str]:
    """The queues a compose worker consumes (--queues / -Q); none named means none checked."""
    command = service["command"]
    args = command if isinstance(command, list) else command.split()
    for flag in ("--queues", "-Q"):
        if flag in args:
            return args[args.index(flag) + 1].split(",")
    return []


def test_every_celery_queue_is_consumed_by_a_compose_worker(services):
    from django.conf import settings

    workers = {
        name: s for name, s in services.items() if command_text(s).startswith("celery -A config worker")
    }
    assert workers, "compose runs no Celery worker"
    consumed = {queue for service in workers.values() for queue in worker_queues(service)}
    assert set(settings.CELERY_QUEUES_ALL) <= consumed, (
        f"no worker consumes {set(settings.CELERY_QUEUES_ALL) - consumed}"
    )
    assert consumed <= set(settings.CELERY_QUEUES_ALL), f"workers consume unknown queues {consumed}"
    # Every worker names its queues, so none silently takes work meant for another.
    assert all(worker_queues(service) for service in workers.values())
    # And every routed task goes to a queue that exists.
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= set(settings.CELERY_QUEUES_ALL)


def test_compose_commands_use_the_project_wsgi_and_celery_app(services):
    web = command_text(services["web"])
    assert web.startswith("gunicorn config.wsgi")
    assert "--bind 0.0.0.0:8000" in web
    assert "--workers" in web
    assert command_text(services["worker"]).startswith("celery -A config worker")
    assert command_text(services["beat"]).startswith("celery -A config beat")
    migrate = command_text(services["migrate"])
    assert migrate == "python manage.py migrate --noinput"


def test_demo_runs_the_same_celery_app_as_production():
    source = (ROOT / "demo" / "management" / "commands" / "run_demo.py").read_text(encoding="utf-8")
    assert re.search(r'"-A",\s*"config"', source), "run_demo must start celery with -A config"
    celery_module = (ROOT / "config" / "celery.py").read_text(encoding="utf-8")
    assert "Celery(" in celery_module
    init = (ROOT / "config" / "__init__.py").read_text(encoding="utf-8")
    assert "celery_app" in init


def test_compose_databases_have_healthchecks_that_app_services_wait_for(services):
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in str(services["redis"]["healthcheck"]["test"])
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        for database in ("postgres", "redis"):
            assert depends_on[database]["condition"] == "service_healthy", (name, database)
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dockerfile_installs_the_project_and_serves_config_wsgi():
    lines = [
        line.strip()
        for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8")).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    instructions = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert re.search(r"pip install (--\S+ )*(\.|/app)(\s|$)", runs), "installs the project"
    assert "[dev]" not in runs
    assert "collectstatic --noinput" in runs
    assert "DJANGO_DEBUG=0" in runs
    assert "DJANGO_SECRET_KEY=" in runs
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert ("EXPOSE", "8000") in instructions
    cmd = [args for op, args in instructions if op in {"CMD", "ENTRYPOINT"}]
    assert cmd and "config.wsgi" in cmd[-1]
    assert "gunicorn" in cmd[-1]


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git"} <= ignored


def test_makefile_defines_run_and_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, flags=re.MULTILINE))
    assert {"run", "test"} <= targets


def test_readme_tells_people_to_make_run_and_make_test():
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not written yet")
    text = readme.read_text(encoding="utf-8")
    assert "make run" in text
    assert "make test" in text
