"""Reads. Everything a partner reads is scoped to that partner here."""

import datetime as dt

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from common.errors import NotFoundError
from merchants.models import Merchant, Order, OrderStatus, PartnerPlatform


def merchant_list(*, partner: PartnerPlatform) -> QuerySet[Merchant]:
    return Merchant.objects.filter(partner=partner).select_related("owner").order_by("id")


def merchant_get(*, partner: PartnerPlatform, external_id: str) -> Merchant:
    merchant = merchant_list(partner=partner).filter(external_id=external_id).first()
    if merchant is None:
        raise NotFoundError(f"no merchant {external_id!r}")
    return merchant


def order_get(*, partner: PartnerPlatform, external_id: str) -> Order:
    order = Order.objects.filter(partner=partner, external_id=external_id).select_related("merchant").first()
    if order is None:
        raise NotFoundError(f"no order {external_id!r}")
    return order


def merchant_recent_orders(*, merchant: Merchant, limit: int = 20) -> QuerySet[Order]:
    return merchant.orders.order_by("-placed_at")[:limit]


def merchant_sales_by_day(*, merchant: Merchant, since: dt.datetime) -> list[dict]:
    """Orders placed per day (count and amount), cancelled orders left out."""
    return list(
        merchant.orders.filter(placed_at__gte=since)
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(day=TruncDate("placed_at"))
        .values("day")
        .annotate(orders=Count("id"), amount_fen=Sum("amount_fen"))
        .order_by("day")
    )


def merchant_orders_by_status(*, merchant: Merchant) -> dict[str, int]:
    rows = merchant.orders.values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
