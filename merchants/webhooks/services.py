"""Webhooks: emit events into the outbox in the transaction of the change, and deliver them.

Emitting (`event_emit`, `events_emit`) writes the event and one delivery per subscribed endpoint
in the caller's transaction: a change that rolls back leaves neither, a change that commits has
both. After the commit a task per delivery is queued (for a bulk emit, one sweep). Delivering
(`delivery_attempt`) claims the delivery with a compare-and-set lease, POSTs the signed body
outside any transaction and records the attempt; a failure schedules the next attempt with
exponential backoff until `WEBHOOKS_MAX_ATTEMPTS`, then the delivery is failed (an officer can
redeliver it from the workbench)."""

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from common.errors import ApplicationError, ConflictError
from common.sql import values_execute, write_or_wait
from merchants.models import Merchant, PartnerPlatform
from merchants.webhooks import signing, transport
from merchants.webhooks.models import (
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_event_id,
    new_secret,
)

EVENT_TYPES = tuple(EventType.values)
BULK_BATCH = 5000


@dataclass(frozen=True)
class Event:
    """One event to emit: for whom, what, and its object as plain JSON."""

    partner_id: int
    type: str
    data: Mapping
    business_on: dt.date | None = None


def _partner_id(partner) -> int:
    return partner if isinstance(partner, int) else partner.pk


def _check_in_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("events are emitted inside the transaction of the change they report")


def event_emit(*, partner, type: str, payload: Mapping, business_on: dt.date | None = None) -> WebhookEvent:
    """Record one event for a partner in the caller's transaction, with a delivery to each of its
    active endpoints subscribed to the type; each delivery is queued once the transaction commits.
    On PostgreSQL the event and its deliveries are one statement (`_event_insert_with_deliveries`);
    elsewhere the event's insert and `_deliveries_create`."""
    _check_in_transaction()
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    event = WebhookEvent(
        partner_id=_partner_id(partner), type=type, data=dict(payload), business_on=business_on
    )
    if connection.vendor == "postgresql":
        # Inside common.sql.writes_may_wait (a keyed API request) it may go with the kept reply.
        sql, params = _event_with_deliveries_statement(event)
        write_or_wait(sql, params, lambda rows: _emitted(event, [row[0] for row in rows]))
    else:
        event.save(force_insert=True)
        _emitted(event, _deliveries_create(event))
    return event


def _emitted(event: WebhookEvent, ids: list[int]) -> None:
    """The event is written with its deliveries `ids`: each queued once the transaction commits."""
    event._state.adding, event._state.db = False, connection.alias
    if ids:
        # Robust: a broker that does not answer is logged, not the caller's error once its change
        # is committed; the deliveries wait as due rows, which webhooks_sweep queues.
        transaction.on_commit(lambda: _enqueue(ids), robust=True)


def _subscribed_sql() -> str:
    """SQL: endpoint `e` is subscribed to the event type `%(type)s`."""
    if connection.vendor == "postgresql":
        return "e.event_types @> jsonb_build_array(%(type)s::text)"
    return "EXISTS (SELECT 1 FROM json_each(e.event_types) WHERE json_each.value = %(type)s)"


# The delivery's columns and values in the statements that write one per subscribed endpoint `e`.
_DELIVERY_COLUMNS = (
    "event_id, endpoint_id, status, attempts, next_attempt_at, enqueued_at, is_manual_next, last_error, "
    "created_at"
)
_DELIVERY_VALUES = "e.id, %(pending)s, 0, %(now)s, %(now)s, %(false)s, '', %(now)s"


def _endpoints_listening() -> str:
    """SQL: the partner's active endpoints `e` subscribed to the type, in order, and RETURNING the
    new deliveries' ids."""
    return (
        "FROM merchants_webhookendpoint e WHERE e.partner_id = %(partner)s AND e.is_active"
        f" AND {_subscribed_sql()} ORDER BY e.id RETURNING id"
    )


def _delivery_params(partner_id: int, type: str) -> dict:
    return {
        "pending": WebhookDelivery.Status.PENDING.value,
        "now": connection.ops.adapt_datetimefield_value(timezone.now()),
        "false": False,
        "partner": partner_id,
        "type": type,
    }


