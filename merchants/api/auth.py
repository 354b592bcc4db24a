"""Partner authentication, scopes, request signing and rate limits.

- A key: `Authorization: Api-Key xd_<prefix>_<secret>`; the prefix finds the row, a keyed digest
  proves the key (merchants.models.ApiKey). Revoked keys, keys past their rotation overlap and
  keys of a suspended partner are refused (401).
- Scopes: every partner API view declares the scope each method needs in `required_scopes`
  ({"GET": ApiScope.READ, "POST": ApiScope.INGEST}); HasScope refuses a key without it (403) and
  refuses every method a view does not declare (fail closed).
- Signing (optional; required for a key marked `requires_signature`): header
  `Xiaodai-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>` under the
  key's signing secret, the scheme of the webhooks the platform sends. The timestamp must be
  within SIGNATURE_WINDOW_SECONDS of the server's clock, and a signature works once: it is
  remembered in the cache (Redis in production) for longer than the window.
- Rate limits: per key and per partner (all its keys together), fixed windows counted in the
  cache with atomic increments; over the limit DRF's Throttled answers 429 with Retry-After.
- A key's `last_used_at` is written when it is more than LAST_USED_RESOLUTION old: a key in
  steady use costs one write a minute, not a write (and its commit's disk flush) per request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from common.security import rate_limits_hit
from common.sql import columns_of, fixed_instances
from merchants import services
from merchants.models import ApiKey, ApiScope, PartnerPlatform

KEYWORD = "Api-Key"
SIGNATURE_HEADER = "Xiaodai-Signature"
SIGNATURE_WINDOW_SECONDS = 300


class SignatureFailed(exceptions.AuthenticationFailed):
    """A refused signature: the key is good, the `Xiaodai-Signature` header is at fault, and the
    problem names it (common.api reads `problem_field`)."""

    problem_field = SIGNATURE_HEADER


_HEX = frozenset("0123456789abcdef")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (what a partner computes)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _parse_signature(header: str) -> tuple[int, list[str]]:
    timestamp, digests = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and len(value) == 64 and set(value.lower()) <= _HEX:
            # Only hex reaches compare_digest: it refuses (TypeError) any other character a
            # WSGI server hands over from the header's Latin-1 bytes.
            digests.append(value.lower())
    if timestamp is None or not digests:
        raise SignatureFailed(f"{SIGNATURE_HEADER} must read t=<unix seconds>,v1=<64 hex digits>")
    return timestamp, digests


def verify_signature(*, key: ApiKey, header: str, body: bytes, now: float | None = None) -> None:
    """Refuse a request whose signature is malformed, stale, wrong, or was seen before."""
    timestamp, digests = _parse_signature(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_WINDOW_SECONDS:
        raise SignatureFailed(
            f"the signature's timestamp is more than {SIGNATURE_WINDOW_SECONDS} s from the server's clock"
        )
    expected = sign(key.signing_secret, body, timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, digest) for digest in digests):
        raise SignatureFailed("the request signature does not match the body")
    # Remembered past the window's both sides, so a replay is refused for as long as its
    # timestamp would still be accepted.
    seen = f"api-signature:{key.pk}:{expected}"
    if not cache.add(seen, 1, timeout=2 * SIGNATURE_WINDOW_SECONDS + 60):
        raise SignatureFailed("this signed request was already received (replay)")


LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _key_read(prefix: str) -> ApiKey | None:
    """ApiKey.objects.select_related("partner").filter(prefix=prefix).first(), written in SQL
    (common.sql.fixed_instances): every partner request reads it, and building it through the
    ORM cost more than sending it."""
    key, partner = ApiKey._meta, PartnerPlatform._meta
    link = key.get_field("partner").column
    found = fixed_instances(
        f"SELECT {columns_of(ApiKey, 'k')}, {columns_of(PartnerPlatform, 'p')}"  # noqa: S608 - fixed SQL
        f" FROM {key.db_table} k JOIN {partner.db_table} p ON p.{partner.pk.column} = k.{link}"
        f" WHERE k.prefix = %s ORDER BY k.{key.pk.column} LIMIT 1",
        [prefix],
        (ApiKey, PartnerPlatform),
    )
    if not found:
        return None
    api_key, owner = found[0]
    key.get_field("partner").set_cached_value(api_key, owner)
    return api_key


class PartnerApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme != KEYWORD:
            return None
        raw = raw.strip()
        parts = raw.split("_")
        if len(parts) < 3 or parts[0] != "xd":
            raise exceptions.AuthenticationFailed("malformed API key")
        key = _key_read(parts[1])
        if key is None or not key.matches(raw):
            raise exceptions.AuthenticationFailed("unknown API key")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("this API key has been revoked")
        if key.is_expired:
            raise exceptions.AuthenticationFailed("this API key has expired (it was rotated)")
        if not key.partner.is_active:
            raise exceptions.AuthenticationFailed("this partner platform is suspended")
        signature = request.META.get("HTTP_XIAODAI_SIGNATURE", "")
        if signature:
            verify_signature(key=key, header=signature, body=request._request.body)
        elif key.requires_signature:
            raise SignatureFailed(f"this API key must sign every request ({SIGNATURE_HEADER})")
        if key.digest_algorithm != ApiKey.DigestAlgorithm.HMAC_SHA256:
            services.api_key_rehash(api_key=key, raw_key=raw)
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return (None, key)

    def authenticate_header(self, request):
        return KEYWORD


class IsPartner(permissions.BasePermission):
    message = "an API key is required: Authorization: Api-Key <key>"

    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated(self.message)
        return isinstance(request.auth, ApiKey)


def required_scope(view, method: str) -> str | None:
    """The scope a view declares for a method; HEAD is GET's, OPTIONS needs only `read`."""
    declared = getattr(view, "required_scopes", None) or {}
    method = method.upper()
    if method == "HEAD":
        method = "GET"
    if method == "OPTIONS":
        return ApiScope.READ
    scope = declared.get(method)
    return None if scope is None else str(scope)


