"""Recording what partners send about their merchants besides orders: refunds, complaints, buyer
ratings, logistics events, third-party verifications, declared financials and a shop's status on
its platform. One service per kind, `<kind>_record_batch`, each all-or-nothing in one transaction.

Every signal carries the partner's id for it. The first send makes the row and a `SignalReceipt`;
a resend with the same content changes nothing (`unchanged`); a resend that only moves on a field
meant to move (a complaint upheld, a verification completed) updates it (`updated`); a resend
with other content is a conflict that rejects the whole batch. A partner reaches only its own
merchants and orders: anything else is "not found", never "not yours"."""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Sum

from common.crypto import blind_index, mask
from common.errors import ApplicationError, ConflictError, NotFoundError, field_path
from merchants import services
from merchants.models import (
    Complaint,
    Merchant,
    MerchantStatusChange,
    Order,
    PartnerPlatform,
    Rating,
    Refund,
    Verification,
)
from merchants.signal_models import (
    Guarantee,
    LogisticsEvent,
    MerchantDevice,
    SignalKind,
    SignalReceipt,
    guarantee_until_problem,
)

# A partner's words for a shop's status, and ours.
PLATFORM_STATUSES = {
    "active": Merchant.Status.ACTIVE,
    "suspended": Merchant.Status.RESTRICTED,
    "closed": Merchant.Status.CLOSED,
}
PARTNER_ACTOR_PREFIX = "partner:"


def partner_actor(partner: PartnerPlatform) -> str:
    """How a partner's own status changes are signed in MerchantStatusChange.actor."""
    return f"{PARTNER_ACTOR_PREFIX}{partner.code}"


@dataclass
class SignalBatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merchant_ids: set[int] = field(default_factory=set)


@dataclass
class _Item:
    """One signal of a batch, resolved: its position, the partner's id, the merchant it is
    about, what identifies it (hashed), what may legitimately change, and what the writer needs."""

    position: int
    external_id: str
    merchant_id: int
    identity: dict
    mutable: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)


def _refuse(problems: dict[str, list[str]], error=ApplicationError) -> None:
    first = next(iter(problems))
    raise error(f"{first}: {problems[first][0]}", {"fields": problems})


def _path(key: str, position: int, name: str) -> str:
    return field_path(key, position, name)


