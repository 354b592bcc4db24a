"""The facts of one chunk of merchants on one business date, read set-based: a fixed handful of
queries whatever the number of merchants (daily trading aggregates, loans, pledge refunds, the
signals partners send — logistics, verifications, the shop's status on its platform — and the
defaults among each merchant's neighbours in the relationship network)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Max, Q, Sum

from lending.models import CreditLine, Loan, LoanEvent
from merchants.models import LogisticsEvent, Merchant, Verification
from merchants.partner_signals import merchant_platform_status
from riskcontrol.monitoring import rules
from riskcontrol.network.selectors import defaulted_neighbours
from scoring.models import MerchantDay

OPEN_LOAN = (Loan.Status.ACTIVE, Loan.Status.OVERDUE)


# --- which merchants, in which chunks -----------------------------------------------------------


def _exposed_ids(*, low: int | None = None, high: int | None = None) -> list[int]:
    """Merchants with an open loan, a line not closed, or a written-off loan while still active."""
    loans = Loan.objects.filter(
        Q(status__in=OPEN_LOAN) | Q(status=Loan.Status.WRITTEN_OFF, merchant__status=Merchant.Status.ACTIVE)
    )
    lines = CreditLine.objects.exclude(status=CreditLine.Status.CLOSED)
    if low is not None:
        loans = loans.filter(merchant_id__gte=low, merchant_id__lte=high)
        lines = lines.filter(merchant_id__gte=low, merchant_id__lte=high)
    ids = set(loans.values_list("merchant_id", flat=True).distinct())
    ids.update(lines.values_list("merchant_id", flat=True).distinct())
    return sorted(ids)


def _bounds(ids: list[int], size: int) -> list[list[int]]:
    return [[ids[i], ids[min(i + size, len(ids)) - 1]] for i in range(0, len(ids), size)]


# --- the facts of one chunk, set-based ----------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    on: dt.date
    recent_from: dt.date
    baseline_from: dt.date
    diversion_from: dt.date

    @classmethod
    def of(cls, on: dt.date, t: rules.Thresholds) -> "Windows":
        recent_from = on - dt.timedelta(days=t.recent_days - 1)
        return cls(
            on=on,
            recent_from=recent_from,
            baseline_from=recent_from - dt.timedelta(days=t.baseline_days),
            diversion_from=on - dt.timedelta(days=t.diversion_days - 1),
        )


def defaulter_ids(*, on: dt.date, t: rules.Thresholds) -> set[int]:
    """Merchants in default on `on`: an open loan `default_dpd` or more days past due, or a loan
    written off in the last `linked_default_days` days."""
    late = Loan.objects.filter(status__in=OPEN_LOAN, days_past_due__gte=t.default_dpd)
    written_off = LoanEvent.objects.filter(
        kind=LoanEvent.Kind.WRITTEN_OFF,
        business_on__gt=on - dt.timedelta(days=t.linked_default_days),
        business_on__lte=on,
    )
    ids = set(late.values_list("merchant_id", flat=True).distinct())
    ids.update(written_off.values_list("loan__merchant_id", flat=True).distinct())
    return ids


def facts_of_range(*, low: int, high: int, on: dt.date, t: rules.Thresholds) -> dict[int, rules.Facts]:
    """The facts of every exposed merchant with an id in [low, high] on `on`: a fixed handful of
    queries (the network's are over the defaulters' neighbourhoods, not over the chunk)."""
    ids = _exposed_ids(low=low, high=high)
    if not ids:
        return {}
    w = Windows.of(on, t)
    in_range = {"merchant_id__gte": low, "merchant_id__lte": high}
    recent = Q(business_on__gte=w.recent_from)
    baseline = Q(business_on__lt=w.recent_from)
    diversion = Q(business_on__gte=w.diversion_from)
    days = {
        row["merchant_id"]: row
        for row in MerchantDay.objects.filter(
            **in_range, business_on__gte=w.baseline_from, business_on__lte=on
        )
        .values("merchant_id")
        .annotate(
            sales_recent=Sum("paid_fen", filter=recent),
            sales_baseline=Sum("paid_fen", filter=baseline),
            orders_recent=Sum("paid_count", filter=recent),
            orders_baseline=Sum("paid_count", filter=baseline),
            refunds_recent=Sum("refund_count", filter=recent),
            refunds_baseline=Sum("refund_count", filter=baseline),
            complaints_recent=Sum("complaint_count", filter=recent),
            complaints_baseline=Sum("complaint_count", filter=baseline),
            ratings_recent=Sum("rating_count", filter=recent),
            low_ratings_recent=Sum("rating_low_count", filter=recent),
            ratings_baseline=Sum("rating_count", filter=baseline),
            low_ratings_baseline=Sum("rating_low_count", filter=baseline),
            withdrawn=Sum(F("wallet_out_fen") - F("loan_out_fen"), filter=diversion),
            income=Sum(F("wallet_in_fen") - F("loan_in_fen"), filter=diversion),
            withdrawal_days=Count("pk", filter=diversion & Q(wallet_out_fen__gt=F("loan_out_fen"))),
            last_order_on=Max("business_on", filter=Q(placed_count__gt=0)),
        )
    }
    loans = {
        row["merchant_id"]: row
        for row in Loan.objects.filter(**in_range)
        .filter(
            Q(status__in=OPEN_LOAN)
            | Q(status=Loan.Status.WRITTEN_OFF)
            | Q(disbursed_on__gte=w.diversion_from)
        )
        .values("merchant_id")
        .annotate(
            dpd=Max("days_past_due", filter=Q(status__in=OPEN_LOAN)),
            open=Count("pk", filter=Q(status__in=OPEN_LOAN)),
            written_off=Count("pk", filter=Q(status=Loan.Status.WRITTEN_OFF)),
            drawn=Sum("principal_fen", filter=Q(disbursed_on__gte=w.diversion_from, disbursed_on__lte=on)),
        )
    }
    pledges = dict(
        LoanEvent.objects.filter(
            loan__merchant_id__gte=low,
            loan__merchant_id__lte=high,
            kind=LoanEvent.Kind.PLEDGE_REFUNDED,
            business_on__gte=w.diversion_from,
            business_on__lte=on,
        )
        .values("loan__merchant_id")
        .annotate(n=Count("pk"))
        .values_list("loan__merchant_id", "n")
    )
    opened = dict(Merchant.objects.filter(pk__in=ids).values_list("pk", "opened_on"))
    parcels = dict(
        LogisticsEvent.objects.filter(
            **in_range,
            kind__in=LogisticsEvent.FAILED_KINDS,
            occurred_at__date__gte=w.recent_from,
            occurred_at__date__lte=on,
        )
        .values("merchant_id")
        .annotate(n=Count("pk"))
        .values_list("merchant_id", "n")
    )
    failed_checks = dict(
        Verification.objects.filter(
            **in_range, result=Verification.Result.FAILED, checked_on__gte=w.recent_from, checked_on__lte=on
        )
        .values("merchant_id")
        .annotate(n=Count("pk"))
        .values_list("merchant_id", "n")
    )
    platform = merchant_platform_status(ids)
    linked = defaulted_neighbours(ids, defaulters=defaulter_ids(on=on, t=t))
    out = {}
    for merchant_id in ids:
        day = days.get(merchant_id, {})
        loan = loans.get(merchant_id, {})
        last = day.get("last_order_on")
        out[merchant_id] = rules.Facts(
            drawn_recent_fen=loan.get("drawn") or 0,
            withdrawn_recent_fen=max(day.get("withdrawn") or 0, 0),
            sales_recent_fen=day.get("sales_recent") or 0,
            sales_baseline_fen=day.get("sales_baseline") or 0,
            orders_recent=day.get("orders_recent") or 0,
            orders_baseline=day.get("orders_baseline") or 0,
            refunds_recent=day.get("refunds_recent") or 0,
            refunds_baseline=day.get("refunds_baseline") or 0,
            complaints_recent=day.get("complaints_recent") or 0,
            complaints_baseline=day.get("complaints_baseline") or 0,
            days_since_last_order=(on - last).days if last else None,
            history_days=(on - opened[merchant_id]).days + 1,
            pledges_refunded_recent=pledges.get(merchant_id, 0),
            days_past_due=loan.get("dpd") or 0,
            is_written_off=bool(loan.get("written_off")),
            logistics_failed_recent=parcels.get(merchant_id, 0),
            ratings_recent=day.get("ratings_recent") or 0,
            low_ratings_recent=day.get("low_ratings_recent") or 0,
            ratings_baseline=day.get("ratings_baseline") or 0,
            low_ratings_baseline=day.get("low_ratings_baseline") or 0,
            verifications_failed_recent=failed_checks.get(merchant_id, 0),
            platform_status=platform.get(merchant_id, ""),
            income_recent_fen=max(day.get("income") or 0, 0),
            withdrawal_days_recent=day.get("withdrawal_days") or 0,
            has_open_loan=bool(loan.get("open")),
            linked_defaults=len(linked.get(merchant_id, {})),
            linked_default_kinds=tuple(
                sorted({k for kinds in linked.get(merchant_id, {}).values() for k in kinds})
            ),
        )
    return out
