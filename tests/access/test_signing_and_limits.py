"""Request signing (timestamp window, body binding, replays refused through the cache) and rate
limits (per key, per partner, per signed-in person: 429 with Retry-After), against real Redis."""

import json
import secrets
import threading
import time
import types
import uuid
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from common import security
from merchants.api.auth import SIGNATURE_WINDOW_SECONDS, sign
from tests.conftest import requires_redis
from tests.merchants.factories import ApiKeyFactory, PartnerPlatformFactory

pytestmark = pytest.mark.django_db
SECRET = "test-signing-secret"  # the factory's


def fresh_key(**kwargs):
    raw = f"xd_{uuid.uuid4().hex[:8]}_" + "r" * 40
    return ApiKeyFactory(raw_key=raw, **kwargs), raw


def post_orders(raw: str, body: bytes, signature: str | None = None):
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}
    if signature is not None:
        headers["HTTP_XIAODAI_SIGNATURE"] = signature
    return client.post("/api/v1/orders/", body, content_type="application/json", **headers)


def test_the_cache_is_redis_when_redis_url_is_set():
    if django_settings.REDIS_URL:
        assert django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    else:
        assert django_settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def test_a_key_that_must_sign_is_refused_without_a_signature():
    _, raw = fresh_key(requires_signature=True)
    response = post_orders(raw, b"{}")
    assert response.status_code == 401
    assert "Xiaodai-Signature" in response.content.decode()


def test_a_signed_request_passes_and_a_changed_body_does_not():
    _, raw = fresh_key(requires_signature=True)
    body = json.dumps({"id": "O-1"}).encode()
    now = int(time.time())
    assert post_orders(raw, body, sign(SECRET, body, now)).status_code == 400  # signed; the body is bad
    tampered = json.dumps({"id": "O-2"}).encode()
    response = post_orders(raw, tampered, sign(SECRET, body, now + 1))
    assert response.status_code == 401
    assert "does not match" in response.content.decode()
    assert post_orders(raw, body, sign("another-secret", body, now + 2)).status_code == 401


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-SIGNATURE_WINDOW_SECONDS - 5, False),
        (SIGNATURE_WINDOW_SECONDS + 5, False),
        (-250, True),
        (250, True),
    ],
)
def test_the_signature_timestamp_must_be_within_the_window(offset, accepted):
    _, raw = fresh_key(requires_signature=True)
    body = b"{}"
    response = post_orders(raw, body, sign(SECRET, body, int(time.time()) + offset))
    assert (response.status_code != 401) is accepted, response.content


def test_malformed_signatures_are_refused_naming_the_header():
    _, raw = fresh_key(requires_signature=True)
    for header in ["nonsense", "t=abc,v1=00", "t=1,v1=zz", f"t={int(time.time())}"]:
        response = post_orders(raw, b"{}", header)
        assert response.status_code == 401, header
        assert "Xiaodai-Signature" in response.content.decode() or "timestamp" in response.content.decode()


def test_a_key_that_need_not_sign_still_has_a_signature_checked_if_it_sends_one():
    _, raw = fresh_key()
    assert post_orders(raw, b"{}").status_code == 400
    assert post_orders(raw, b"{}", sign("wrong", b"{}", int(time.time()))).status_code == 401


@requires_redis
def test_a_replayed_signed_request_is_refused_through_redis():
    key, raw = fresh_key(requires_signature=True)
    client = cache._cache.get_client()
    # Redis outlives a run, and a new test database hands out the key ids an earlier run used.
    for stale in client.scan_iter(match=f"*api-signature:{key.pk}:*"):
        client.delete(stale)
    body = b"{}"
    signature = sign(SECRET, body, int(time.time()))
    assert post_orders(raw, body, signature).status_code == 400
    replay = post_orders(raw, body, signature)
    assert replay.status_code == 401
    assert "replay" in replay.content.decode()
    # The seen signature lives in Redis (shared by every web process), past the window.
    seen = list(client.scan_iter(match=f"*api-signature:{key.pk}:*"))
    assert len(seen) == 1
    assert client.ttl(seen[0]) > SIGNATURE_WINDOW_SECONDS


