"""The assembly-line (operations) screen's figures: read-only selectors over the decision record
(ApplicationStage) and the applications, and the pure maths they need.

Everything is an aggregate query grouped by stage, day, product or grade; nothing loops over all
rows in Python. The one exception is the dwell-time percentiles on SQLite, which has no
percentile_cont: there the durations of the window's rows are read (at most
DWELL_FALLBACK_MAX_ROWS, the newest) and `percentile_cont` below computes the same linear
interpolation PostgreSQL does."""

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Prefetch, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lending import pipeline
from lending.models import (
    Application,
    ApplicationStage,
    CreditLine,
    FieldInspection,
    VideoInterview,
    product_label,
)

DWELL_WINDOW_DAYS = 30
THROUGHPUT_DAYS = 14
RATES_WINDOW_DAYS = 30
# SQLite fallback: the newest rows of the window read for the percentiles.
DWELL_FALLBACK_MAX_ROWS = 50_000
# The seed's staffing target: one loan officer looks after a thousand firms.
MERCHANTS_PER_OFFICER_TARGET = 1000
APPROVED = (Application.Status.APPROVED, Application.Status.DISBURSED)
# A merchant is looked after while it has an application not yet settled or an open line.
LOOKED_AFTER_APPLICATIONS = (
    Application.Status.SUBMITTED,
    Application.Status.REFERRED,
    Application.Status.APPROVED,
)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """The continuous percentile of PostgreSQL's percentile_cont: the value at position
    fraction × (n − 1) of the sorted values, interpolated linearly between its neighbours."""
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must lie between 0 and 1")
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])  # float ok: seconds of dwell, not money
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))  # float ok: seconds


def stage_order() -> list[tuple[str, str, str]]:
    """Every configured stage, as (name, kind, title), in pipeline order across the kinds of
    product: a stage appears where it first appears, and a stage met only in a later pipeline
    comes right after the stage it follows there."""
    order: list[str] = []
    for names in settings.CREDIT_PIPELINE.values():
        previous = None
        for name in names:
            if name not in order:
                at = order.index(previous) + 1 if previous in order else len(order)
                order.insert(at, name)
            previous = name
    rows = []
    for name in order:
        stage = pipeline.stage_load(name)
        rows.append((name, stage.kind, getattr(stage, "title", name.rsplit(".", 1)[-1])))
    return rows


