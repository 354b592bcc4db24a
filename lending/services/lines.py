"""Credit lines: opened by scoring (through these services), frozen and unfrozen by officers,
drawn and restored by loans. Every change leaves a CreditLineChange row; status changes go
through lending.lifecycle, by the events in LINE_TRANSITIONS."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from common.errors import ApplicationError, ConflictError
from common.money import format_yuan
from lending import lifecycle
from lending.models import CreditLine, CreditLineChange, Product
from lending.selectors import Exposure, merchant_exposure
from lending.services.products import product_line_check
from merchants.models import Merchant


@transaction.atomic
def credit_line_open(
    *,
    merchant: Merchant,
    product: Product,
    limit_fen: int,
    daily_rate: Decimal,
    grade: str,
    actor: str,
    reason: str,
    on: dt.date,
    expires_on: dt.date | None = None,
    term: int | None = None,
    video_checked_at: dt.datetime | None = None,
) -> CreditLine:
    """Grant a line within the product's limits; one open line per merchant and product. A
    product that needs a video check lends on the line only once `video_checked_at` is set (by
    the application whose video check passed)."""
    product_line_check(product=product, limit_fen=limit_fen, daily_rate=daily_rate)
    errors = {}
    if not product.amount_min_fen <= limit_fen <= product.amount_max_fen:
        errors["limit_fen"] = [
            f"must be within the product's range {product.amount_min_fen}–{product.amount_max_fen}"
        ]
    if daily_rate < 0:
        errors["daily_rate"] = ["must not be negative"]
    if merchant.status != Merchant.Status.ACTIVE:
        errors["merchant"] = [f"a {merchant.status} shop cannot be granted credit"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], {"fields": errors})
    if (
        CreditLine.objects.filter(merchant=merchant, product=product)
        .exclude(status=CreditLine.Status.CLOSED)
        .exists()
    ):
        raise ConflictError(
            "the merchant already has an open line for this product",
            {"fields": {"product": ["an open line exists"]}},
        )
    today = on
    line = CreditLine.objects.create(
        merchant=merchant,
        product=product,
        limit_fen=limit_fen,
        daily_rate=daily_rate,
        grade=grade,
        opened_on=today,
        expires_on=expires_on or today + dt.timedelta(days=365),
        term=term,
        video_checked_at=video_checked_at,
    )
    lifecycle.start(lifecycle.LINE, row=line, event="opened", business_on=today, actor=actor, reason=reason)
    return line


def _line_move(
    *, line: CreditLine, event: str, actor: str, reason: str, on: dt.date, reasons: list | None = None
) -> CreditLine:
    with transaction.atomic():
        lifecycle.transition(
            lifecycle.LINE,
            pk=line.pk,
            event=event,
            business_on=on,
            actor=actor,
            reason=reason,
            reasons=reasons,
        )
        return CreditLine.objects.get(pk=line.pk)


def credit_line_freeze(
    *, line: CreditLine, actor: str, reason: str, on: dt.date, reasons: list | None = None
) -> CreditLine:
    """Stop new drawdowns (existing loans run on). `reasons`: why, as stored reasons
    (common.texts), read in the reader's language."""
    return _line_move(line=line, event="frozen", actor=actor, reason=reason, on=on, reasons=reasons)


def credit_line_unfreeze(*, line: CreditLine, actor: str, reason: str, on: dt.date) -> CreditLine:
    """Allow drawdowns again."""
    return _line_move(line=line, event="unfrozen", actor=actor, reason=reason, on=on)


def credit_line_close(*, line: CreditLine, actor: str, reason: str, on: dt.date) -> CreditLine:
    """Close a line for good; only when nothing is drawn on it. The check and the move hold the
    line's row lock: a drawdown at the same moment either lands first (and the close is refused)
    or waits and finds the line closed."""
    with transaction.atomic():
        if CreditLine.objects.select_for_update().only("used_fen").get(pk=line.pk).used_fen > 0:
            raise ConflictError(
                _("a line with money drawn cannot be closed"), {"fields": {"status": ["drawn"]}}
            )
        return _line_move(line=line, event="closed", actor=actor, reason=reason, on=on)


def credit_line_change_terms(
    *,
    line: CreditLine,
    limit_fen: int,
    daily_rate: Decimal,
    grade: str,
    actor: str,
    reason: str,
    on: dt.date,
    expires_on: dt.date | None = None,
    reasons: list | None = None,
) -> CreditLine:
    """New terms for an open line (a re-rating, an accepted offer): limit within the product's
    range and never below what is drawn; the rate applies to drawdowns from now on (each loan
    keeps the rate of its own contract). Recorded with before and after."""
    with transaction.atomic():
        current = CreditLine.objects.select_for_update().select_related("product").get(pk=line.pk)
        product = current.product
        errors = {}
        if current.status == CreditLine.Status.CLOSED:
            raise ConflictError("a closed line cannot be changed", {"fields": {"status": ["closed"]}})
        if not product.amount_min_fen <= limit_fen <= product.amount_max_fen:
            errors["limit_fen"] = [
                f"must be within the product's range {product.amount_min_fen}–{product.amount_max_fen}"
            ]
        elif limit_fen < current.used_fen:
            errors["limit_fen"] = [f"must not be below the {current.used_fen} fen drawn on the line"]
        if daily_rate < 0:
            errors["daily_rate"] = ["must not be negative"]
        if expires_on is not None and expires_on < on:
            errors["expires_on"] = ["must not be in the past"]
        if errors:
            raise ApplicationError(next(iter(errors.values()))[0], {"fields": errors})
        before = lifecycle.line_snapshot(current)
        current.limit_fen = limit_fen
        current.daily_rate = daily_rate
        current.grade = grade
        if expires_on is not None:
            current.expires_on = expires_on
        current.save(update_fields=["limit_fen", "daily_rate", "grade", "expires_on", "updated_at"])
        CreditLineChange.objects.create(
            line=current,
            kind="terms changed",
            business_on=on,
            before=before,
            after=lifecycle.line_snapshot(current),
            actor=actor,
            reason=reason,
            reasons=reasons or [],
        )
    return current


