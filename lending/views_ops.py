"""The assembly-line (operations) screen: per stage of the credit pipeline, what waits, how long
cases dwell, how many pass through a day; decision rates per product, the risk mix, late cases and
merchants per officer. Staff with lending.view_application; the page refreshes itself every 30 s."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from common.business_date import business_date_today, business_now
from lending import ops

REFRESH_SECONDS = 30


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, _seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def assembly_line(request):
    """The screen itself (wrapped by the admin site's admin_view: staff only)."""
    if not request.user.has_perm("lending.view_application"):
        raise PermissionDenied("needs lending.view_application")
    now = business_now()
    days, stages = ops.stage_figures(now=now)
    peak_waiting = max([s.waiting for s in stages] or [0]) or 1
    peak_p90 = max([s.dwell_p90_seconds or 0 for s in stages] or [0]) or 1
    peak_day = max([n for s in stages for n in s.ended_per_day] or [0]) or 1
    rows = [
        {
            "stage": s,
            "median": _duration(s.dwell_median_seconds),
            "p90": _duration(s.dwell_p90_seconds),
            "waiting_width": round(100 * s.waiting / peak_waiting),
            "p90_width": round(100 * (s.dwell_p90_seconds or 0) / peak_p90),
            "days": [{"n": n, "height": round(24 * n / peak_day)} for n in s.ended_per_day],
        }
        for s in stages
    ]
    rates = [
        {
            **r,
            "approval": _percent(r["approval_rate"]),
            "decline": _percent(r["decline_rate"]),
            "referral": _percent(r["referral_rate"]),
            "approval_width": round(100 * r["approval_rate"]),
        }
        for r in ops.decision_rates(now=now)
    ]
    mix = [{**m, "percent": _percent(m["share"]), "width": round(100 * m["share"])} for m in ops.risk_mix()]
    coverage = ops.coverage()
    context = {
        **admin.site.each_context(request),
        "title": _("Assembly line"),
        "now": now,
        "refresh_seconds": REFRESH_SECONDS,
        "days": days,
        "rows": rows,
        "rates": rates,
        "mix": mix,
        # Each late case under its queue's name, not its code.
        "late": [{"stage": s, "queue": ops.QUEUES.get(s.queue, s.queue)} for s in ops.late_cases(now=now)],
        "business_date": business_date_today(),
        "coverage": coverage,
        "per_officer": f"{coverage['per_officer']:,.1f}" if coverage["per_officer"] is not None else "-",
        "dwell_window_days": ops.DWELL_WINDOW_DAYS,
        "rates_window_days": ops.RATES_WINDOW_DAYS,
    }
    return TemplateResponse(request, "admin/lending/assembly_line.html", context)
