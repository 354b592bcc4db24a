"""Request-level defences shared by every page: the Permissions-Policy header, per-user rate limits
on the pages' writes, and the fixed-window counter behind every rate limit (the partner API's
throttles in merchants.api.auth count with it too).

The Content-Security-Policy header comes from django-csp (settings.CONTENT_SECURITY_POLICY); the
templates' few inline scripts and style blocks carry its per-response nonce.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.shortcuts import render

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def rate_limit_hit(*, bucket: str, subject: str, rate: str, now: float | None = None) -> tuple[bool, int]:
    """Count one request of `subject` against `rate`; (allowed, seconds until the window ends)."""
    return rate_limits_hit([(bucket, subject, rate)], now=now)[0]


def rate_limits_hit(
    hits: Sequence[tuple[str, str, str]], *, now: float | None = None
) -> list[tuple[bool, int]]:
    """Count one request against each `(bucket, subject, rate)`: per hit (allowed, seconds until
    its window ends).

    Fixed windows, one counter per window in the cache, created at 0 if missing (expiring a
    second after its window) and incremented, atomically: every gunicorn worker and every thread
    counts together and none lets a request through twice. On Redis every hit's counter in one
    round trip (a MULTI of SET NX EX and INCR per counter, so no counter expires between the two);
    on another cache the cache's add and incr.
    """
    now = time.time() if now is None else now
    windows = []
    for bucket, subject, rate in hits:
        limit, period = parse_rate(rate)
        window = int(now // period)
        wait = max(1, math.ceil((window + 1) * period - now))
        windows.append((f"rate:{bucket}:{subject}:{window}", limit, period, wait))
    if not windows:
        return []
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(key) for key, *_ in windows]
        pipe = backend._cache.get_client(keys[0], write=True).pipeline(transaction=True)
        for key, (_, _, period, _) in zip(keys, windows, strict=True):
            pipe.set(key, 0, ex=period + 1, nx=True)
            pipe.incr(key)
        counts = pipe.execute()[1::2]
    else:
        counts = [_count(key, period) for key, _, period, _ in windows]
    return [(count <= limit, wait) for count, (_, limit, _, wait) in zip(counts, windows, strict=True)]


def _count(key: str, period: int) -> int:
    cache.add(key, 0, timeout=period + 1)
    try:
        return cache.incr(key)
    except ValueError:  # the window's counter expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        return 1


class PermissionsPolicyMiddleware:
    """No page of ours uses the camera, microphone, location, payment or USB APIs: deny them to
    the page and to anything it embeds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class UserRateLimitMiddleware:
    """A signed-in person's writes on the portal and the workbench (POST, PUT, PATCH, DELETE
    outside /api/, which has its own per-key limits): at most USER_RATE_LIMIT per window, then a
    429 page with Retry-After."""

    UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rate = settings.USER_RATE_LIMIT
        user = getattr(request, "user", None)
        if (
            rate
            and request.method in self.UNSAFE
            and user is not None
            and user.is_authenticated
            and not request.path.startswith("/api/")
        ):
            allowed, wait = rate_limit_hit(bucket="user", subject=str(user.pk), rate=rate)
            if not allowed:
                response = render(request, "access/too_many_requests.html", {"wait": wait}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check. A caller without a request (the test client's login(), a shell)
    has no form and no address to lock out: it is passed on to the password backend unchecked;
    both login forms (portal and workbench) always pass the request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page in the portal's look, 429 with Retry-After (django-axes' callable)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(request, "access/locked_out.html", {"cooloff_minutes": minutes}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
