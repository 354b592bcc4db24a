"""The partner API's `Idempotency-Key` header: one parser, one OpenAPI description and one
guard for every view that takes it, so every endpoint accepts, refuses and replays keys alike.

A key is 1 to 80 visible ASCII characters. 80 leaves room for the namespaces the services put in
front of it (a partner's code, the kind of request) in the 128-character key columns, and fits
the 100-character column that keeps a settlement's key as sent.

`@idempotent("loans.draw", scope=...)` on a view method makes a key mean one write:
- the key is claimed by inserting an IdempotencyRecord (unique per scope, endpoint and key) in
  the same transaction as the write, and the reply is stored in that transaction. A record
  exists only for a write that committed; a write that failed leaves no trace and may be retried;
- a request arriving while the first is still running waits on the claim's row lock (at most
  IDEMPOTENCY_WAIT_SECONDS) and then gets the first reply; past the wait it gets a 409
  `in_progress` with Retry-After, never a 500 and never a second write;
- the same key with another request (path or body) is a 409 naming the fields that differ;
- a replay answers with the stored body, `replayed: true` where the body has that field, 200
  in place of 201, and the header `Idempotent-Replayed: true`;
- `sealed` names top-level fields of the reply that are secrets (a webhook's new signing
  secret): they are stored encrypted (common.crypto) and decrypted for the replay."""

import contextlib
import functools
import hashlib
import json
import re
from collections.abc import Callable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from common import crypto
from common.api_parsers import NonStandardNumber
from common.errors import ApplicationError, ConflictError
from common.sql import execute_with_waiting, writes_may_wait

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 80
_VALID = re.compile(rf"[\x21-\x7e]{{1,{MAX_LENGTH}}}")
_LOCK_NOT_AVAILABLE = "55P03"
_RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock: the whole write is retried


class InProgressError(ConflictError):
    code = "in_progress"


def idempotency_key_parameter(description: str) -> OpenApiParameter:
    """The header in the API schema, required, with what resending it does for this operation."""
    return OpenApiParameter(
        HEADER,
        {"type": "string", "pattern": rf"^[\x21-\x7e]{{1,{MAX_LENGTH}}}$", "maxLength": MAX_LENGTH},
        OpenApiParameter.HEADER,
        required=True,
        description=(
            f"1 to {MAX_LENGTH} visible ASCII characters; {description}. The same key with another "
            "request is 409; while the first request with a key is still running, 409 `in_progress` "
            "(retry after the Retry-After seconds). A replay carries `Idempotent-Replayed: true`."
        ),
    )


def idempotency_key_from(request) -> str:
    """The request's key, or a 400 that names the header."""
    key = request.headers.get(HEADER, "").strip()
    if not _VALID.fullmatch(key):
        problem = "required" if not key else f"1 to {MAX_LENGTH} visible ASCII characters"
        raise ApplicationError(
            f"an {HEADER} header (1 to {MAX_LENGTH} visible ASCII characters) is required",
            {"fields": {HEADER: [problem]}},
        )
    return key


class _RequestEncoder(DjangoJSONEncoder):
    """A parsed body as sent: a number JSON does not have (NaN, thousands of digits; kept by the
    API's parser for the field to refuse) digests as its text."""

    def default(self, o):
        if isinstance(o, NonStandardNumber):
            return f"<number {o.text}>"
        return super().default(o)


# What `json.dumps(value, sort_keys=True, separators=(",", ":"), cls=_RequestEncoder)` makes,
# with one encoder (it keeps no state between calls) instead of one per digest.
_CANONICAL = _RequestEncoder(sort_keys=True, separators=(",", ":"))


def _digest(value) -> str:
    canonical = _CANONICAL.encode(value)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_fingerprint(request, path_args: dict) -> tuple[str, dict[str, str]]:
    """The request as the key promises it: its path arguments and its parsed body (key order and
    white space do not matter), whole and per field (to name what differs)."""
    body = request.data
    if hasattr(body, "dict") and callable(body.dict):
        body = body.dict()
    fields = {"(path)": _digest(path_args)[:16]}
    if isinstance(body, dict):
        fields.update(_field_digests(body, ""))
    else:
        fields["(body)"] = _digest(body)[:16]
    # Field names are the caller's text: stored, they must be what a database keeps (no NUL, no
    # lone surrogate); the fingerprint itself is a digest of the body as sent.
    fields = {_storable(name): digest for name, digest in fields.items()}
    return _digest({"path": path_args, "body": body}), fields


def _storable(name: str) -> str:
    return name.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _field_digests(body: dict, prefix: str) -> dict[str, str]:
    """A digest per field, nested objects by dotted name (declared.sales): enough to name what
    differs without keeping the request itself."""
    digests = {}
    for name, value in body.items():
        if isinstance(value, dict) and value:
            digests.update(_field_digests(value, f"{prefix}{name}."))
        else:
            digests[f"{prefix}{name}"] = _digest(value)[:16]
    return digests


def _differing(stored: dict, sent: dict) -> list[str]:
    names = sorted(set(stored) | set(sent))
    return [name for name in names if stored.get(name) != sent.get(name)] or ["(body)"]


class _NotKept(Exception):
    """The view answered with an error reply: roll back its work and the claim, keep nothing."""

    def __init__(self, response):
        self.response = response


