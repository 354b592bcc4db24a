"""Every write to the merchants app. Keyword-only, one transaction each."""

import csv
import datetime as dt
import hashlib
import io
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from common.crypto import blind_index
from common.errors import ApplicationError, ConflictError, NotFoundError, field_path
from common.texts import stored_texts
from merchants.models import (
    ALL_SCOPES,
    ORDER_STATUS_TIMESTAMP,
    ORDER_TRANSITIONS,
    ApiKey,
    DeclaredFinancials,
    Merchant,
    MerchantStatusChange,
    Order,
    OrderStatus,
    OrderStatusChange,
    Owner,
    PartnerPlatform,
    QuestionnaireResponse,
    Settlement,
)
from merchants.webhooks.models import EventType
from merchants.webhooks.services import event_emit

ORDER_BATCH_SIZE = 2000


def content_hash(payload: dict) -> str:
    """A stable digest of a canonical payload; two sends of the same content hash the same."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- partners and keys ---------------------------------------------------------------------


def partner_create(*, code: str, name: str, kind: str) -> PartnerPlatform:
    """Register a partner platform that may send merchants and orders."""
    return PartnerPlatform.objects.create(code=code, name=name, kind=kind)


def _api_scopes(scopes: Sequence[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown or not scopes:
        raise ApplicationError(
            f"scopes must be one or more of {', '.join(ALL_SCOPES)}",
            {"fields": {"scopes": [f"unknown scope {name!r}" for name in unknown] or ["none given"]}},
        )
    return [scope for scope in ALL_SCOPES if scope in scopes]


@transaction.atomic
def api_key_issue(
    *,
    partner: PartnerPlatform,
    name: str,
    scopes: Sequence[str] = tuple(ALL_SCOPES),
    requires_signature: bool = False,
) -> tuple[ApiKey, str]:
    """Issue a key; the raw key (and key.signing_secret) are handed out once, only a keyed digest
    of the key is stored."""
    prefix, raw = ApiKey.generate()
    key = ApiKey.objects.create(
        partner=partner,
        name=name,
        prefix=prefix,
        digest=ApiKey.digest_of(raw),
        scopes=_api_scopes(scopes),
        requires_signature=requires_signature,
        signing_secret=secrets.token_urlsafe(32),
    )
    return key, raw


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, overlap: dt.timedelta) -> tuple[ApiKey, str]:
    """A new key with the same partner, scopes and signing rule; the old one keeps working for
    `overlap` (so the partner can deploy the new one), then expires. A key is rotated once."""
    if overlap < dt.timedelta(0) or overlap > dt.timedelta(days=30):
        raise ApplicationError(
            "the overlap must be between 0 and 30 days", {"fields": {"overlap": ["0 to 30 days"]}}
        )
    old = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not old.is_active:
        raise ConflictError("a revoked or expired key cannot be rotated")
    if old.replaced_by_id is not None:
        raise ConflictError("this key was already rotated; rotate its replacement")
    new, raw = api_key_issue(
        partner=old.partner,
        name=old.name,
        scopes=old.scopes,
        requires_signature=old.requires_signature,
    )
    ends = timezone.now() + overlap
    ApiKey.objects.filter(pk=old.pk).update(
        replaced_by=new, expires_at=min(ends, old.expires_at) if old.expires_at else ends
    )
    api_key.refresh_from_db()
    return new, raw


def api_key_revoke(*, api_key: ApiKey, actor: str = "") -> ApiKey:
    """A revoked key stops working at once and cannot be restored."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor[:150]
    )
    api_key.refresh_from_db()
    return api_key


def api_key_rehash(*, api_key: ApiKey, raw_key: str) -> None:
    """A key stored under the legacy plain digest moves to the keyed one the first time it is
    presented (the raw key is needed for that, so it cannot happen in a migration)."""
    ApiKey.objects.filter(pk=api_key.pk, digest=api_key.digest).update(
        digest=ApiKey.digest_of(raw_key), digest_algorithm=ApiKey.DigestAlgorithm.HMAC_SHA256
    )


