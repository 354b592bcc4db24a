"""Scoring's reads: the champion, the policy, a merchant's current rating and open offers."""

import datetime as dt

from django.db.models import QuerySet

from common.errors import NotFoundError
from merchants.models import Merchant
from scoring.models import MerchantScore, Offer, ScoringModel, ScoringPolicy


def policy_get() -> ScoringPolicy:
    """The scoring policy (one row, created with its defaults on first read)."""
    policy, _ = ScoringPolicy.objects.get_or_create(pk=1)
    return policy


def champion_get() -> ScoringModel | None:
    return ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION).first()


def model_get(*, ref: str) -> ScoringModel:
    """A model by version, or "latest" (last trained) or "champion"; NotFoundError naming it."""
    if ref == "champion":
        model = champion_get()
        if model is None:
            raise NotFoundError("there is no champion model yet", {"fields": {"model": ["no champion"]}})
        return model
    if ref == "latest":
        model = ScoringModel.objects.order_by("-trained_at", "-pk").first()
        if model is None:
            raise NotFoundError("no model has been trained yet", {"fields": {"model": ["no models"]}})
        return model
    model = ScoringModel.objects.filter(version=ref).first()
    if model is None:
        known = list(ScoringModel.objects.order_by("-trained_at").values_list("version", flat=True)[:5])
        hint = f"; known versions: {', '.join(known)}" if known else "; no model has been trained yet"
        raise NotFoundError(f"unknown model {ref!r}{hint}", {"fields": {"model": [f"unknown model {ref!r}"]}})
    return model


def score_current(*, merchant: Merchant) -> MerchantScore | None:
    return MerchantScore.objects.filter(merchant=merchant, is_current=True).select_related("model").first()


def offers_open_of_merchant(*, merchant: Merchant, on: dt.date) -> QuerySet[Offer]:
    """Offers the merchant may still accept: issued and not past their expiry date."""
    return (
        Offer.objects.filter(merchant=merchant, status=Offer.Status.ISSUED, expires_on__gte=on)
        .select_related("product")
        .order_by("product__code")
    )


def offer_get_for_merchant(*, merchant: Merchant, offer_id: int) -> Offer:
    offer = Offer.objects.filter(merchant=merchant, pk=offer_id).select_related("product").first()
    if offer is None:
        raise NotFoundError("no such offer", {"fields": {"offer": ["not found"]}})
    return offer


def merchant_id_ranges(*, size: int, is_active_only: bool = False) -> list[tuple[int, int]]:
    """Merchant ids cut into ranges of `size` merchants each: (first id, last id) of each keyset
    page, in id order. A nightly run freezes these when it starts, so a rerun or another worker
    covers exactly the same merchants in each chunk; memory follows one page, not the merchants."""
    merchants = Merchant.objects.all()
    if is_active_only:
        merchants = merchants.filter(status=Merchant.Status.ACTIVE)
    ranges: list[tuple[int, int]] = []
    after = 0
    while True:
        ids = list(merchants.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return ranges
        ranges.append((ids[0], ids[-1]))
        after = ids[-1]