def _dwell_postgres(now: dt.datetime, since: dt.datetime) -> dict[str, tuple[float, float, int]]:
    sql = """
        SELECT name,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds),
               count(*)
        FROM (
            SELECT name, EXTRACT(EPOCH FROM (COALESCE(ended_at, %s) - started_at)) AS seconds
            FROM lending_applicationstage
            WHERE ended_at >= %s OR (ended_at IS NULL AND status = %s)
        ) AS dwell
        GROUP BY name
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, since, ApplicationStage.Status.WAITING])
        rows = cursor.fetchall()
        return {name: (float(p50), float(p90), n) for name, p50, p90, n in rows}  # float ok: dwell seconds


def _dwell_fallback(now: dt.datetime, since: dt.datetime) -> dict[str, tuple[float, float, int]]:
    rows = (
        ApplicationStage.objects.filter(
            Q(ended_at__gte=since) | Q(ended_at__isnull=True, status=ApplicationStage.Status.WAITING)
        )
        .order_by("-started_at")
        .values_list("name", "started_at", "ended_at")[:DWELL_FALLBACK_MAX_ROWS]
    )
    seconds: dict[str, list[float]] = {}
    for name, started_at, ended_at in rows:
        # float ok: seconds of dwell (a duration), not money
        seconds.setdefault(name, []).append(((ended_at or now) - started_at).total_seconds())
    return {
        name: (percentile_cont(values, 0.5), percentile_cont(values, 0.9), len(values))
        for name, values in seconds.items()
    }


def dwell_by_stage(*, now: dt.datetime) -> dict[str, tuple[float, float, int]]:
    """Per stage: median and 90th-percentile dwell in seconds (ended_at − started_at of the rows
    ended in the last DWELL_WINDOW_DAYS; a waiting one counts now − started_at) and how many rows."""
    since = now - dt.timedelta(days=DWELL_WINDOW_DAYS)
    if connection.vendor == "postgresql":
        return _dwell_postgres(now, since)
    return _dwell_fallback(now, since)


def waiting_by_stage(*, now: dt.datetime) -> dict[str, tuple[int, int]]:
    """Per stage: cases waiting for a person now, and how many of them are past their time limit."""
    rows = (
        ApplicationStage.objects.filter(status=ApplicationStage.Status.WAITING)
        .values("name")
        .annotate(waiting=Count("pk"), late=Count("pk", filter=Q(due_at__lt=now)))
    )
    return {row["name"]: (row["waiting"], row["late"]) for row in rows}


def throughput_by_stage(*, now: dt.datetime) -> tuple[list[dt.date], dict[str, dict[dt.date, int]]]:
    """Stages ended per day over the last THROUGHPUT_DAYS days (today included), per stage."""
    today = timezone.localdate(now)
    days = [today - dt.timedelta(days=n) for n in range(THROUGHPUT_DAYS - 1, -1, -1)]
    # From the first day's local midnight: a range on ended_at that its index serves (the local
    # date of every row, `ended_at__date`, is computed over the whole table).
    since = timezone.make_aware(dt.datetime.combine(days[0], dt.time.min), timezone.get_current_timezone())
    rows = (
        ApplicationStage.objects.filter(ended_at__gte=since)
        .annotate(day=TruncDate("ended_at"))
        .values("name", "day")
        .annotate(ended=Count("pk"))
    )
    per_stage: dict[str, dict[dt.date, int]] = {}
    for row in rows:
        per_stage.setdefault(row["name"], {})[row["day"]] = row["ended"]
    return days, per_stage


@dataclass
class StageFigures:
    name: str
    kind: str
    title: str
    waiting: int = 0
    late: int = 0
    dwell_median_seconds: float | None = None
    dwell_p90_seconds: float | None = None
    dwell_rows: int = 0
    ended_per_day: list[int] = field(default_factory=list)

    @property
    def ended_total(self) -> int:
        return sum(self.ended_per_day)


def stage_figures(*, now: dt.datetime) -> tuple[list[dt.date], list[StageFigures]]:
    """The assembly line, stage by stage in pipeline order."""
    waiting = waiting_by_stage(now=now)
    dwell = dwell_by_stage(now=now)
    days, ended = throughput_by_stage(now=now)
    known = stage_order()
    names = {name for name, _, _ in known}
    # Stages no longer configured still show while they hold rows.
    for name in sorted((set(waiting) | set(dwell) | set(ended)) - names):
        known.append((name, "", name))
    figures = []
    for name, kind, title in known:
        row = StageFigures(name=name, kind=kind, title=title)
        row.waiting, row.late = waiting.get(name, (0, 0))
        if name in dwell:
            row.dwell_median_seconds, row.dwell_p90_seconds, row.dwell_rows = dwell[name]
        row.ended_per_day = [ended.get(name, {}).get(day, 0) for day in days]
        figures.append(row)
    return days, figures


def decision_rates(*, now: dt.datetime) -> list[dict]:
    """Per product, over the applications submitted in the last RATES_WINDOW_DAYS business days
    (by their business date, `submitted_on`): how many, and the shares approved (approved or paid
    out), declined, and referred to a person."""
    since = timezone.localdate(now) - dt.timedelta(days=RATES_WINDOW_DAYS)
    rows = (
        Application.objects.filter(submitted_on__gte=since)
        .values("product__code", "product__name")
        .annotate(
            total=Count("pk", distinct=True),
            approved=Count("pk", filter=Q(status__in=APPROVED), distinct=True),
            declined=Count("pk", filter=Q(status=Application.Status.DECLINED), distinct=True),
            referred=Count("pk", filter=Q(changes__kind="referred"), distinct=True),
            open=Count(
                "pk",
                filter=Q(status__in=[Application.Status.SUBMITTED, Application.Status.REFERRED]),
                distinct=True,
            ),
        )
        .order_by("product__code")
    )
    result = []
    for row in rows:
        total = row["total"]
        result.append(
            {
                "code": row["product__code"],
                "name": product_label(row["product__name"]),
                "total": total,
                "approved": row["approved"],
                "declined": row["declined"],
                "referred": row["referred"],
                "open": row["open"],
                "approval_rate": share(row["approved"], total),
                "decline_rate": share(row["declined"], total),
                "referral_rate": share(row["referred"], total),
            }
        )
    return result


def share(part: int, whole: int) -> float:
    """part / whole as a fraction for display (0 when there is no whole)."""
    return part / whole if whole else 0.0


def risk_mix() -> list[dict]:
    """Approved applications (approved or paid out) by the grade they were decided at."""
    rows = (
        Application.objects.filter(status__in=APPROVED)
        .values("decided_grade")
        .annotate(n=Count("pk"))
        .order_by("decided_grade")
    )
    total = sum(row["n"] for row in rows)
    return [
        {"grade": row["decided_grade"] or "-", "count": row["n"], "share": share(row["n"], total)}
        for row in rows
    ]


def late_cases(*, now: dt.datetime, limit: int = 50) -> list[ApplicationStage]:
    """Cases past their stage's time limit, the most overdue first."""
    return list(
        ApplicationStage.objects.filter(status=ApplicationStage.Status.WAITING, due_at__lt=now)
        .select_related("application__merchant__partner", "application__product", "assignee")
        .order_by("due_at", "pk")[:limit]
    )