def _deliveries_create(event: WebhookEvent) -> list[int]:
    """One statement: a delivery to each active endpoint of the partner subscribed to the type
    (an INSERT … SELECT over the endpoints, RETURNING the new ids), so the outbox costs a decision
    the same statements whether or not the partner listens (on PostgreSQL this INSERT … SELECT
    goes with the event's insert: `_event_insert_with_deliveries`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO merchants_webhookdelivery ({_DELIVERY_COLUMNS}) "
            f"SELECT %(event)s, {_DELIVERY_VALUES} "
            f"{_endpoints_listening()}",
            {"event": event.pk, **_delivery_params(event.partner_id, event.type)},
        )
        return [row[0] for row in cursor.fetchall()]


def _event_with_deliveries_statement(event: WebhookEvent) -> tuple[str, dict]:
    """PostgreSQL: the new event (as `save()` inserts it: each field's `pre_save` and database
    value) and `_deliveries_create`'s deliveries in one statement, the event's insert a
    data-modifying CTE (run whether or not an endpoint listens), RETURNING the deliveries' ids.
    tests/webhooks/test_emit_writes.py holds the rows equal to the two statements'."""
    meta = WebhookEvent._meta
    fields = meta.concrete_fields
    values = {
        f"ev{n}": field.get_db_prep_save(field.pre_save(event, True), connection)
        for n, field in enumerate(fields)
    }
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(f"%({name})s" for name in values)
    sql = (
        f"WITH event AS (INSERT INTO merchants_webhookevent ({columns}) VALUES ({placeholders})"  # noqa: S608
        f" RETURNING id) INSERT INTO merchants_webhookdelivery ({_DELIVERY_COLUMNS})"
        f" SELECT (SELECT id FROM event), {_DELIVERY_VALUES} {_endpoints_listening()}"
    )
    return sql, {**values, **_delivery_params(event.partner_id, event.type)}


def _event_insert_with_deliveries(event: WebhookEvent) -> list[int]:
    """`_event_with_deliveries_statement` run now; returns the deliveries' ids."""
    sql, params = _event_with_deliveries_statement(event)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    event._state.adding, event._state.db = False, connection.alias
    return ids


def events_emit(*, events: Sequence[Event]) -> int:
    """Record many events at once (close of business: thousands of loans in one chunk): one INSERT
    of events and one of deliveries per batch of `BULK_BATCH`, and one sweep queued after the
    commit rather than a message per delivery. Returns the events written."""
    _check_in_transaction()
    if not events:
        return 0
    subscribed: dict[tuple[int, str], list[int]] = {}
    for key in {(e.partner_id, e.type) for e in events}:
        if key[1] not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {key[1]!r}")
        subscribed[key] = _subscribed(*key)
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    rows = [
        (
            new_event_id(),
            e.partner_id,
            e.type,
            json.dumps(dict(e.data), ensure_ascii=False, separators=(",", ":")),
            connection.ops.adapt_datefield_value(e.business_on),
            at,
        )
        for e in events
    ]
    # Multi-row VALUES (common.sql), one statement per BULK_BATCH rows on PostgreSQL and SQLite
    # alike: bulk_create would cut SQLite's statements at 999 parameters.
    values_execute(
        "INSERT INTO merchants_webhookevent (id, partner_id, type, data, business_on, created_at) VALUES %s",
        rows,
        page_size=BULK_BATCH,
    )
    _deliveries_insert(
        [
            (event_id, endpoint_id)
            for event_id, partner_id, kind, *_ in rows
            for endpoint_id in subscribed[(partner_id, kind)]
        ],
        at,
    )
    return len(rows)


def _deliveries_insert(pairs: list[tuple[str, int]], at) -> None:
    """A pending delivery per (event id, endpoint id), in that order, in one statement per
    BULK_BATCH; one sweep queued after the commit."""
    if not pairs:
        return
    values_execute(
        "INSERT INTO merchants_webhookdelivery (event_id, endpoint_id, status, attempts, "
        "next_attempt_at, is_manual_next, last_error, created_at) VALUES %s",
        [
            (event_id, endpoint_id, WebhookDelivery.Status.PENDING.value, 0, at, False, "", at)
            for event_id, endpoint_id in pairs
        ],
        page_size=BULK_BATCH,
    )
    transaction.on_commit(_sweep_soon, robust=True)  # the beat's sweep runs anyway