class HasScope(permissions.BasePermission):
    """The key must hold the scope the view declares for the method; undeclared means refused."""

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if request.method.lower() not in view.http_method_names or not hasattr(view, request.method.lower()):
            return True  # the view has no such method: DRF answers 405, nothing runs
        scope = required_scope(view, request.method)
        if scope is None:
            raise exceptions.PermissionDenied(f"{request.method} here declares no scope; refused")
        if not key.has_scope(scope):
            raise exceptions.PermissionDenied(f"this API key lacks the '{scope}' scope")
        return True


def partner_of(request):
    return request.auth.partner


class PartnerApiRateThrottle(throttling.BaseThrottle):
    """A request counted against its key's limit and its partner's (all the partner's keys
    together; API_RATE_LIMITS "key" and "partner", an empty one off): per-subject fixed windows
    in the cache (common.security.rate_limits_hit), both counted in one round trip to Redis. Both
    are counted whether or not either refuses, as DRF counts every throttle; refused over either,
    the wait (DRF's Retry-After) the longest rest of a window that refused."""

    _wait: int | None = None

    def allow_request(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return True
        limits = settings.API_RATE_LIMITS
        hits = [
            (f"api-{name}", subject, limits[name])
            for name, subject in (("key", request.auth.prefix), ("partner", str(request.auth.partner_id)))
            if limits.get(name)
        ]
        refused = [wait for allowed, wait in rate_limits_hit(hits) if not allowed]
        self._wait = max(refused, default=None)
        return not refused

    def wait(self):
        return self._wait


def partner_scope(request) -> str:
    """Whose Idempotency-Keys a request's are: each partner's keys are its own."""
    return f"partner:{request.auth.partner_id}"


class PartnerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.api.auth.PartnerApiKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Api-Key xd_<prefix>_<secret>`, issued to a partner platform with scopes (read, "
                "ingest, lend; each operation names the one it needs in `x-required-scope`). "
                f"Keys marked to sign also send `{SIGNATURE_HEADER}: t=<unix>,v1=<hex>`: "
                'HMAC-SHA256 of "<t>." followed by the raw body, under the key\'s signing secret, '
                f"within {SIGNATURE_WINDOW_SECONDS} s of the server's clock, each signature once."
            ),
        }


ACCESS_RESPONSES = {
    "401": "missing, unknown, revoked or expired API key, or a missing, stale, wrong or replayed "
    f"signature ({SIGNATURE_HEADER})",
    "403": "the API key lacks the scope this operation needs (x-required-scope)",
    "429": "too many requests for this key or partner; Retry-After says how many seconds to wait",
}


def scopes_in_schema(result, generator, request, public):
    """drf-spectacular postprocessing hook: each operation names its scope (`x-required-scope`)."""
    for path, _regex, method, view in getattr(generator, "endpoints", None) or []:
        view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
        scope = required_scope(view_class, method) if view_class else None
        # drf-spectacular names a `pk` path parameter `id` in the schema.
        operation = result.get("paths", {}).get(path.replace("{pk}", "{id}"), {}).get(method.lower())
        if scope and operation is not None:
            operation["x-required-scope"] = scope
            responses = operation.setdefault("responses", {})
            for status, description in ACCESS_RESPONSES.items():
                responses.setdefault(status, {"description": description})
    return result
