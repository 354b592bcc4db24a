"""Webhook signatures: a timestamped HMAC-SHA256 over the raw body.

    Xiaodai-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

While an endpoint's secret is being rotated the header carries one `v1=` per valid secret. A
receiver recomputes the HMAC over the bytes it received (before any JSON parsing), compares in
constant time, and refuses a timestamp outside its tolerance, so a captured request cannot be
replayed later; within the tolerance a `seen` store refuses the same signature twice. This module
uses only the standard library: partners may copy `verify` as it is (docs/api.md, "Webhooks").
"""

import hashlib
import hmac
import time

HEADER = "Xiaodai-Signature"
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The request is not a genuine, fresh webhook from Xiaodai."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body`, signed with each secret (the current one first)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return ",".join([f"t={t}", *(f"v1={signature(s, t, body)}" for s in secrets)])


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
    seen=None,
) -> int:
    """Check a webhook's `Xiaodai-Signature` header against the raw body; returns its timestamp.

    Raises SignatureError when the header is malformed, no `v1` matches, the timestamp is more
    than `tolerance` seconds from now, or (with `seen`, any set-like store shared by the
    receiver's processes) the same signature was already accepted."""
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance: a replayed or delayed request")
    if seen is not None:
        if expected in seen:
            raise SignatureError("signature already used: a replayed request")
        seen.add(expected)
    return timestamp