# --- merchants -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerData:
    name: str
    national_id: str
    phone: str
    address: str
    bank_card: str = ""


@dataclass(frozen=True)
class MerchantData:
    external_id: str
    shop_name: str
    category: str
    region: str
    opened_on: dt.date
    owner: OwnerData


def _merchant_hash(data: MerchantData) -> str:
    owner = data.owner
    return content_hash(
        {
            "external_id": data.external_id,
            "shop_name": data.shop_name,
            "category": data.category,
            "region": data.region,
            "opened_on": data.opened_on.isoformat(),
            "owner": {
                "name": owner.name,
                "national_id": blind_index(owner.national_id),
                "phone": owner.phone,
                "address": owner.address,
                "bank_card": blind_index(owner.bank_card) if owner.bank_card else "",
            },
        }
    )


def owner_get_or_create(*, partner: PartnerPlatform, data: OwnerData) -> Owner:
    """One owner row per partner and national ID: the same person behind two of a partner's shops
    is one owner, as that partner last described them. Another partner's owner with the same ID
    is never read, returned or changed: a shared identity is risk control's signal (the
    relationship network links shops by the blind indexes), not a merge."""
    index = blind_index(data.national_id)
    owner = Owner.objects.filter(partner=partner, national_id_index=index).first()
    if owner is None:
        try:
            with transaction.atomic():
                return Owner.objects.create(
                    partner=partner,
                    national_id=data.national_id,
                    national_id_index=index,
                    **_owner_details(data),
                )
        except IntegrityError:
            # The partner's request for another shop of this owner created it meanwhile.
            owner = Owner.objects.get(partner=partner, national_id_index=index)
    details = _owner_details(data)
    if not data.bank_card:
        # No card sent (it is optional): the one the partner sent before stays.
        details.pop("bank_card"), details.pop("bank_card_index")
    changed = [name for name, value in details.items() if getattr(owner, name) != value]
    if changed:
        # The partner's newest word on its own customer: nothing it sends is silently dropped.
        for name in changed:
            setattr(owner, name, details[name])
        owner.save(update_fields=[*changed, "updated_at"])
    return owner


def _owner_details(data: OwnerData) -> dict:
    return {
        "name": data.name,
        "phone": data.phone,
        "address": data.address,
        "bank_card": data.bank_card,
        "bank_card_index": blind_index(data.bank_card) if data.bank_card else "",
    }


def merchant_upsert(*, partner: PartnerPlatform, data: MerchantData) -> tuple[Merchant, bool]:
    """Record a partner's merchant once: a resend is a no-op, a changed resend a conflict."""
    digest = _merchant_hash(data)
    existing = Merchant.objects.filter(partner=partner, external_id=data.external_id).first()
    if existing is not None:
        return _same_or_conflict(existing, digest, "merchant", data.external_id), False
    try:
        with transaction.atomic():
            owner = owner_get_or_create(partner=partner, data=data.owner)
            merchant = Merchant.objects.create(
                partner=partner,
                external_id=data.external_id,
                owner=owner,
                shop_name=data.shop_name,
                category=data.category,
                region=data.region,
                opened_on=data.opened_on,
                content_hash=digest,
            )
    except IntegrityError:
        # Another request created it between our read and our insert.
        existing = Merchant.objects.filter(partner=partner, external_id=data.external_id).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, digest, "merchant", data.external_id), False
    return merchant, True


def _same_or_conflict(existing, digest: str, what: str, external_id: str):
    if existing.content_hash != digest:
        raise ConflictError(
            f"{what} {external_id!r} was already recorded with different content",
            {"fields": {"external_id": [f"{external_id} exists with different content"]}},
        )
    return existing