def _claim(scope: str, endpoint: str, key: str, fingerprint: str, fields: dict) -> int | None:
    """Insert the claim; None when the key is already taken (by a write that committed: a claim
    still in flight makes this statement wait on PostgreSQL, up to the configured time). On
    PostgreSQL one round trip: the wait's bound set for the transaction, the insert, and the
    bound lifted again once the insert is done (the write that follows waits as it would)."""
    wait_ms = int(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 10) * 1000)
    insert = (
        "INSERT INTO common_idempotencyrecord (scope, endpoint, idempotency_key, fingerprint, "
        "field_digests, response_status, response_body, created_at) "
        "VALUES (%s, %s, %s, %s, %s, 0, NULL, %s) "
        "ON CONFLICT (scope, endpoint, idempotency_key) DO NOTHING RETURNING id"
    )
    values = [
        scope,
        endpoint,
        key,
        fingerprint,
        json.dumps(fields),
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The join makes the insert run (and wait) before the row that lifts the bound is
            # made; the first statement's result is dropped, the cursor keeps the last one's.
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true); "  # noqa: S608 - fixed SQL
                f"WITH claimed AS ({insert}) SELECT claimed.id, set_config('lock_timeout', '0', true) "
                "FROM (SELECT 1) AS one LEFT JOIN claimed ON true",
                [f"{wait_ms}ms", *values],
            )
        else:
            cursor.execute(insert, values)
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else None


def _sealed_body(data, sealed: tuple[str, ...]):
    """The reply as stored: each `sealed` field's text encrypted."""
    if not sealed or not isinstance(data, dict):
        return data
    return {
        name: crypto.encrypt(value) if name in sealed and isinstance(value, str) and value else value
        for name, value in data.items()
    }


def _unsealed_body(body, sealed: tuple[str, ...]):
    if not sealed or not isinstance(body, dict):
        return body
    return {
        name: crypto.decrypt(value) if name in sealed and isinstance(value, str) and value else value
        for name, value in body.items()
    }


def _reply_keep(claimed: int, response, sealed: tuple[str, ...] = ()) -> None:
    """The reply stored on the claim: what `IdempotencyRecord.objects.filter(pk=claimed).update(
    response_status=…, response_body=<the reply as plain JSON values>))` writes, the body's JSON text made
    once and the statement written in SQL (every keyed write makes it)."""
    # With the write waiting, if any (`common.sql.writes_may_wait`): one round trip for both.
    execute_with_waiting(
        "UPDATE common_idempotencyrecord SET response_status = %s, response_body = %s WHERE id = %s",
        [
            response.status_code,
            json.dumps(_sealed_body(response.data, sealed), cls=DjangoJSONEncoder),
            claimed,
        ],
    )


def idempotent(
    endpoint: str,
    *,
    scope: Callable[[object], str],
    sealed: tuple[str, ...] = (),
    reply_with_last_write=False,
):
    """Make a view method's writes happen once per key (see the module's docstring). `scope`
    names whose keys these are from the authenticated request (a partner's keys are its own);
    `sealed`, the reply's fields stored encrypted. With `reply_with_last_write`, the method's
    last write made by `common.sql.write_or_wait` (a webhook event) may go to PostgreSQL in
    the round trip of the kept reply (`common.sql.writes_may_wait`)."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = idempotency_key_from(request)
            owner = scope(request)
            fingerprint, fields = request_fingerprint(request, kwargs)
            for attempt in range(3):
                try:
                    return _once(
                        view,
                        request,
                        args,
                        kwargs,
                        method,
                        owner,
                        endpoint,
                        key,
                        fingerprint,
                        fields,
                        sealed,
                        reply_with_last_write,
                    )
                except _NotKept as refused:
                    return refused.response
                except OperationalError as exc:
                    code = getattr(exc.__cause__, "pgcode", None)
                    if code == _LOCK_NOT_AVAILABLE:
                        return _in_progress(view, key)
                    if code not in _RETRYABLE or attempt == 2 or connection.in_atomic_block:
                        raise
            raise AssertionError("unreachable")

        return wrapper

    return decorate


def _once(
    view, request, args, kwargs, method, owner, endpoint, key, fingerprint, fields, sealed=(), wait=False
):
    from common.models import IdempotencyRecord

    with transaction.atomic():
        claimed = _claim(owner, endpoint, key, fingerprint, fields)
        if claimed is None:
            record = IdempotencyRecord.objects.get(scope=owner, endpoint=endpoint, idempotency_key=key)
            if record.fingerprint != fingerprint:
                differing = _differing(record.field_digests, fields)
                raise ConflictError(
                    f"{HEADER} {key!r} was already used for a different request "
                    f"({', '.join(differing)} differs); use a new key for a new request",
                    {"fields": {HEADER: [f"already used with a different {', '.join(differing)}"]}},
                )
            return _replayed(record, sealed)
        with writes_may_wait() if wait else contextlib.nullcontext():
            response = method(view, request, *args, **kwargs)
            if not 200 <= response.status_code < 300:
                raise _NotKept(response)
            _reply_keep(claimed, response, sealed)
        return response


def _replayed(record, sealed: tuple[str, ...] = ()) -> Response:
    body = _unsealed_body(record.response_body, sealed)
    if isinstance(body, dict) and "replayed" in body:
        body = {**body, "replayed": True}
    status = 200 if record.response_status == 201 else record.response_status
    return Response(body, status=status, headers={REPLAYED_HEADER: "true"})


def _in_progress(view, key: str) -> Response:
    wait = max(1, int(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 10)))
    exc = InProgressError(
        f"a request with {HEADER} {key!r} is still in progress; retry in a moment for its result",
        {"fields": {HEADER: ["in progress"]}},
    )
    response = view.handle_exception(exc)
    response["Retry-After"] = str(wait)
    return response