def _orders_of(partner: PartnerPlatform, external_ids: set[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    ids = sorted(external_ids)
    for start in range(0, len(ids), 900):
        for pk, ext, merchant_id, amount, placed_at in Order.objects.filter(
            partner=partner, external_id__in=ids[start : start + 900]
        ).values_list("pk", "external_id", "merchant_id", "amount_fen", "placed_at"):
            found[ext] = {"pk": pk, "merchant_id": merchant_id, "amount_fen": amount, "placed_at": placed_at}
    return found


def _merchants_of(partner: PartnerPlatform, external_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ids = sorted(external_ids)
    for start in range(0, len(ids), 900):
        found.update(
            Merchant.objects.filter(partner=partner, external_id__in=ids[start : start + 900]).values_list(
                "external_id", "pk"
            )
        )
    return found


def _check_ids(key: str, items: Sequence[dict]) -> None:
    seen: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    for position, item in enumerate(items):
        ext = item["id"]
        if ext in seen:
            problems[_path(key, position, "id")] = [f"{ext} appears twice in the batch (also at {seen[ext]})"]
        seen.setdefault(ext, position)
    if problems:
        _refuse(problems)


def _not_found(problems: dict[str, list[str]]) -> None:
    """Unknown and another partner's merchants or orders read the same: not found."""
    if problems:
        _refuse(problems, NotFoundError)


@dataclass(frozen=True)
class _Signal:
    """A kind of signal: its receipts' kind, the key its batch comes under, the fields naming the
    partner's merchants, and the field naming the partner's order (optional or not), if any."""

    kind: str
    key: str
    merchant_fields: tuple[str, ...] = ()
    order_field: str = ""
    order_optional: bool = False


# Every kind of signal, by the key of its batch.
SIGNALS = {
    signal.key: signal
    for signal in (
        _Signal(SignalKind.REFUND, "refunds", order_field="order_id"),
        _Signal(SignalKind.COMPLAINT, "complaints", ("merchant_id",), "order_id", order_optional=True),
        _Signal(SignalKind.RATING, "ratings", order_field="order_id"),
        _Signal(SignalKind.LOGISTICS, "events", order_field="order_id"),
        _Signal(SignalKind.VERIFICATION, "verifications", ("merchant_id",)),
        _Signal(SignalKind.FINANCIALS, "financials", ("merchant_id",)),
        _Signal(SignalKind.STATUS, "changes", ("merchant_id",)),
        _Signal(SignalKind.DEVICE, "devices", ("merchant_id",)),
        _Signal(SignalKind.GUARANTEE, "guarantees", ("borrower_id", "guarantor_id")),
    )
}


@dataclass
class _Found:
    """What a signal names, found among the partner's: merchant ids by field, and its order."""

    merchants: dict[str, int]
    order: dict | None = None


def _resolve(
    partner: PartnerPlatform,
    spec: _Signal,
    signals: Sequence[dict],
    *,
    item: Callable[[dict, _Found], dict],
    check: Callable[[int, dict, _Found], list[tuple[str, str]]] | None = None,
) -> list[_Item]:
    """A batch read the one way: ids once each; every merchant and order named is the partner's
    (else the batch is "not found"); `check` lists a signal's problems as (field, message), which
    refuse the batch; `item` gives the rest of each signal's _Item (merchant_id, identity, ...)."""
    key = spec.key
    _check_ids(key, signals)
    merchants = (
        _merchants_of(partner, {s[name] for s in signals for name in spec.merchant_fields})
        if spec.merchant_fields
        else {}
    )
    field = spec.order_field
    orders = (
        _orders_of(partner, {s[field] for s in signals if s.get(field) or not spec.order_optional})
        if field
        else {}
    )
    missing, problems, items = {}, {}, []
    for position, signal in enumerate(signals):
        found = _Found({name: merchants.get(signal[name]) for name in spec.merchant_fields})
        for name, pk in found.merchants.items():
            if pk is None:
                missing[_path(key, position, name)] = [f"unknown merchant {signal[name]}"]
        if None in found.merchants.values():
            continue
        if field and (signal.get(field) or not spec.order_optional):
            found.order = orders.get(signal[field])
            if found.order is None:
                missing[_path(key, position, field)] = [f"unknown order {signal[field]}"]
                continue
        for name, problem in check(position, signal, found) if check else ():
            problems[_path(key, position, name)] = [problem]
        items.append(_Item(position, signal["id"], **item(signal, found)))
    _not_found(missing)
    if problems:
        _refuse(problems)
    return items


def _not_before_order(field: str) -> Callable[[int, dict, _Found], list[tuple[str, str]]]:
    """A check for _resolve: the signal's time `field` is not before its order was placed."""

    def check(_position: int, signal: dict, found: _Found) -> list[tuple[str, str]]:
        if signal[field] < found.order["placed_at"]:
            return [(field, "earlier than the order was placed")]
        return []

    return check


class _RefusedNew(Exception):
    """`check_new` refused new signals: sorted again before the refusal is given."""

    def __init__(self, error: ApplicationError):
        super().__init__(error.message)
        self.error = error


def _record(
    *,
    partner: PartnerPlatform,
    spec: _Signal,
    items: list[_Item],
    create: Callable[[list[_Item]], list[int]],
    update: Callable[[_Item, int], None] | None = None,
    current: Callable[[list[int]], dict[int, dict]] | None = None,
    check_new: Callable[[list[_Item]], None] | None = None,
) -> SignalBatchResult:
    """The shared skeleton: sort the batch into new signals, resends and conflicts, refuse the
    batch on any conflict, then write the new ones (with their receipts) and the moves, together.
    A concurrent send of the same ids loses the race on the receipts' unique constraint and is
    sorted again, now as a resend. So is one refused by `check_new` (an order that has a rating
    already, refunds over the order's amount): the receipts were read before the other send
    committed what `check_new` then saw, and read again they show the batch as a resend; a
    refusal that stands is given on the second sorting."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _record_once(
                    partner=partner,
                    kind=spec.kind,
                    key=spec.key,
                    items=items,
                    create=create,
                    update=update,
                    current=current,
                    check_new=check_new,
                )
        except _RefusedNew as refused:
            if attempt == 1:
                raise refused.error from None
        except IntegrityError:
            if attempt == 1:
                raise ConflictError(
                    "the same signals were being recorded by another request; send the batch again",
                    {"fields": {spec.key: ["sent concurrently"]}},
                ) from None
    raise AssertionError("unreachable")


def _record_once(*, partner, kind, key, items, create, update, current, check_new) -> SignalBatchResult:
    result = SignalBatchResult()
    receipts = {
        r.external_id: r
        for r in SignalReceipt.objects.select_for_update().filter(
            partner=partner, kind=kind, external_id__in=[i.external_id for i in items]
        )
    }
    new, moves, conflicts = [], [], {}
    states = current([r.object_id for r in receipts.values()]) if current and receipts else {}
    for item in items:
        receipt = receipts.get(item.external_id)
        digest = services.content_hash(item.identity)
        item.data["content_hash"] = digest
        if receipt is None:
            new.append(item)
        elif receipt.content_hash != digest or receipt.merchant_id != item.merchant_id:
            conflicts[_path(key, item.position, "id")] = [f"{item.external_id} exists with different content"]
        elif item.mutable and states.get(receipt.object_id) != item.mutable:
            moves.append((item, receipt))
        else:
            result.unchanged += 1
    if conflicts:
        raise ConflictError(
            f"{len(conflicts)} signal(s) were already recorded with different content; "
            "nothing in this batch was written",
            {"fields": conflicts},
        )
    if new and check_new is not None:
        try:
            check_new(new)
        except ApplicationError as exc:
            raise _RefusedNew(exc) from exc
    object_ids = create(new) if new else []
    SignalReceipt.objects.bulk_create(
        [
            SignalReceipt(
                partner=partner,
                kind=kind,
                external_id=item.external_id,
                merchant_id=item.merchant_id,
                object_id=object_id,
                content_hash=item.data["content_hash"],
            )
            for item, object_id in zip(new, object_ids, strict=True)
        ]
    )
    for item, receipt in moves:
        update(item, receipt.object_id)
        SignalReceipt.objects.filter(pk=receipt.pk).update(content_hash=item.data["content_hash"])
    result.created = len(new)
    result.updated = len(moves)
    result.merchant_ids = {item.merchant_id for item in items}
    return result


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


# --- refunds -----------------------------------------------------------------------------------


def refunds_record_batch(*, partner: PartnerPlatform, refunds: Sequence[dict]) -> SignalBatchResult:
    """Money returned to buyers: each refund names the order (the partner's), an amount that with
    the order's earlier refunds stays within the order's amount, and a time not before the order.
    Moving the order itself to "refunded" is the order-status endpoint's job."""
    key = "refunds"
    items = _resolve(
        partner,
        SIGNALS[key],
        refunds,
        check=_not_before_order("refunded_at"),
        item=lambda r, found: {
            "merchant_id": found.order["merchant_id"],
            "identity": {
                "order": r["order_id"],
                "amount_fen": r["amount_fen"],
                "refunded_at": _instant(r["refunded_at"]),
                "reason": r.get("reason", ""),
            },
            "data": {"order": found.order, **r},
        },
    )

    def check_new(new: list[_Item]) -> None:
        order_ids = sorted({i.data["order"]["pk"] for i in new})
        # Lock the orders (id order): two batches refunding one order cannot both pass the cap.
        list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk").values_list("pk"))
        refunded = defaultdict(
            int,
            Refund.objects.filter(order_id__in=order_ids)
            .values("order_id")
            .annotate(total=Sum("amount_fen"))
            .values_list("order_id", "total"),
        )
        over = {}
        for item in new:
            order = item.data["order"]
            refunded[order["pk"]] += item.data["amount_fen"]
            if refunded[order["pk"]] > order["amount_fen"]:
                over[_path(key, item.position, "amount")] = [
                    "with the order's other refunds this exceeds the order's amount"
                ]
        if over:
            _refuse(over)

    def create(new: list[_Item]) -> list[int]:
        rows = Refund.objects.bulk_create(
            [
                Refund(
                    order_id=i.data["order"]["pk"],
                    merchant_id=i.merchant_id,
                    amount_fen=i.data["amount_fen"],
                    refunded_at=i.data["refunded_at"],
                    reason=i.data.get("reason", ""),
                )
                for i in new
            ]
        )
        return _pks(rows, Refund, new)

    return _record(partner=partner, spec=SIGNALS[key], items=items, create=create, check_new=check_new)


def _pks(rows: list, model, new: list[_Item]) -> list[int]:
    """Primary keys of rows just bulk-created: PostgreSQL and SQLite (3.35+) return them."""
    pks = [row.pk for row in rows]
    if any(pk is None for pk in pks):  # pragma: no cover - a backend without RETURNING
        raise AssertionError(f"{model.__name__} rows came back without ids")
    return pks


# --- complaints --------------------------------------------------------------------------------


def complaints_record_batch(*, partner: PartnerPlatform, complaints: Sequence[dict]) -> SignalBatchResult:
    """Buyers' complaints about a merchant (optionally about one of its orders). Whether the
    platform upheld it may come later: a resend that only changes `is_upheld` updates it."""
    key = "complaints"

    def check(position: int, c: dict, found: _Found) -> list[tuple[str, str]]:
        order = found.order
        if order is None:
            return []
        if order["merchant_id"] != found.merchants["merchant_id"]:
            return [("order_id", f"not an order of merchant {c['merchant_id']}")]
        return _not_before_order("filed_at")(position, c, found)

    items = _resolve(
        partner,
        SIGNALS[key],
        complaints,
        check=check,
        item=lambda c, found: {
            "merchant_id": found.merchants["merchant_id"],
            "identity": {
                "merchant": c["merchant_id"],
                "order": c.get("order_id") or "",
                "category": c["category"],
                "filed_at": _instant(c["filed_at"]),
            },
            "mutable": {"is_upheld": c["is_upheld"]},
            "data": {"order_pk": found.order["pk"] if found.order else None, **c},
        },
    )

    def create(new: list[_Item]) -> list[int]:
        rows = Complaint.objects.bulk_create(
            [
                Complaint(
                    merchant_id=i.merchant_id,
                    order_id=i.data["order_pk"],
                    category=i.data["category"],
                    filed_at=i.data["filed_at"],
                    is_upheld=i.data["is_upheld"],
                )
                for i in new
            ]
        )
        return _pks(rows, Complaint, new)

    def current(ids: list[int]) -> dict[int, dict]:
        return {
            pk: {"is_upheld": up}
            for pk, up in Complaint.objects.filter(pk__in=ids).values_list("pk", "is_upheld")
        }

    def update(item: _Item, pk: int) -> None:
        Complaint.objects.filter(pk=pk).update(is_upheld=item.mutable["is_upheld"])

    return _record(
        partner=partner,
        spec=SIGNALS[key],
        items=items,
        create=create,
        update=update,
        current=current,
    )


# --- ratings -----------------------------------------------------------------------------------


def ratings_record_batch(*, partner: PartnerPlatform, ratings: Sequence[dict]) -> SignalBatchResult:
    """A buyer's stars (1–5) for an order, once per order, not before the order was placed."""
    key = "ratings"
    seen: dict[str, int] = {}

    def check(position: int, r: dict, found: _Found) -> list[tuple[str, str]]:
        problems = []
        if r["order_id"] in seen:
            problems.append(
                (
                    "order_id",
                    f"order {r['order_id']} is rated twice in the batch (also at {seen[r['order_id']]})",
                )
            )
        seen.setdefault(r["order_id"], position)
        return problems + _not_before_order("rated_at")(position, r, found)

    items = _resolve(
        partner,
        SIGNALS[key],
        ratings,
        check=check,
        item=lambda r, found: {
            "merchant_id": found.order["merchant_id"],
            "identity": {"order": r["order_id"], "stars": r["stars"], "rated_at": _instant(r["rated_at"])},
            "data": {"order": found.order, **r},
        },
    )

    def check_new(new: list[_Item]) -> None:
        rated = set(
            Rating.objects.filter(order_id__in=[i.data["order"]["pk"] for i in new]).values_list(
                "order_id", flat=True
            )
        )
        taken = {
            _path(key, i.position, "order_id"): [f"order {i.data['order_id']} already has a rating"]
            for i in new
            if i.data["order"]["pk"] in rated
        }
        if taken:
            _refuse(taken, ConflictError)

    def create(new: list[_Item]) -> list[int]:
        rows = Rating.objects.bulk_create(
            [
                Rating(
                    merchant_id=i.merchant_id,
                    order_id=i.data["order"]["pk"],
                    stars=i.data["stars"],
                    rated_at=i.data["rated_at"],
                )
                for i in new
            ]
        )
        return _pks(rows, Rating, new)

    return _record(partner=partner, spec=SIGNALS[key], items=items, create=create, check_new=check_new)


# --- logistics events --------------------------------------------------------------------------


def logistics_events_record_batch(*, partner: PartnerPlatform, events: Sequence[dict]) -> SignalBatchResult:
    """Carrier scans of an order's parcel (picked up, in transit, delivered, returned, lost,
    exception), not before the order was placed."""
    key = "events"
    items = _resolve(
        partner,
        SIGNALS[key],
        events,
        check=_not_before_order("occurred_at"),
        item=lambda e, found: {
            "merchant_id": found.order["merchant_id"],
            "identity": {
                "order": e["order_id"],
                "kind": e["kind"],
                "occurred_at": _instant(e["occurred_at"]),
                "carrier": e.get("carrier", ""),
                "tracking_number": e.get("tracking_number", ""),
            },
            "data": {"order": found.order, **e},
        },
    )

    def create(new: list[_Item]) -> list[int]:
        rows = LogisticsEvent.objects.bulk_create(
            [
                LogisticsEvent(
                    merchant_id=i.merchant_id,
                    order_id=i.data["order"]["pk"],
                    kind=i.data["kind"],
                    occurred_at=i.data["occurred_at"],
                    carrier=i.data.get("carrier", ""),
                    tracking_number=i.data.get("tracking_number", ""),
                )
                for i in new
            ]
        )
        return _pks(rows, LogisticsEvent, new)

    return _record(partner=partner, spec=SIGNALS[key], items=items, create=create)


# --- verifications -----------------------------------------------------------------------------


def verifications_record_batch(
    *, partner: PartnerPlatform, verifications: Sequence[dict]
) -> SignalBatchResult:
    """A third party's check of a merchant's document (business licence, tax, customs). A check
    sent while pending is completed by resending it with its result and date."""
    key = "verifications"
    items = _resolve(
        partner,
        SIGNALS[key],
        verifications,
        item=lambda v, found: {
            "merchant_id": found.merchants["merchant_id"],
            "identity": {"merchant": v["merchant_id"], "kind": v["kind"], "provider": v["provider"]},
            "mutable": {
                "result": v["result"],
                "checked_on": v.get("checked_on"),
                "reference": v.get("reference", ""),
            },
            "data": dict(v),
        },
    )

    def create(new: list[_Item]) -> list[int]:
        rows = [
            Verification.objects.create(
                merchant_id=i.merchant_id, kind=i.data["kind"], provider=i.data["provider"], **i.mutable
            )
            for i in new
        ]
        return [row.pk for row in rows]

    def current(ids: list[int]) -> dict[int, dict]:
        return {
            pk: {"result": result, "checked_on": checked_on, "reference": reference}
            for pk, result, checked_on, reference in Verification.objects.filter(pk__in=ids).values_list(
                "pk", "result", "checked_on", "reference"
            )
        }

    def update(item: _Item, pk: int) -> None:
        row = Verification.objects.get(pk=pk)
        for name, value in item.mutable.items():
            setattr(row, name, value)
        row.save(update_fields=[*item.mutable, "updated_at"])

    return _record(
        partner=partner,
        spec=SIGNALS[key],
        items=items,
        create=create,
        update=update,
        current=current,
    )


# --- declared financials -----------------------------------------------------------------------


def financials_record_batch(
    *, partner: PartnerPlatform, financials: Sequence[dict], on: dt.date
) -> SignalBatchResult:
    """What a B2B member declared for a fiscal year, relayed by its platform on business date
    `on`: declaring a year again (under a new id) replaces that year's figures, as in the portal."""
    key = "financials"
    items = _resolve(
        partner,
        SIGNALS[key],
        financials,
        item=lambda f, found: {
            "merchant_id": found.merchants["merchant_id"],
            "identity": {
                "merchant": f["merchant_id"],
                **{name: str(value) for name, value in f.items() if name not in ("id", "merchant_id")},
            },
            "data": dict(f),
        },
    )

    def create(new: list[_Item]) -> list[int]:
        pks = []
        for i in new:
            try:
                row = services.declared_financials_record(
                    merchant=Merchant.objects.get(pk=i.merchant_id),
                    fiscal_year=i.data["fiscal_year"],
                    sales_fen=i.data["sales_fen"],
                    net_profit_margin=i.data["net_profit_margin"],
                    total_assets_fen=i.data["total_assets_fen"],
                    total_liabilities_fen=i.data["total_liabilities_fen"],
                    platform_sales_share=i.data["platform_sales_share"],
                    on=on,
                )
            except ApplicationError as exc:
                fields = exc.extra.get("fields", {})
                _refuse({_path(key, i.position, name): problems for name, problems in fields.items()})
            pks.append(row.pk)
        return pks

    return _record(partner=partner, spec=SIGNALS[key], items=items, create=create)


# --- a shop's status on its platform ------------------------------------------------------------


def _restricted_by(merchant_id: int) -> str | None:
    """Who put the shop in its current restriction (the actor of the last change to it)."""
    return (
        MerchantStatusChange.objects.filter(merchant_id=merchant_id, to_status=Merchant.Status.RESTRICTED)
        .order_by("-changed_at", "-pk")
        .values_list("actor", flat=True)
        .first()
    )


def merchant_status_record_batch(*, partner: PartnerPlatform, changes: Sequence[dict]) -> SignalBatchResult:
    """The platform suspended, closed or reopened a shop. Applied in the batch's order through
    the merchant lifecycle (a closed shop stays closed). A partner lifts only a suspension it
    made itself: a restriction the lender placed (a defaulter's) is lifted by an officer."""
    key = "changes"
    items = _resolve(
        partner,
        SIGNALS[key],
        changes,
        item=lambda c, found: {
            "merchant_id": found.merchants["merchant_id"],
            "identity": {
                "merchant": c["merchant_id"],
                "status": c["status"],
                "reason": c["reason"],
                "changed_at": _instant(c["changed_at"]),
            },
            "data": dict(c),
        },
    )
    actor = partner_actor(partner)

    def create(new: list[_Item]) -> list[int]:
        pks = []
        for i in new:
            merchant = Merchant.objects.select_for_update().get(pk=i.merchant_id)
            target = PLATFORM_STATUSES[i.data["status"]]
            if merchant.status == target:
                pks.append(0)  # already so: recorded, nothing to change
                continue
            if target == Merchant.Status.ACTIVE and _restricted_by(merchant.pk) != actor:
                _refuse(
                    {
                        _path(key, i.position, "status"): [
                            "the lender restricted this shop; only its officers can lift that"
                        ]
                    },
                    ConflictError,
                )
            reason = f"platform {partner.code}: {i.data['reason']}"[:200]
            service = {
                Merchant.Status.ACTIVE: services.merchant_reinstate,
                Merchant.Status.RESTRICTED: services.merchant_restrict,
                Merchant.Status.CLOSED: services.merchant_close,
            }[target]
            try:
                service(merchant=merchant, reason=reason, actor=actor)
            except ApplicationError as exc:
                problem = exc.extra.get("fields", {}).get("status", [exc.message])
                _refuse({_path(key, i.position, "status"): problem}, ConflictError)
            pks.append(
                MerchantStatusChange.objects.filter(merchant=merchant)
                .order_by("-pk")
                .values_list("pk", flat=True)[0]
            )
        return pks

    return _record(partner=partner, spec=SIGNALS[key], items=items, create=create)


# --- devices and guarantees: links of the relationship network ----------------------------------


def devices_record_batch(*, partner: PartnerPlatform, devices: Sequence[dict]) -> SignalBatchResult:
    """A shop's owner or staff seen on a device (the platform's fingerprint). The fingerprint is
    kept only as a keyed digest and a masked hint; each shop's device is one row whose first and
    last sightings move out as sightings arrive."""
    key = "devices"

    def item(d: dict, found: _Found) -> dict:
        index = blind_index(d["fingerprint"])
        return {
            "merchant_id": found.merchants["merchant_id"],
            "identity": {"merchant": d["merchant_id"], "device": index, "seen_at": _instant(d["seen_at"])},
            "data": {"index": index, "hint": mask(d["fingerprint"], 4, 4)[:40], "seen_at": d["seen_at"]},
        }

    items = _resolve(partner, SIGNALS[key], devices, item=item)

    def create(new: list[_Item]) -> list[int]:
        return [
            _device_sighting(
                i.merchant_id, index=i.data["index"], hint=i.data["hint"], seen_at=i.data["seen_at"]
            ).pk
            for i in new
        ]

    return _record(partner=partner, spec=SIGNALS[key], items=items, create=create)


def _device_sighting(merchant_id: int, *, index: str, hint: str, seen_at: dt.datetime) -> MerchantDevice:
    """The shop's row for the device, made or with its first and last sightings widened."""
    row, made = MerchantDevice.objects.select_for_update().get_or_create(
        merchant_id=merchant_id,
        device_index=index,
        defaults={"hint": hint, "first_seen_at": seen_at, "last_seen_at": seen_at},
    )
    if not made and not row.first_seen_at <= seen_at <= row.last_seen_at:
        row.first_seen_at = min(row.first_seen_at, seen_at)
        row.last_seen_at = max(row.last_seen_at, seen_at)
        row.save(update_fields=["first_seen_at", "last_seen_at"])
    return row


def device_seen(*, merchant_id: int, fingerprint: str, seen_at: dt.datetime) -> MerchantDevice:
    """A shop's person seen on a device as it applies (the application API's `device`): recorded
    like a partner's device signal, in the caller's transaction, so the velocity and cluster
    rules and the relationship network see it from this application on."""
    with transaction.atomic():
        return _device_sighting(
            merchant_id, index=blind_index(fingerprint), hint=mask(fingerprint, 4, 4)[:40], seen_at=seen_at
        )


def guarantees_record_batch(*, partner: PartnerPlatform, guarantees: Sequence[dict]) -> SignalBatchResult:
    """One member stands surety for another (both the partner's merchants), up to an amount,
    from a date; a resend with `until_on` set ends it."""
    key = "guarantees"

    def check(_position: int, g: dict, found: _Found) -> list[tuple[str, str]]:
        problems = []
        if found.merchants["borrower_id"] == found.merchants["guarantor_id"]:
            problems.append(("guarantor_id", "a shop cannot guarantee itself"))
        problem = guarantee_until_problem(g["since_on"], g.get("until_on"))
        if problem:
            problems.append(("until_on", problem))
        return problems

    items = _resolve(
        partner,
        SIGNALS[key],
        guarantees,
        check=check,
        item=lambda g, found: {
            "merchant_id": found.merchants["borrower_id"],
            "identity": {
                "borrower": g["borrower_id"],
                "guarantor": g["guarantor_id"],
                "amount_fen": g["amount_fen"],
                "since_on": g["since_on"].isoformat(),
            },
            "mutable": {"until_on": g.get("until_on")},
            "data": {"guarantor": found.merchants["guarantor_id"], **g},
        },
    )

    def create(new: list[_Item]) -> list[int]:
        rows = Guarantee.objects.bulk_create(
            [
                Guarantee(
                    borrower_id=i.merchant_id,
                    guarantor_id=i.data["guarantor"],
                    amount_fen=i.data["amount_fen"],
                    since_on=i.data["since_on"],
                    until_on=i.data.get("until_on"),
                )
                for i in new
            ]
        )
        return _pks(rows, Guarantee, new)

    def current(ids: list[int]) -> dict[int, dict]:
        return {
            pk: {"until_on": until}
            for pk, until in Guarantee.objects.filter(pk__in=ids).values_list("pk", "until_on")
        }

    def update(item: _Item, pk: int) -> None:
        Guarantee.objects.filter(pk=pk).update(until_on=item.mutable["until_on"])

    return _record(
        partner=partner,
        spec=SIGNALS[key],
        items=items,
        create=create,
        update=update,
        current=current,
    )


def merchant_platform_status(merchant_ids: Sequence[int]) -> dict[int, str]:
    """For risk control: merchants their platform has closed or suspended → "closed" or
    "suspended" (a restriction the lender placed is not the platform's)."""
    out: dict[int, str] = {}
    ids = list(merchant_ids)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for pk, status in (
            Merchant.objects.filter(pk__in=chunk)
            .exclude(status=Merchant.Status.ACTIVE)
            .values_list("pk", "status")
        ):
            if status == Merchant.Status.CLOSED:
                out[pk] = "closed"
        restricted = list(
            Merchant.objects.filter(pk__in=chunk, status=Merchant.Status.RESTRICTED).values_list(
                "pk", flat=True
            )
        )
        last_actor: dict[int, str] = {}
        for merchant_id, actor in (
            MerchantStatusChange.objects.filter(
                merchant_id__in=restricted, to_status=Merchant.Status.RESTRICTED
            )
            .order_by("merchant_id", "changed_at", "pk")
            .values_list("merchant_id", "actor")
        ):
            last_actor[merchant_id] = actor
        for merchant_id, actor in last_actor.items():
            if actor.startswith(PARTNER_ACTOR_PREFIX):
                out[merchant_id] = "suspended"
    return out


__all__ = [
    "PLATFORM_STATUSES",
    "SignalBatchResult",
    "complaints_record_batch",
    "devices_record_batch",
    "financials_record_batch",
    "guarantees_record_batch",
    "logistics_events_record_batch",
    "merchant_platform_status",
    "merchant_status_record_batch",
    "ratings_record_batch",
    "refunds_record_batch",
    "verifications_record_batch",
]