_MERCHANT_STATUS_TRANSITIONS = {
    Merchant.Status.ACTIVE: {Merchant.Status.RESTRICTED, Merchant.Status.CLOSED},
    Merchant.Status.RESTRICTED: {Merchant.Status.ACTIVE, Merchant.Status.CLOSED},
    Merchant.Status.CLOSED: set(),
}


def _merchant_transition(
    *, merchant: Merchant, to_status: str, reason: str, actor: str, reasons: list | None = None
) -> Merchant:
    with transaction.atomic():
        current = Merchant.objects.select_for_update().get(pk=merchant.pk)
        if to_status not in _MERCHANT_STATUS_TRANSITIONS[current.status]:
            raise ApplicationError(
                f"a {current.status} shop cannot become {to_status}",
                {"fields": {"status": [f"{current.status} -> {to_status} is not allowed"]}},
            )
        MerchantStatusChange.objects.create(
            merchant=current,
            from_status=current.status,
            to_status=to_status,
            reason=reason,
            reasons=reasons or [],
            actor=actor,
        )
        from_status = current.status
        current.status = to_status
        current.save(update_fields=["status", "updated_at"])
        # The partner hears of a restriction and of its lifting (its own suspensions it knows).
        if to_status == Merchant.Status.RESTRICTED:
            event_type = EventType.MERCHANT_RESTRICTED
        elif from_status == Merchant.Status.RESTRICTED and to_status == Merchant.Status.ACTIVE:
            event_type = EventType.MERCHANT_REINSTATED
        else:
            event_type = None
        if event_type is not None:
            event_emit(
                partner=current.partner_id,
                type=event_type,
                payload=_status_payload(current.external_id, to_status, reason, reasons),
            )
    return current


def _status_payload(merchant: str, status: str, reason: str, reasons: list | None) -> dict:
    """A shop's status change as its partner hears of it: `reason_code`, a stable code (the first
    stored reason's; "" for a person's own words), and `reason` in English, the API's language
    for a partner that names none (common.middleware.ApiLanguageMiddleware)."""
    if reasons:
        with translation.override("en"):
            reason = stored_texts(reasons, reason)
    return {
        "merchant": merchant,
        "status": status,
        "reason_code": str(reasons[0].get("code", "")) if reasons else "",
        "reason": reason,
    }


def merchant_restrict(
    *, merchant: Merchant, reason: str, actor: str, reasons: list | None = None
) -> Merchant:
    """Restrict a shop (for example a defaulter's): it keeps its data but may not borrow.
    `reasons`: why, as stored reasons (common.texts), read in the reader's language."""
    return _merchant_transition(
        merchant=merchant, to_status=Merchant.Status.RESTRICTED, reason=reason, actor=actor, reasons=reasons
    )


def merchant_reinstate(
    *, merchant: Merchant, reason: str, actor: str, reasons: list | None = None
) -> Merchant:
    """Lift a restriction. `reasons`: why, as stored reasons (common.texts)."""
    return _merchant_transition(
        merchant=merchant, to_status=Merchant.Status.ACTIVE, reason=reason, actor=actor, reasons=reasons
    )


def merchant_close(*, merchant: Merchant, reason: str, actor: str) -> Merchant:
    """Close a shop for good."""
    return _merchant_transition(
        merchant=merchant, to_status=Merchant.Status.CLOSED, reason=reason, actor=actor
    )


# --- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderData:
    external_id: str
    merchant_external_id: str
    buyer_ref: str
    amount_fen: int
    placed_at: dt.datetime
    status: str = OrderStatus.PLACED
    # Timestamps of the statuses the order has been through, by status: {"paid": datetime, ...}.
    status_times: dict = field(default_factory=dict)
    buyer_merchant_external_id: str | None = None

    def identity_hash(self) -> str:
        """What an order is: who sold what to whom, for how much, when. Status may move on."""
        return content_hash(
            {
                "external_id": self.external_id,
                "merchant": self.merchant_external_id,
                "buyer_ref": self.buyer_ref,
                "buyer_merchant": self.buyer_merchant_external_id or "",
                "amount_fen": self.amount_fen,
                "placed_at": self.placed_at.astimezone(dt.UTC).isoformat(),
            }
        )


