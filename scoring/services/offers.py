"""Pre-approved offers: the top of the ranking are offered a line before they ask, as
many as the risk manager's acceptance-rate target and the funding capacity allow. An accepted
offer becomes a credit line through lending's services, once."""

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import ApplicationError, ConflictError
from common.money import fen_to_yuan
from lending import services as lending
from lending.models import CreditLine, Product
from merchants.models import Merchant
from merchants.webhooks.models import EventType
from merchants.webhooks.services import merchant_events_emit
from payments.selectors import funding_capacity_fen
from scoring import calculations as calc
from scoring.models import MerchantScore, Offer, ScoringPolicy
from scoring.selectors import policy_get
from scoring.services.rating import rate_within_cap

SYSTEM_ACTOR = "scoring offers"
BATCH = 1000


def _open_offers_fen() -> int:
    return int(Offer.objects.filter(status=Offer.Status.ISSUED).aggregate(s=Sum("line_fen"))["s"] or 0)


def _eligible_count() -> int:
    return MerchantScore.objects.filter(is_current=True, merchant__status=Merchant.Status.ACTIVE).count()


def _ranked(merchant_ids: list[int] | None) -> Iterator[tuple]:
    rows = MerchantScore.objects.filter(
        is_current=True, rank__isnull=False, merchant__status=Merchant.Status.ACTIVE
    )
    if merchant_ids is not None:
        rows = rows.filter(merchant_id__in=merchant_ids)
    # Only the per-product terms of the components (not the reasons and words): less to read.
    columns = ("pk", "merchant_id", "grade", "rank", "components__products")
    yield from rows.order_by("rank").values_list(*columns).iterator(chunk_size=BATCH)


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _open_lines(merchant_ids: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """(merchant, product) -> (limit, used) of the open lines of these merchants."""
    rows = (
        CreditLine.objects.filter(merchant_id__in=merchant_ids)
        .exclude(status=CreditLine.Status.CLOSED)
        .values_list("merchant_id", "product_id", "limit_fen", "used_fen")
    )
    return {(m, p): (limit, used) for m, p, limit, used in rows}


def _offerable(line_fen: int, existing: tuple[int, int] | None) -> bool:
    """A product is offered when the merchant has no open line for it, or one smaller than the
    offer (accepting raises it, whatever is drawn on it)."""
    if line_fen <= 0:
        return False
    return existing is None or existing[0] < line_fen


def _issue(*, as_of: dt.date, policy: ScoringPolicy, merchant_ids: list[int] | None) -> int:
    expires_on = as_of + dt.timedelta(days=policy.offer_valid_days)
    quota = math.floor(Decimal(_eligible_count()) * policy.acceptance_rate_target)
    budget = math.floor(Decimal(funding_capacity_fen()) * policy.capacity_share) - _open_offers_fen()
    with_offers = set(Offer.objects.filter(status=Offer.Status.ISSUED).values_list("merchant_id", flat=True))
    products = {p.pk: p for p in Product.objects.filter(is_active=True)}
    created = 0
    for batch in _batches(_ranked(merchant_ids), BATCH):
        lines = _open_lines([row[1] for row in batch])
        new: list[Offer] = []
        for score_id, merchant_id, grade, rank, lines_offered in batch:
            if rank > quota or budget <= 0:
                break
            if merchant_id in with_offers or not calc.grade_within_cutoff(grade, policy.cutoff_grade):
                continue
            for _code, terms in sorted((lines_offered or {}).items()):
                product = products.get(terms.get("product_id"))
                line_fen = int(terms.get("line_fen") or 0)
                if product is None or not _offerable(line_fen, lines.get((merchant_id, product.pk))):
                    continue
                if line_fen > budget:
                    continue
                new.append(
                    Offer(
                        merchant_id=merchant_id,
                        product=product,
                        score_id=score_id,
                        line_fen=line_fen,
                        daily_rate=Decimal(terms["daily_rate"]),
                        grade=grade,
                        rank=rank,
                        issued_on=as_of,
                        expires_on=expires_on,
                    )
                )
                budget -= line_fen
                with_offers.add(merchant_id)
        Offer.objects.bulk_create(new)
        _offers_emit(new)
        created += len(new)
        if budget <= 0 or (batch and batch[-1][3] >= quota):
            break
    return created


def _offers_emit(offers: list[Offer]) -> None:
    """offer.created to each merchant's partner, in bulk, in the transaction issuing them."""
    merchant_events_emit(
        type=EventType.OFFER_CREATED,
        items=[
            (
                o.merchant_id,
                o.issued_on,
                {
                    "offer": o.pk,
                    "product": o.product.code,
                    "line": str(fen_to_yuan(o.line_fen)),
                    "daily_rate": str(o.daily_rate),
                    "grade": o.grade,
                    "issued_on": o.issued_on.isoformat(),
                    "expires_on": o.expires_on.isoformat(),
                },
            )
            for o in offers
        ],
    )


@transaction.atomic
def offers_issue(*, as_of: dt.date) -> int:
    """Expire offers past their date, withdraw those of merchants now below the cut-off grade,
    then offer lines to the best-ranked merchants without one: no more merchants than the
    acceptance-rate target × rated merchants, no more money than the funding pools' capacity ×
    the policy's share. Idempotent per date. Returns the offers issued."""
    policy = policy_get()
    now = timezone.now()
    Offer.objects.filter(status=Offer.Status.ISSUED, expires_on__lt=as_of).update(
        status=Offer.Status.EXPIRED, decided_at=now, decided_by=SYSTEM_ACTOR
    )
    worse = [g for g in calc.GRADES if not calc.grade_within_cutoff(g, policy.cutoff_grade)]
    stale = MerchantScore.objects.filter(is_current=True, grade__in=worse).values("merchant_id")
    inactive = Merchant.objects.exclude(status=Merchant.Status.ACTIVE).values("pk")
    Offer.objects.filter(status=Offer.Status.ISSUED).filter(merchant_id__in=stale).update(
        status=Offer.Status.WITHDRAWN, decided_at=now, decided_by=SYSTEM_ACTOR
    )
    Offer.objects.filter(status=Offer.Status.ISSUED, merchant_id__in=inactive).update(
        status=Offer.Status.WITHDRAWN, decided_at=now, decided_by=SYSTEM_ACTOR
    )
    return _issue(as_of=as_of, policy=policy, merchant_ids=None)


@transaction.atomic
def offers_issue_for_merchant(*, merchant: Merchant, as_of: dt.date) -> list[Offer]:
    """The same rules for one merchant that has just been rated (a merchant asking for credit):
    an offer when its rank is within the acceptance target and capacity allows."""
    _issue(as_of=as_of, policy=policy_get(), merchant_ids=[merchant.pk])
    return list(Offer.objects.filter(merchant=merchant, status=Offer.Status.ISSUED).select_related("product"))


def offer_accept(*, offer: Offer, actor: str, on: dt.date) -> CreditLine:
    """Open the offered line through lending (grade, rate, limit), or give the merchant's open
    line for the product the offer's terms. Accepting twice returns the same line."""
    today = on
    with transaction.atomic():
        current = (
            Offer.objects.select_for_update()
            .select_related("product", "merchant")
            .filter(pk=offer.pk)
            .first()
        )
        if current is None:
            raise ApplicationError("no such offer", {"fields": {"offer": ["not found"]}})
        if current.status == Offer.Status.ACCEPTED:
            return current.credit_line
        if current.status != Offer.Status.ISSUED:
            raise ConflictError(
                f"this offer was {current.status} and can no longer be accepted",
                {"fields": {"offer": [f"{current.status}"]}},
            )
        if current.expires_on < today:
            raise ApplicationError(
                f"this offer expired on {current.expires_on}", {"fields": {"offer": ["expired"]}}
            )
        product = current.product
        if product.needs_video_check:
            raise ApplicationError(
                _(
                    "This offer is taken up by an application: submit one and book the video "
                    "interview, which comes before the line"
                ),
                {"fields": {"offer": ["apply for it: a video check is needed"]}},
            )
        existing = (
            CreditLine.objects.select_for_update()
            .filter(merchant=current.merchant, product=product)
            .exclude(status=CreditLine.Status.CLOSED)
            .first()
        )
        reason = f"pre-approved offer {current.pk} accepted (grade {current.grade}, rank {current.rank})"
        daily_rate = rate_within_cap(product=product, daily_rate=current.daily_rate)
        if existing is not None:
            line = lending.credit_line_change_terms(
                line=existing,
                limit_fen=current.line_fen,
                daily_rate=daily_rate,
                grade=current.grade,
                actor=actor,
                reason=reason,
                on=today,
                expires_on=max(existing.expires_on, today + dt.timedelta(days=365)),
            )
        else:
            line = lending.credit_line_open(
                merchant=current.merchant,
                product=product,
                limit_fen=current.line_fen,
                daily_rate=daily_rate,
                grade=current.grade,
                actor=actor,
                reason=reason,
                on=today,
            )
        current.status = Offer.Status.ACCEPTED
        current.credit_line = line
        current.decided_at = timezone.now()
        current.decided_by = actor
        current.save(update_fields=["status", "credit_line", "decided_at", "decided_by"])
    return line


def offer_decline(*, offer: Offer, actor: str) -> Offer:
    """The merchant says no; declining twice is a no-op, an offer already decided stays as it is."""
    with transaction.atomic():
        updated = Offer.objects.filter(pk=offer.pk, status=Offer.Status.ISSUED).update(
            status=Offer.Status.DECLINED, decided_at=timezone.now(), decided_by=actor
        )
        current = Offer.objects.get(pk=offer.pk)
        if not updated and current.status not in (Offer.Status.DECLINED,):
            raise ConflictError(
                f"this offer was {current.status} and can no longer be declined",
                {"fields": {"offer": [current.status]}},
            )
    return current


def offer_withdraw(*, offer: Offer, actor: str, reason: str) -> Offer:
    """A risk manager takes back an open offer (compare-and-set: only an issued one)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("withdrawing an offer needs a reason", {"fields": {"reason": ["required"]}})
    with transaction.atomic():
        updated = Offer.objects.filter(pk=offer.pk, status=Offer.Status.ISSUED).update(
            status=Offer.Status.WITHDRAWN, decided_at=timezone.now(), decided_by=f"{actor}: {reason}"[:100]
        )
        current = Offer.objects.get(pk=offer.pk)
        if not updated:
            raise ConflictError(
                f"this offer was {current.status} and cannot be withdrawn",
                {"fields": {"offer": [current.status]}},
            )
    return current
