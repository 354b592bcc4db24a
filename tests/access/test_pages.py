"""Sign-in lockout on both login forms, security headers on every kind of response, and sessions
that end after the idle time."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"

LOGIN_FORMS = {"portal": "/login/", "workbench": "/admin/login/"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("form", sorted(LOGIN_FORMS))
def test_repeated_failures_lock_the_login_form_even_for_the_right_password(client, settings, form):
    url = LOGIN_FORMS[form]
    User.objects.create_user("mallory-target", password=PASSWORD, is_staff=(form == "workbench"))
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": "mallory-target", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    locked = client.post(url, {"username": "mallory-target", "password": "wrong"})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())
    page = locked.content.decode()
    assert "登录已暂时锁定" in page  # Chinese first
    in_english = client.post(
        url, {"username": "mallory-target", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert in_english.status_code == 429 and "Sign-in temporarily locked" in in_english.content.decode()
    assert '<link rel="stylesheet"' in page  # the project's page, not a bare message
    right = client.post(url, {"username": "mallory-target", "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another person signing in from the same address is not locked out.
    User.objects.create_user("someone-else", password=PASSWORD, is_staff=True)
    assert client.post(url, {"username": "someone-else", "password": PASSWORD}).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, settings):
    from axes.models import AccessAttempt

    User.objects.create_user("patient", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "patient", "password": "wrong"})
    assert client.post("/login/", {"username": "patient", "password": PASSWORD}).status_code == 429
    # The cool-off passes: the recorded failures age past it (django-axes reads their times).
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=5)
    )
    assert client.post("/login/", {"username": "patient", "password": PASSWORD}).status_code == 302


def test_a_success_before_the_limit_clears_the_failures(client, settings):
    User.objects.create_user("forgetful", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "forgetful", "password": "wrong"})
    assert client.post("/login/", {"username": "forgetful", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": "forgetful", "password": "wrong"}).status_code == 200


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize(
    "url", ["/login/", "/admin/login/", "/api/v1/merchants/", "/api/docs/", "/api/schema/", "/no-such-page/"]
)
def test_every_kind_of_response_carries_csp_and_permissions_policy(client, url):
    response = client.get(url)
    policy = _policy(response)
    assert policy["default-src"] == "default-src 'self'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_inline_styles_and_scripts_carry_the_responses_nonce(admin_client):
    response = admin_client.get("/ops/assembly-line/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", _policy(response)["style-src"]).group(1)
    page = response.content.decode()
    blocks = re.findall(r"<(?:style|script)(?![^>]*\bsrc=)([^>]*)>", page)
    assert blocks, "the page has inline blocks to check"
    assert all(f'nonce="{nonce}"' in attributes for attributes in blocks)


def test_sessions_end_after_the_idle_time_and_each_request_renews_them(client, settings, monkeypatch):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_HTTPONLY
    assert 5 * 60 <= settings.SESSION_COOKIE_AGE <= 60 * 60
    user = User.objects.create_user("idle", password=PASSWORD, is_staff=True, is_superuser=True)
    client.force_login(user)
    start = timezone.now()
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)

    # Active: a request every (idle time - 1 minute) keeps the session alive past the idle time.
    for step in (1, 2):
        moment = start + step * (idle - dt.timedelta(minutes=1))
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        assert client.get("/admin/").status_code == 200

    # Idle longer than the limit: signed out.
    moment = start + 3 * idle
    monkeypatch.setattr(timezone, "now", lambda: moment)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_production_cookies_are_secure_only(settings):
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_SSL_REDIRECT)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": ":".join(sys.path),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "s" * 50,
        "FIELD_ENCRYPTION_KEY": "f" * 40,
        "API_KEY_HASH_KEY": "h" * 40,
    }
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stderr


def test_an_administrator_who_is_no_superuser_lifts_a_lockout_in_the_workbench(client, settings):
    from axes.models import AccessAttempt

    from common import roles

    User.objects.create_user("locked-out", password=PASSWORD)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "locked-out", "password": "wrong"})
    assert client.post("/login/", {"username": "locked-out", "password": PASSWORD}).status_code == 429

    administrator = User.objects.create_user("administrator", password=PASSWORD, is_staff=True)
    administrator.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    assert not administrator.is_superuser
    workbench = Client()
    workbench.force_login(administrator)
    changelist = workbench.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200 and "locked-out" in changelist.content.decode()
    attempt = AccessAttempt.objects.get(username="locked-out")
    delete_url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert workbench.post(delete_url, {"post": "yes"}).status_code == 302
    assert not AccessAttempt.objects.filter(username="locked-out").exists()

    assert client.post("/login/", {"username": "locked-out", "password": PASSWORD}).status_code == 302