@dataclass
class OrderBatchResult:
    created: int = 0
    unchanged: int = 0
    advanced: int = 0
    external_ids_created: list[str] = field(default_factory=list)


def _resolve_merchants(partner: PartnerPlatform, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = set(external_ids)
    found: dict[str, int] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(
            Merchant.objects.filter(partner=partner, external_id__in=chunk).values_list("external_id", "pk")
        )
    return found


def orders_upsert(
    *, partner: PartnerPlatform, orders: Sequence[OrderData], source: str = "api"
) -> OrderBatchResult:
    """Record a batch of orders all-or-nothing. A resent order is a no-op, a resent order with a
    later status moves it on (if the lifecycle allows), a resent order with other content is a
    conflict that rejects the whole batch."""
    seen: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for position, order in enumerate(orders):
        if order.external_id in seen:
            errors[field_path("orders", position, "external_id")] = [
                f"{order.external_id} appears twice in the batch (also at {seen[order.external_id]})"
            ]
        seen[order.external_id] = position
    merchant_ids = _resolve_merchants(
        partner,
        [o.merchant_external_id for o in orders]
        + [o.buyer_merchant_external_id for o in orders if o.buyer_merchant_external_id],
    )
    for position, order in enumerate(orders):
        if order.merchant_external_id not in merchant_ids:
            errors[field_path("orders", position, "merchant_id")] = [
                f"unknown merchant {order.merchant_external_id}"
            ]
        if order.buyer_merchant_external_id and order.buyer_merchant_external_id not in merchant_ids:
            errors[field_path("orders", position, "buyer_merchant_id")] = [
                f"unknown merchant {order.buyer_merchant_external_id}"
            ]
    if errors:
        first = next(iter(errors))
        raise ApplicationError(f"{first}: {errors[first][0]}", {"fields": errors})

    # An order inserted by another request between this one's read and its insert (a retry sent
    # before the first answer, two workers of one partner): that request has committed (the
    # unique index waited for it), so the batch is read again and answered as a resend.
    for _attempt in range(ORDER_WRITE_ATTEMPTS - 1):
        try:
            return _orders_write(partner, orders, seen, merchant_ids, source)
        except IntegrityError as exc:
            if _constraint_of(exc) != ORDER_ID_CONSTRAINT:
                raise
    return _orders_write(partner, orders, seen, merchant_ids, source)


ORDER_WRITE_ATTEMPTS = 3


# The unique constraint on a partner's order ids (merchants.models.Order).
ORDER_ID_CONSTRAINT = "order_partner_external_id"


def _constraint_of(exc: IntegrityError) -> str | None:
    """The name of the constraint a PostgreSQL integrity error broke (None elsewhere)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def _orders_write(
    partner: PartnerPlatform,
    orders: Sequence[OrderData],
    seen: dict[str, int],
    merchant_ids: dict[str, int],
    source: str,
) -> OrderBatchResult:
    result = OrderBatchResult()
    with transaction.atomic():
        existing: dict[str, tuple[int, str, str]] = {}
        external_ids = list(seen)
        for start in range(0, len(external_ids), 900):
            chunk = external_ids[start : start + 900]
            for pk, ext, digest, status in Order.objects.filter(
                partner=partner, external_id__in=chunk
            ).values_list("pk", "external_id", "content_hash", "status"):
                existing[ext] = (pk, digest, status)

        new_rows: list[tuple[OrderData, str]] = []
        to_advance: list[tuple[int, OrderData]] = []
        conflicts: dict[str, list[str]] = {}
        for position, order in enumerate(orders):
            digest = order.identity_hash()
            if order.external_id not in existing:
                new_rows.append((order, digest))
                continue
            pk, stored_digest, stored_status = existing[order.external_id]
            if stored_digest != digest:
                conflicts[field_path("orders", position, "external_id")] = [
                    f"{order.external_id} exists with different content"
                ]
            elif stored_status == order.status:
                result.unchanged += 1
            else:
                to_advance.append((pk, order))
        if conflicts:
            raise ConflictError(
                f"{len(conflicts)} order(s) were already recorded with different content; "
                "nothing in this batch was written",
                {"fields": conflicts},
            )
        _orders_insert(partner, new_rows, merchant_ids)
        result.created = len(new_rows)
        result.external_ids_created = [order.external_id for order, _ in new_rows]
        for pk, order in to_advance:
            _order_advance(
                pk=pk,
                to_status=order.status,
                at=order.status_times.get(order.status),
                source=source,
            )
            result.advanced += 1
    return result


def _orders_insert(
    partner: PartnerPlatform, rows: list[tuple["OrderData", str]], merchant_ids: dict[str, int]
) -> None:
    """Insert new, validated orders. On PostgreSQL through COPY, the server's bulk-load path,
    several times faster than multi-row INSERTs; elsewhere through bulk_create."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Order.objects.bulk_create(
            [_order_row(partner, order, digest, merchant_ids) for order, digest in rows],
            batch_size=ORDER_BATCH_SIZE,
        )
        return
    now = timezone.now().isoformat()
    stamps = list(ORDER_STATUS_TIMESTAMP.items())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for order, digest in rows:
        times = order.status_times
        writer.writerow(
            [
                partner.pk,
                merchant_ids[order.merchant_external_id],
                order.external_id,
                order.buyer_ref,
                merchant_ids.get(order.buyer_merchant_external_id or "", ""),
                order.amount_fen,
                order.status,
                order.placed_at.isoformat(),
                *[times[status].isoformat() if status in times else "" for status, _ in stamps],
                digest,
                now,
            ]
        )
    buffer.seek(0)
    columns = [
        "partner_id",
        "merchant_id",
        "external_id",
        "buyer_ref",
        "buyer_merchant_id",
        "amount_fen",
        "status",
        "placed_at",
        *[column for _, column in stamps],
        "content_hash",
        "updated_at",
    ]
    sql = f"COPY {Order._meta.db_table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    # The driver's cursor, under Django's error translation: a broken constraint is Django's
    # IntegrityError here as for any other statement.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(sql, buffer)