def coverage() -> dict:
    """Merchants looked after (an open line, or an application not yet settled) per active loan
    officer, beside the seed's target."""
    # A union of two indexed reads of merchant ids (deduplicated by UNION), not a join of both.
    merchants = (
        CreditLine.objects.filter(status__in=[CreditLine.Status.ACTIVE, CreditLine.Status.FROZEN])
        .order_by()
        .values("merchant_id")
        .union(
            Application.objects.filter(status__in=LOOKED_AFTER_APPLICATIONS).order_by().values("merchant_id")
        )
        .count()
    )
    officers = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name="loan_officer")
        .values("pk")
        .distinct()
        .count()
    )
    return {
        "merchants": merchants,
        "officers": officers,
        "per_officer": merchants / officers if officers else None,
        "target": MERCHANTS_PER_OFFICER_TARGET,
    }


# --- The people's queues (the workbench) --------------------------------------------------------

QUEUES = {
    "fraud_review": _("Fraud review"),
    "video_check": _("Video check"),
    "field_inspection": _("Field inspection"),
    "officer_approval": _("Officer approval"),
}


def queue_cases(*, queue: str) -> list[ApplicationStage]:
    """The cases waiting in one people's queue, oldest first, each with its application, the
    interview booked for it (`booked_interviews`) and the visit pending (`pending_inspections`)."""
    return list(
        ApplicationStage.objects.filter(queue=queue, status=ApplicationStage.Status.WAITING)
        .select_related("application__merchant__partner", "application__product", "assignee")
        .prefetch_related(
            Prefetch(
                "application__interviews",
                queryset=VideoInterview.objects.filter(outcome=VideoInterview.Outcome.BOOKED),
                to_attr="booked_interviews",
            ),
            Prefetch(
                "application__inspections",
                queryset=FieldInspection.objects.filter(result=FieldInspection.Result.PENDING).select_related(
                    "inspector"
                ),
                to_attr="pending_inspections",
            ),
        )
        .order_by("started_at", "pk")
    )


def queue_counts() -> dict[str, int]:
    """How many cases wait in each people's queue."""
    rows = (
        ApplicationStage.objects.filter(status=ApplicationStage.Status.WAITING, queue__in=list(QUEUES))
        .values("queue")
        .annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(QUEUES, 0)
    counts.update({row["queue"]: row["n"] for row in rows})
    return counts