@pytest.fixture
def frozen_clock(monkeypatch):
    """The rate-limit windows read the clock; fix it mid-window so a test never straddles two, in
    an hour of its own: the counters live in Redis, which outlives a run, and a new test database
    gives its partners the ids an earlier run's had (a window shared with that run would start
    counting where it stopped)."""
    now = (int(time.time()) // 3600 + secrets.randbelow(10**9) + 1) * 3600 + 1800.25
    monkeypatch.setattr(security, "time", types.SimpleNamespace(time=lambda: now))
    return now


@requires_redis
def test_a_key_over_its_rate_gets_429_with_retry_after(settings, frozen_clock):
    settings.API_RATE_LIMITS = {"key": "3/hour", "partner": ""}
    key, raw = fresh_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    statuses = [client.get("/api/v1/merchants/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get("/api/v1/merchants/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1800"  # the rest of the hour's window
    assert refused["Content-Type"].startswith("application/") and "json" in refused["Content-Type"]
    assert refused.json()
    # Another key of the same partner has its own count.
    _, other = fresh_key(partner=key.partner)
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {other}")
    assert other_client.get("/api/v1/merchants/").status_code == 200
    # The counter is in Redis.
    assert list(cache._cache.get_client().scan_iter(match=f"*rate:api-key:{key.prefix}:*"))


@requires_redis
def test_a_partner_over_its_rate_is_refused_across_all_its_keys(settings, frozen_clock):
    settings.API_RATE_LIMITS = {"key": "", "partner": "4/hour"}
    partner = PartnerPlatformFactory()
    clients = []
    for _ in range(2):
        _, raw = fresh_key(partner=partner)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        clients.append(client)
    assert [c.get("/api/v1/merchants/").status_code for c in clients * 2] == [200] * 4
    assert clients[0].get("/api/v1/merchants/").status_code == 429
    assert clients[1].get("/api/v1/merchants/").status_code == 429
    _, elsewhere = fresh_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {elsewhere}")
    assert other.get("/api/v1/merchants/").status_code == 200


@requires_redis
def test_concurrent_requests_never_get_past_the_limit():
    subject = uuid.uuid4().hex
    allowed = []
    barrier = threading.Barrier(40)

    def hit():
        barrier.wait()
        allowed.append(security.rate_limit_hit(bucket="race", subject=subject, rate="10/hour")[0])

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A window may end while the threads run: then each window lets its own ten through.
    assert allowed.count(True) in (10, 20)
    assert len(allowed) == 40


@requires_redis
def test_a_signed_in_person_over_the_pages_rate_gets_a_429_page(settings, client, frozen_clock):
    settings.USER_RATE_LIMIT = "2/hour"
    user = User.objects.create_user(f"u{uuid.uuid4().hex[:8]}", password="not-used-here")
    client.force_login(user)
    for _ in range(2):
        assert client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    refused = client.post("/i18n/setlang/", {"language": "en"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "1800"
    assert "Too many requests" in refused.content.decode()
    # Reading is never limited.
    assert client.get("/login/").status_code in (200, 302)


def test_the_documented_signing_snippet_is_accepted():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    section = text[text.index("## Keys, scopes, signing and rate limits") :]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    key, raw = fresh_key(requires_signature=True)
    scope = {"KEY": raw, "SIGNING_SECRET": key.signing_secret}
    exec(snippet, scope)  # noqa: S102 (our own documentation)
    request = scope["request"]
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in request.header_items()}
    headers.pop("HTTP_CONTENT_TYPE")
    response = APIClient().post(request.selector, request.data, content_type="application/json", **headers)
    # Signed and authenticated: the order is refused only because merchant TB000001 is not there.
    assert response.status_code not in (401, 403), response.content


@requires_redis
def test_a_request_counts_its_key_and_its_partner_in_one_round_trip_to_redis(settings, frozen_clock):
    from redis.connection import AbstractConnection

    settings.API_RATE_LIMITS = {"key": "100/hour", "partner": "100/hour"}
    key, raw = fresh_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/merchants/").status_code == 200
    sent = []
    original = AbstractConnection.send_packed_command

    def counted(connection, *args, **kwargs):
        sent.append(args[0])
        return original(connection, *args, **kwargs)

    with mock.patch.object(AbstractConnection, "send_packed_command", counted):
        assert client.get("/api/v1/merchants/").status_code == 200
    assert len(sent) == 1
    # Both counted, each in its own window that ends with the hour.
    window = int(frozen_clock // 3600)
    assert cache.get(f"rate:api-key:{key.prefix}:{window}") == 2
    assert cache.get(f"rate:api-partner:{key.partner_id}:{window}") == 2
    client_ = cache._cache.get_client()
    assert 3600 < client_.ttl(cache.make_key(f"rate:api-key:{key.prefix}:{window}")) <= 3601


@requires_redis
def test_over_both_limits_the_wait_is_the_longer_window_and_both_are_counted(settings, frozen_clock):
    # Half past the hour, a quarter second into a minute.
    settings.API_RATE_LIMITS = {"key": "1/hour", "partner": "1/min"}
    key, raw = fresh_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/merchants/").status_code == 200
    refused = client.get("/api/v1/merchants/")
    assert refused.status_code == 429 and refused["Retry-After"] == "1800"
    # Refused by the partner's limit alone: the minute's rest.
    settings.API_RATE_LIMITS = {"key": "10/hour", "partner": "1/min"}
    refused = client.get("/api/v1/merchants/")
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    # Every request was counted against both, refused or not.
    assert cache.get(f"rate:api-key:{key.prefix}:{int(frozen_clock // 3600)}") == 3
    assert cache.get(f"rate:api-partner:{key.partner_id}:{int(frozen_clock // 60)}") == 3