def _order_row(
    partner: PartnerPlatform, order: OrderData, digest: str, merchant_ids: dict[str, int]
) -> Order:
    row = Order(
        partner=partner,
        merchant_id=merchant_ids[order.merchant_external_id],
        buyer_merchant_id=merchant_ids.get(order.buyer_merchant_external_id or ""),
        external_id=order.external_id,
        buyer_ref=order.buyer_ref,
        amount_fen=order.amount_fen,
        placed_at=order.placed_at,
        status=order.status,
        content_hash=digest,
    )
    for status, at in order.status_times.items():
        setattr(row, ORDER_STATUS_TIMESTAMP[status], at)
    return row


def order_transition(
    *, partner: PartnerPlatform, external_id: str, to_status: str, at: dt.datetime, source: str
) -> Order:
    """Move an order along its lifecycle; an impossible change is refused and nothing is written."""
    pk = Order.objects.filter(partner=partner, external_id=external_id).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFoundError(f"no order {external_id!r}", {"fields": {"external_id": ["unknown order"]}})
    with transaction.atomic():
        order = Order.objects.select_for_update().only("status", *STATUS_COLUMNS.values()).get(pk=pk)
        if order.status == to_status:
            _order_resent(order, to_status, at)
        else:
            _order_advance(pk=pk, to_status=to_status, at=at, source=source)
    return Order.objects.get(pk=pk)