def _draw_refusal(line: CreditLine, amount_fen: int) -> tuple[str, str] | None:
    """Why no money may move on this line now, whichever door asked (draw_refusal), read under
    the merchant's row lock."""
    merchant = Merchant.objects.select_for_update().get(pk=line.merchant_id)
    return draw_refusal(
        line=line,
        amount_fen=amount_fen,
        merchant_status=merchant.status,
        line_status=lambda: CreditLine.objects.filter(pk=line.pk).values_list("status", flat=True).first(),
        exposure=lambda: merchant_exposure(merchant_id=line.merchant_id),
    )


def draw_refusal(
    *,
    line: CreditLine,
    amount_fen: int,
    merchant_status: str,
    line_status: Callable[[], str | None],
    exposure: Callable[[], Exposure],
) -> tuple[str, str] | None:
    """Why no money may move on this line now: a shop that is not active, a product that needs a
    passed video check before any drawdown, or a merchant whose drawn principal on all its lines
    would pass its one limit (the largest of its active lines; a frozen line's limit grants
    nothing). The line's status and the exposure are read only when the earlier checks pass
    (one drawdown reads them from the database, many at once from what they have locked)."""
    if merchant_status != Merchant.Status.ACTIVE:
        return "line", _("the shop is %(status)s: no drawdown is possible") % {"status": merchant_status}
    if line.product.needs_video_check and line.video_checked_at is None:
        return "line", _("no money moves before an officer has passed the video check")
    status = line_status()
    if status != CreditLine.Status.ACTIVE:
        return "line", _("the line is %(status)s: no drawdown is possible") % {
            "status": str(CreditLine.Status(status).label).lower() if status else "gone"
        }
    limit, used = exposure()
    if used + amount_fen > limit:
        return "amount", (
            _(
                "only %(available)s yuan is available under the merchant's one limit of %(limit)s yuan "
                "(%(used)s yuan drawn across its lines)"
            )
            % {
                "available": format_yuan(max(limit - used, 0)),
                "limit": format_yuan(limit),
                "used": format_yuan(used),
            }
        )
    return None


def draw_refused(field: str, reason: str, amount_fen: int) -> ApplicationError:
    return ApplicationError(
        _("cannot draw %(amount)s yuan: %(reason)s") % {"amount": format_yuan(amount_fen), "reason": reason},
        {"fields": {field: [reason]}},
    )


def room_refusal(current: CreditLine, amount_fen: int, on: dt.date) -> str | None:
    """Why the line itself cannot take the amount on `on` (what credit_line_draw's conditional
    UPDATE holds it to), read from the line's current row."""
    if current.status != CreditLine.Status.ACTIVE:
        return _("the line is %(status)s") % {"status": str(CreditLine.Status(current.status).label).lower()}
    if current.expires_on < on:
        return _("the line expired on %(date)s") % {"date": current.expires_on}
    if current.used_fen > current.limit_fen - amount_fen:
        return _("only %(available)s yuan of the line is available") % {
            "available": format_yuan(current.available_fen)
        }
    return None


def credit_line_draw(*, line: CreditLine, amount_fen: int, on: dt.date) -> None:
    """Use part of a line. The merchant's row lock serialises drawdowns across its lines (one
    limit per merchant); one conditional UPDATE keeps the line itself within its limit."""
    today = on
    refusal = _draw_refusal(line, amount_fen)
    if refusal is not None:
        raise draw_refused(*refusal, amount_fen)
    updated = CreditLine.objects.filter(
        pk=line.pk,
        status=CreditLine.Status.ACTIVE,
        expires_on__gte=today,
        used_fen__lte=F("limit_fen") - amount_fen,
    ).update(used_fen=F("used_fen") + amount_fen)
    if updated != 1:
        current = CreditLine.objects.get(pk=line.pk)
        reason = room_refusal(current, amount_fen, today) or _(
            "only %(available)s yuan of the line is available"
        ) % {"available": format_yuan(current.available_fen)}
        raise draw_refused("amount", reason, amount_fen)


def credit_line_restore(*, line_id: int, amount_fen: int) -> None:
    """Principal repaid makes the line available again."""
    CreditLine.objects.filter(pk=line_id).update(used_fen=F("used_fen") - amount_fen)