def sql_json_object(pairs: Sequence[tuple[str, str]]) -> str:
    """SQL for a JSON object of (key, SQL expression) pairs, for `events_insert_select`: the keys
    are fixed names, the values text expressions (or NULL)."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    return f"{function}(" + ", ".join(f"'{key}', {value}" for key, value in pairs) + ")"


def sql_yuan(fen: str) -> str:
    """SQL for `str(fen_to_yuan(fen))` of an integer fen expression: '1234' -> '12.34', '-5' ->
    '-0.05' (the same text on PostgreSQL and SQLite; no `%`, so it goes into statements with
    parameters as it is)."""
    # As an integer first: PostgreSQL's sums and window arithmetic may hand over numerics.
    whole = f"ABS(CAST(({fen}) AS BIGINT))"
    return (
        f"(CASE WHEN ({fen}) < 0 THEN '-' ELSE '' END || CAST({whole} / 100 AS TEXT) || '.' "
        f"|| SUBSTR(CAST(100 + {whole} - {whole} / 100 * 100 AS TEXT), 2))"
    )


def _new_event_id_sql() -> str:
    """`new_event_id` in SQL: 'evt_' and 32 hex digits of strong randomness per row."""
    if connection.vendor == "postgresql":
        return "('evt_' || REPLACE(CAST(gen_random_uuid() AS TEXT), '-', ''))"
    return "('evt_' || LOWER(HEX(RANDOMBLOB(16))))"


def events_insert_select(*, type: str, select: str, params: Mapping, business_on: dt.date | None) -> int:
    """`events_emit` for events whose rows a query yields (close of business: thousands per chunk,
    with no Python per event): `select` gives `seq, partner_id, data` (`data` built by
    `sql_json_object`), one event per row, written in `seq` order by one INSERT … SELECT. When an
    active endpoint is subscribed to the type, the new events' ids come back and the deliveries are
    written as `events_emit` writes them (event order, then endpoint), with one sweep queued after
    the commit. `params` must not use the names wh_type, wh_on, wh_at. Returns the events written."""
    _check_in_transaction()
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    listening: dict[int, list[int]] = {}
    endpoints = WebhookEndpoint.objects.filter(is_active=True).order_by("pk")
    for partner_id, pk, types in endpoints.values_list("partner_id", "pk", "event_types"):
        if type in (types or []):
            listening.setdefault(partner_id, []).append(pk)
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        "INSERT INTO merchants_webhookevent (id, partner_id, type, data, business_on, created_at) "  # noqa: S608
        f"SELECT {_new_event_id_sql()}, s.partner_id, %(wh_type)s, s.data, %(wh_on)s, %(wh_at)s "
        f"FROM ({select}) s ORDER BY s.seq"
    )
    params = {
        **params,
        "wh_type": type,
        "wh_on": connection.ops.adapt_datefield_value(business_on),
        "wh_at": at,
    }
    with connection.cursor() as cursor:
        if not listening:
            cursor.execute(sql, params)
            return cursor.rowcount
        # Rows come back in the order they were inserted (as bulk_create relies on).
        cursor.execute(sql + " RETURNING id, partner_id", params)
        written = cursor.fetchall()
    _deliveries_insert(
        [
            (event_id, endpoint_id)
            for event_id, partner_id in written
            for endpoint_id in listening.get(partner_id, [])
        ],
        at,
    )
    return len(written)


def merchant_events_emit(*, type: str, items: Sequence[tuple[int, dt.date | None, Mapping]]) -> int:
    """`events_emit` for events about merchants known by id: each (merchant id, business date,
    data) goes to the merchant's partner, with the partner's id for the shop as `merchant`."""
    if not items:
        return 0
    shops = {
        pk: (partner_id, external_id)
        for pk, partner_id, external_id in Merchant.objects.filter(
            pk__in={m for m, _, _ in items}
        ).values_list("pk", "partner_id", "external_id")
    }
    return events_emit(
        events=[
            Event(
                partner_id=shops[merchant_id][0],
                type=type,
                business_on=on,
                data={"merchant": shops[merchant_id][1], **data},
            )
            for merchant_id, on, data in items
        ]
    )


def _subscribed(partner_id: int, type: str) -> list[int]:
    # JSON containment differs by database; endpoints per partner are few, so filter here.
    rows = WebhookEndpoint.objects.filter(partner_id=partner_id, is_active=True).values_list(
        "pk", "event_types"
    )
    return [pk for pk, types in rows if type in (types or [])]


def _enqueue(delivery_ids: Iterable[int]) -> None:
    from merchants.webhooks.tasks import webhook_deliver

    for pk in delivery_ids:
        webhook_deliver.delay(pk)


def _sweep_soon() -> None:
    from merchants.webhooks.tasks import webhooks_sweep

    webhooks_sweep.delay()


# --- delivering ----------------------------------------------------------------------------


def body_of(event: WebhookEvent) -> bytes:
    """The exact bytes sent (and signed), the same on every attempt."""
    envelope = {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "business_date": event.business_on.isoformat() if event.business_on else None,
        "data": event.data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def backoff_seconds(attempts: int) -> float:
    """The wait after the n-th failed attempt: base × 2^(n−1), at most the cap."""
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.WEBHOOKS_RETRY_MAX_SECONDS)


def _claim(delivery_id: int, now: dt.datetime) -> str:
    """Compare-and-set: pending, due and nobody else sending it ("claimed"); "busy" when its
    endpoint already has WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT deliveries in flight (so one slow
    receiver cannot take every worker); "" otherwise (done, not due, or someone else's)."""
    lease = now + dt.timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + 30)
    claimable = WebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
    )
    endpoint_id = claimable.values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return ""
    in_flight = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, claimed_until__gt=now).count()
    if in_flight >= settings.WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT:
        return "busy"
    return "claimed" if claimable.update(claimed_until=lease) else ""