# The column holding when an order entered each status.
STATUS_COLUMNS = {**ORDER_STATUS_TIMESTAMP, OrderStatus.PLACED: "placed_at"}


def _order_resent(order: Order, status: str, at: dt.datetime) -> None:
    """A change to the status the order is in: the same change resent (a retry whose answer was
    lost) is answered again; at another time it is a conflict, and nothing moves."""
    recorded = getattr(order, STATUS_COLUMNS[status])
    if recorded is None or recorded != at:
        since = f", since {recorded.isoformat()}" if recorded is not None else ""
        raise ConflictError(
            f"the order is already {status}{since}", {"fields": {"at": [f"already {status}{since}"]}}
        )


def _order_advance(*, pk: int, to_status: str, at: dt.datetime | None, source: str) -> None:
    order = Order.objects.only("status", "placed_at").get(pk=pk)
    at = at or timezone.now()
    if to_status not in ORDER_TRANSITIONS[order.status]:
        raise ConflictError(
            f"order cannot go from {order.status} to {to_status}",
            {"fields": {"status": [f"{order.status} -> {to_status} is not an allowed change"]}},
        )
    if at < order.placed_at:
        raise ApplicationError(
            "a status change cannot precede the order",
            {"fields": {"at": ["earlier than placed_at"]}},
        )
    # Compare-and-set: if someone moved the order meanwhile, this touches nothing.
    updated = Order.objects.filter(pk=pk, status=order.status).update(
        status=to_status, **{ORDER_STATUS_TIMESTAMP[to_status]: at}, updated_at=timezone.now()
    )
    if updated != 1:
        raise ConflictError(
            "the order changed while this request was processed; read it and retry",
            {"fields": {"status": ["changed concurrently"]}},
        )
    OrderStatusChange.objects.create(
        order_id=pk, from_status=order.status, to_status=to_status, occurred_at=at, source=source
    )


# --- settlements ---------------------------------------------------------------------------


def settlement_record(
    *,
    partner: PartnerPlatform,
    external_id: str,
    merchant: Merchant,
    amount_fen: int,
    settled_on: dt.date,
    order_count: int = 0,
    idempotency_key: str | None = None,
) -> tuple[Settlement, bool]:
    """Record a partner's payout to a merchant once. A resend (same id, or same key) with the
    same content returns the first record; with other content it is a conflict."""
    if amount_fen <= 0:
        raise ApplicationError("a settlement must be positive", {"fields": {"amount": ["must be positive"]}})
    content = (external_id, merchant.pk, amount_fen, settled_on)

    def same_or_conflict(existing: Settlement, field: str) -> tuple[Settlement, bool]:
        if (
            existing.external_id,
            existing.merchant_id,
            existing.amount_fen,
            existing.settled_on,
        ) != content:
            raise ConflictError(
                f"{field} was already used for a settlement with different content",
                {"fields": {field: ["already used with different content"]}},
            )
        return existing, False

    if idempotency_key:
        by_key = Settlement.objects.filter(partner=partner, idempotency_key=idempotency_key).first()
        if by_key is not None:
            return same_or_conflict(by_key, "Idempotency-Key")
    existing = Settlement.objects.filter(partner=partner, external_id=external_id).first()
    if existing is not None:
        return same_or_conflict(existing, "id")
    try:
        with transaction.atomic():
            return Settlement.objects.create(
                partner=partner,
                external_id=external_id,
                merchant=merchant,
                amount_fen=amount_fen,
                settled_on=settled_on,
                order_count=order_count,
                idempotency_key=idempotency_key,
            ), True
    except IntegrityError:
        # A concurrent request recorded it first.
        existing = Settlement.objects.filter(partner=partner, external_id=external_id).first()
        if existing is None and idempotency_key:
            existing = Settlement.objects.get(partner=partner, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return same_or_conflict(existing, "id")


# --- what a B2B member declares -----------------------------------------------------------


def _refuse(problems: dict[str, list[str]]):
    first = next(iter(problems))
    raise ApplicationError(f"{first}: {problems[first][0]}", {"fields": problems})


def _whole_fen(name: str, value, problems: dict) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems[name] = ["a whole number of fen"]
        return None
    if not 0 <= value <= 10**15:
        problems[name] = ["between 0 and 10^15 fen"]
        return None
    return value


def _fraction(name: str, value, low: Decimal, high: Decimal, problems: dict) -> Decimal | None:
    if isinstance(value, float | bool):
        problems[name] = ["a decimal fraction, not a float"]
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        problems[name] = ["not a number"]
        return None
    if not number.is_finite():
        problems[name] = ["not a number"]
    elif not low <= number <= high:
        problems[name] = [f"between {low} and {high}"]
    elif number != number.quantize(Decimal("0.0001")):
        problems[name] = ["at most four decimal places (0.0001 = 0.01 %)"]
    else:
        return number
    return None


def declared_financials_record(
    *,
    merchant: Merchant,
    fiscal_year: int,
    sales_fen: int,
    net_profit_margin: Decimal | str,
    total_assets_fen: int,
    total_liabilities_fen: int,
    platform_sales_share: Decimal | str,
    on: dt.date,
) -> DeclaredFinancials:
    """A B2B member's figures for one fiscal year, declared on business date `on`. One row per
    merchant and year: declaring the same year again replaces the figures and their date (scoring
    reads them only from the day after they were declared). Every wrong figure is named."""
    problems: dict[str, list[str]] = {}
    if (
        isinstance(fiscal_year, bool)
        or not isinstance(fiscal_year, int)
        or not 2000 <= fiscal_year <= on.year
    ):
        problems["fiscal_year"] = [f"a year from 2000 to {on.year}"]
    sales = _whole_fen("sales_fen", sales_fen, problems)
    margin = _fraction("net_profit_margin", net_profit_margin, Decimal(-1), Decimal(1), problems)
    assets = _whole_fen("total_assets_fen", total_assets_fen, problems)
    liabilities = _whole_fen("total_liabilities_fen", total_liabilities_fen, problems)
    share = _fraction("platform_sales_share", platform_sales_share, Decimal(0), Decimal(1), problems)
    if problems:
        _refuse(problems)
    with transaction.atomic():
        row, _ = DeclaredFinancials.objects.update_or_create(
            merchant=merchant,
            fiscal_year=fiscal_year,
            defaults={
                "sales_fen": sales,
                "net_profit_margin": margin,
                "total_assets_fen": assets,
                "total_liabilities_fen": liabilities,
                "platform_sales_share": share,
                "declared_on": on,
            },
        )
    return row


def questionnaire_record(
    *, owner: Owner, answers: Mapping[str, int], answered_at: dt.datetime | None = None
) -> QuestionnaireResponse:
    """The owner's answers to the current questionnaire: every question answered 1..5 (each wrong
    or missing answer named), kept as a new response; scoring reads the latest one."""
    from merchants.questionnaire import ANSWER_MAX, ANSWER_MIN, QUESTIONS, VERSION

    problems: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for question in QUESTIONS:
        value = answers.get(question.code)
        if isinstance(value, bool) or not isinstance(value, int) or not ANSWER_MIN <= value <= ANSWER_MAX:
            problems[question.code] = [f"an answer from {ANSWER_MIN} to {ANSWER_MAX}"]
        else:
            clean[question.code] = value
    unknown = sorted(set(answers) - set(clean) - set(problems))
    for code in unknown:
        problems[code] = ["not a question of this questionnaire"]
    if problems:
        _refuse(problems)
    return QuestionnaireResponse.objects.create(
        owner=owner, version=VERSION, answers=clean, answered_at=answered_at or timezone.now()
    )