@dataclass(frozen=True)
class AttemptResult:
    """What one call of `delivery_attempt` did: sent or not, and when to try again if at all."""

    sent: bool
    status: str = ""
    retry_in_seconds: float | None = None


def delivery_attempt(*, delivery_id: int) -> AttemptResult:
    """Send one delivery once if it is due and nobody else is sending it; record the attempt.
    2xx is success; anything else (another status, a timeout, a refused connection) schedules the
    next attempt, or fails the delivery after the last."""
    claim = _claim(delivery_id, timezone.now())
    if claim == "busy":
        return AttemptResult(sent=False, status="busy", retry_in_seconds=settings.WEBHOOKS_BUSY_RETRY_SECONDS)
    if not claim:
        # Done, not due (its own message is queued for later) or being sent: nothing to do.
        return AttemptResult(sent=False)
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    number = delivery.attempts + 1
    body = body_of(delivery.event)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Xiaodai-Webhooks/1",
        "Xiaodai-Event-Id": delivery.event_id,
        "Xiaodai-Event-Type": delivery.event.type,
        "Xiaodai-Delivery": str(delivery.pk),
        "Xiaodai-Delivery-Attempt": str(number),
        signing.HEADER: signing.sign(delivery.endpoint.secrets_signing(), body),
    }
    started = timezone.now()
    reply = (
        transport.post(delivery.endpoint.url, body, headers)
        if delivery.endpoint.is_active
        else transport.Response(None, 0, error="the endpoint is disabled")
    )
    done = timezone.now()
    if reply.is_success:
        status, next_at = WebhookDelivery.Status.SUCCEEDED, None
    elif (
        number >= settings.WEBHOOKS_MAX_ATTEMPTS or delivery.is_manual_next or not delivery.endpoint.is_active
    ):
        # Out of attempts, or switched off; a redelivery by hand is one attempt and does not
        # restart the retries.
        status, next_at = WebhookDelivery.Status.FAILED, None
    else:
        status, next_at = WebhookDelivery.Status.PENDING, done + dt.timedelta(seconds=backoff_seconds(number))
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            is_manual=delivery.is_manual_next,
            started_at=started,
            latency_ms=reply.latency_ms,
            status_code=reply.status_code,
            error=reply.error[:300],
            response_excerpt=reply.excerpt[:500],
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=status,
            attempts=number,
            next_attempt_at=next_at,
            enqueued_at=next_at,
            claimed_until=None,
            is_manual_next=False,
            last_status_code=reply.status_code,
            last_error=reply.error[:300],
            succeeded_at=done if reply.is_success else None,
        )
    retry = (next_at - done).total_seconds() if next_at else None
    return AttemptResult(sent=True, status=status, retry_in_seconds=retry)


def deliveries_due(*, limit: int = 1000) -> list[int]:
    """Pending deliveries whose time has come and that have no message in the queue (never queued,
    or queued so long ago that the message was lost); marks them queued."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.WEBHOOKS_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def delivery_redeliver(*, delivery: WebhookDelivery, actor: str) -> WebhookDelivery:
    """Send a delivery again now, whatever its state (an officer's or a partner's request): one
    more attempt, logged as manual, with the same event id so the receiver can de-duplicate."""
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=now,
            enqueued_at=now,
            is_manual_next=True,
            claimed_until=None,
        )
        transaction.on_commit(lambda: _enqueue([delivery.pk]), robust=True)
    delivery.refresh_from_db()
    return delivery


# --- endpoints -----------------------------------------------------------------------------


def endpoint_clean(url, event_types) -> tuple[str, list[str]]:
    problem = transport.url_problem(url) if isinstance(url, str) and url else "a URL is required"
    if problem:
        raise ApplicationError(f"url: {problem}", {"fields": {"url": [problem]}})
    if not isinstance(event_types, list | tuple) or not event_types:
        raise ApplicationError(
            "event_types: at least one event type", {"fields": {"event_types": ["at least one event type"]}}
        )
    unknown = sorted({str(t) for t in event_types} - set(EVENT_TYPES))
    if unknown:
        message = f"unknown event types: {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        raise ApplicationError(f"event_types: {message}", {"fields": {"event_types": [message]}})
    return url, sorted(set(event_types))


class TooManyEndpointsError(ConflictError):
    code = "too_many_endpoints"


def endpoint_resent_check(partner, url: str, event_types: list[str], description: str) -> None:
    """A create sent again (a retry whose reply was lost) is refused naming the endpoint it made,
    not registered twice (every webhook would then arrive twice): an endpoint of the partner with
    the same URL, event types and description is that create's. The caller holds the partner's
    row lock, so the same create sent several times at once registers one endpoint."""
    same = WebhookEndpoint.objects.filter(
        partner_id=_partner_id(partner), url=url, description=description, event_types=event_types
    )
    existing = same.values_list("pk", flat=True).first()
    if existing is not None:
        problem = (
            f"endpoint {existing} was registered with this URL, event types and description; its "
            "secret is shown once: rotate it if the reply was lost"
        )
        raise ConflictError(f"url: {problem}", {"fields": {"url": [problem]}, "endpoint": existing})


def endpoint_limit_problem(partner) -> str | None:
    """Why the partner may not register one more endpoint (it has as many as it may), or None."""
    limit = settings.WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER
    if WebhookEndpoint.objects.filter(partner_id=_partner_id(partner)).count() < limit:
        return None
    return (
        f"at most {limit} webhook endpoints per partner (WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER); "
        "remove one, or add event types to one you have"
    )


def endpoint_create(*, partner, url: str, event_types: list[str], description: str = "") -> tuple:
    """Register a partner's endpoint for some event types; returns (endpoint, secret). The secret
    is shown this once. A partner has at most WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER endpoints: the
    partner's row is locked while they are counted, so creates racing each other are counted one
    after the other and never pass the limit together."""
    url, types = endpoint_clean(url, event_types)
    partner_id = _partner_id(partner)
    with transaction.atomic():
        list(PartnerPlatform.objects.select_for_update().filter(pk=partner_id).values_list("pk"))
        endpoint_resent_check(partner_id, url, types, description[:200])
        problem = endpoint_limit_problem(partner_id)
        if problem:
            limit = settings.WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER
            raise TooManyEndpointsError(problem, {"fields": {"body": [problem]}, "limit": limit})
        secret = new_secret()
        endpoint = WebhookEndpoint.objects.create(
            partner_id=partner_id,
            url=url,
            event_types=types,
            description=description[:200],
            secret=secret,
        )
    return endpoint, secret


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change where an endpoint is, what it hears about, or switch it off; pending deliveries to a
    switched-off endpoint fail on their next attempt."""
    with transaction.atomic():
        # The partner's row lock, as a create takes it: a change and a create, or two changes,
        # that would make two endpoints the same are checked one after the other.
        list(PartnerPlatform.objects.select_for_update().filter(pk=endpoint.partner_id).values_list("pk"))
        current = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        if current is None:
            raise WebhookEndpoint.DoesNotExist("the endpoint was removed")
        url, types = endpoint_clean(
            current.url if url is None else url, current.event_types if event_types is None else event_types
        )
        current.url, current.event_types = url, types
        if description is not None:
            current.description = description[:200]
        if is_active is not None:
            current.is_active = bool(is_active)
        endpoint_same_check(current)
        current.save(update_fields=["url", "event_types", "description", "is_active", "updated_at"])
    return current


def endpoint_same_check(endpoint: WebhookEndpoint) -> None:
    """A change may not make an endpoint the same as another of the partner's (URL, event types
    and description: what a create refuses as sent again): every webhook would arrive twice. The
    caller holds the partner's row lock."""
    same = (
        WebhookEndpoint.objects.filter(
            partner_id=endpoint.partner_id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=endpoint.event_types,
        )
        .exclude(pk=endpoint.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if same is not None:
        problem = f"endpoint {same} already has this URL, event types and description"
        raise ConflictError(f"url: {problem}", {"fields": {"url": [problem]}, "endpoint": same})


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, shown once; the old one keeps signing beside it for
    `WEBHOOKS_SECRET_OVERLAP_SECONDS` so the receiver can switch without missing a webhook."""
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        secret = new_secret()
        current.previous_secret = current.secret
        current.previous_secret_expires_at = timezone.now() + dt.timedelta(
            seconds=settings.WEBHOOKS_SECRET_OVERLAP_SECONDS
        )
        current.secret = secret
        current.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return current, secret


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and what is still queued for it; the events stay in the outbox."""
    endpoint.delete()
