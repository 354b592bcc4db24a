"""A merchant's credit file for officers: one page with its trading, ratings, lines, loans,
applications, findings, warnings and collections contacts.

Risk control sits on top of every other app, so the file that reads all of them lives here.
Every section is bounded (the latest rows and a link to the filtered admin list for the rest)
and costs one query whatever the merchant's history, so the page's query count is fixed. A
section shows only when the officer may view its model (common.roles)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from common.money import format_yuan
from lending.models import Application, ContactLog, CreditLine, FieldInspection, Loan
from merchants.models import Merchant, Order
from riskcontrol.models import RingFlag, RiskAction, Warning
from riskcontrol.monitoring.rules import reason_text
from riskcontrol.plain_words import action_reason
from scoring.models import MerchantDay, MerchantScore, OfficerFinding

# Who may open a credit file at all; each section asks for its own permission as well.
PERMISSION = "merchants.view_merchant"
ROWS = 10
TRADING_MONTHS = 6


def money(fen: int | None) -> str:
    """Fen as the workbench shows money: ¥1,234.50 (a minus sign before the yuan sign)."""
    if fen is None:
        return "-"
    return f"-¥{format_yuan(-fen)}" if fen < 0 else f"¥{format_yuan(fen)}"


@dataclass
class Section:
    key: str
    title: str
    rows: list = field(default_factory=list)
    more_url: str = ""
    has_more: bool = False
    extra: dict = field(default_factory=dict)


def _latest(queryset, limit: int = ROWS) -> tuple[list, bool]:
    """The first `limit` rows of an ordered queryset and whether there are more, in one query."""
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def _changelist(model, **filters) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return url + "?" + "&".join(f"{k}={v}" for k, v in filters.items()) if filters else url


def _month_starts(today: dt.date, months: int) -> list[dt.date]:
    first = today.replace(day=1)
    starts = []
    for _i in range(months):
        starts.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return starts


def merchant_for_file(merchant_id: int) -> Merchant | None:
    return Merchant.objects.select_related("partner", "owner", "risk").filter(pk=merchant_id).first()


def trading_section(merchant: Merchant, today: dt.date) -> Section:
    starts = _month_starts(today, TRADING_MONTHS)
    by_month = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row
        for row in MerchantDay.objects.filter(
            merchant=merchant, business_on__gte=starts[-1], business_on__lte=today
        )
        .annotate(month=TruncMonth("business_on"))
        .values("month")
        .annotate(
            orders=Sum("placed_count"),
            sales=Sum("paid_fen"),
            refunds=Sum("refund_count"),
            refund_fen=Sum("refund_fen"),
            ratings=Sum("rating_count"),
            stars=Sum("rating_star_sum"),
            complaints=Sum("complaint_count"),
        )
        .order_by("month")
    }
    rows = []
    for start in starts:
        row = by_month.get(start) or {}
        ratings = row.get("ratings") or 0
        rows.append(
            {
                "month": start,
                "orders": row.get("orders") or 0,
                "sales": money(row.get("sales") or 0),
                "refunds": row.get("refunds") or 0,
                "refund_amount": money(row.get("refund_fen") or 0),
                "complaints": row.get("complaints") or 0,
                "stars": f"{(row.get('stars') or 0) / ratings:.1f}" if ratings else "-",
            }
        )
    return Section(
        "trading",
        _("Trading summary"),
        rows=rows,
        more_url=_changelist(Order, merchant__id__exact=merchant.pk),
        has_more=True,
    )


def scores_section(merchant: Merchant) -> Section:
    scores, more = _latest(MerchantScore.objects.filter(merchant=merchant).order_by("-as_of", "-pk"))
    rows = [
        {
            "as_of": s.as_of,
            "grade": s.grade,
            "points": s.points,
            "probability": f"{s.probability:.2%}",
            "line": money(s.line_fen),
            "rank": s.rank or "-",
            "is_current": s.is_current,
            # float ok: a bar's width in per cent, not money
            "bar": max(0, min(100, round(s.probability * 100 * 5))),
        }
        for s in scores
    ]
    return Section(
        "scores",
        _("Ratings over time"),
        rows=rows,
        more_url=_changelist(MerchantScore, merchant__id__exact=merchant.pk),
        has_more=more,
    )


def lines_section(merchant: Merchant) -> Section:
    lines, more = _latest(
        CreditLine.objects.filter(merchant=merchant).select_related("product").order_by("-opened_on", "-pk")
    )
    rows = [
        {
            "line": line,
            "url": reverse("admin:lending_creditline_change", args=[line.pk]),
            "limit": money(line.limit_fen),
            "used": money(line.used_fen),
            "available": money(line.available_fen),
        }
        for line in lines
    ]
    return Section(
        "lines",
        _("Credit lines"),
        rows=rows,
        more_url=_changelist(CreditLine, merchant__id__exact=merchant.pk),
        has_more=more,
    )


def loans_section(merchant: Merchant) -> Section:
    loans, more = _latest(
        Loan.objects.filter(merchant=merchant).select_related("product").order_by("-disbursed_on", "-pk")
    )
    rows = []
    for loan in loans:
        outstanding = (
            loan.principal_outstanding_fen
            + loan.interest_outstanding_fen
            + loan.penalty_outstanding_fen
            + loan.fee_outstanding_fen
        )
        rows.append(
            {
                "loan": loan,
                "url": reverse("admin:lending_loan_change", args=[loan.pk]),
                "principal": money(loan.principal_fen),
                "outstanding": money(outstanding),
                "overdue": money(loan.due_principal_fen + loan.due_interest_fen),
                "is_overdue": loan.days_past_due > 0,
            }
        )
    totals = Loan.objects.filter(merchant=merchant).aggregate(
        count=Count("pk"),
        open=Count("pk", filter=Q(status__in=[Loan.Status.ACTIVE, Loan.Status.OVERDUE])),
        overdue=Count("pk", filter=Q(status=Loan.Status.OVERDUE)),
        principal=Sum("principal_outstanding_fen"),
        interest=Sum("interest_outstanding_fen"),
        penalty=Sum("penalty_outstanding_fen"),
        fee=Sum("fee_outstanding_fen"),
        due=Sum("due_principal_fen"),
        due_interest=Sum("due_interest_fen"),
    )
    outstanding = sum(totals[k] or 0 for k in ("principal", "interest", "penalty", "fee"))
    extra = {
        "count": totals["count"],
        "open": totals["open"],
        "overdue_count": totals["overdue"],
        "outstanding": money(outstanding),
        "overdue": money((totals["due"] or 0) + (totals["due_interest"] or 0)),
    }
    return Section(
        "loans",
        _("Loans"),
        rows=rows,
        more_url=_changelist(Loan, merchant__id__exact=merchant.pk),
        has_more=more,
        extra=extra,
    )


def applications_section(merchant: Merchant) -> Section:
    applications, more = _latest(
        Application.objects.filter(merchant=merchant)
        .select_related("product")
        .order_by("-submitted_at", "-pk")
    )
    rows = [
        {
            "application": a,
            "url": reverse("admin:lending_application_change", args=[a.pk]),
            "amount": money(a.amount_fen),
            "decided": money(a.decided_limit_fen) if a.decided_limit_fen is not None else "-",
        }
        for a in applications
    ]
    return Section(
        "applications",
        _("Applications"),
        rows=rows,
        more_url=_changelist(Application, merchant__id__exact=merchant.pk),
        has_more=more,
    )


def findings_section(merchant: Merchant, user) -> Section:
    """Officers' findings (video checks and field inspections in score points), field
    inspections' results and the fraud rings the relationship network found."""
    section = Section("findings", _("Findings"))
    if user.has_perm("scoring.view_officerfinding"):
        findings, more = _latest(
            OfficerFinding.objects.filter(merchant=merchant)
            .select_related("officer")
            .order_by("-found_on", "-pk")
        )
        section.extra["officer"] = findings
        section.more_url = _changelist(OfficerFinding, merchant__id__exact=merchant.pk)
        section.has_more = more
    if user.has_perm("lending.view_fieldinspection"):
        inspections, _more = _latest(
            FieldInspection.objects.filter(application__merchant=merchant)
            .select_related("application", "inspector")
            .order_by("-assigned_at", "-pk")
        )
        section.extra["inspections"] = inspections
    if user.has_perm("riskcontrol.view_ringflag"):
        flags, more = _latest(
            RingFlag.objects.filter(merchant=merchant).select_related("run").order_by("-run_id")
        )
        section.extra["rings"] = flags
        section.extra["rings_url"] = _changelist(RingFlag, merchant__id__exact=merchant.pk)
        section.extra["rings_more"] = more
    return section


def warnings_section(merchant: Merchant, user) -> Section:
    section = Section("warnings", _("Warnings"))
    if user.has_perm("riskcontrol.view_warning"):
        warnings, more = _latest(Warning.objects.filter(merchant=merchant).order_by("-raised_on", "-pk"))
        for warning in warnings:  # the reasons in the reader's language
            warning.why = "; ".join(reason_text(r) for r in warning.reasons or [])
        section.rows = warnings
        section.more_url = _changelist(Warning, merchant__id__exact=merchant.pk)
        section.has_more = more
    if user.has_perm("riskcontrol.view_riskaction"):
        actions, more = _latest(RiskAction.objects.filter(merchant=merchant).order_by("-created_at", "-pk"))
        for action in actions:
            action.why = action_reason(action)
        section.extra["actions"] = actions
        section.extra["actions_url"] = _changelist(RiskAction, merchant__id__exact=merchant.pk)
        section.extra["actions_more"] = more
    return section


def contacts_section(merchant: Merchant) -> Section:
    contacts, more = _latest(
        ContactLog.objects.filter(case__loan__merchant=merchant)
        .select_related("case__loan", "agent")
        .order_by("-at", "-pk")
    )
    rows = [
        {"contact": c, "url": reverse("admin:lending_collections_case", args=[c.case_id])} for c in contacts
    ]
    # The contact log has no list of its own: the merchant's loans lead to their cases.
    return Section(
        "contacts",
        _("Collections contacts"),
        rows=rows,
        more_url=_changelist(Loan, merchant__id__exact=merchant.pk),
        has_more=more,
    )


def credit_file_sections(*, merchant: Merchant, user, today: dt.date) -> list[Section]:
    """The sections this user may see, in the order an officer reads them."""
    perm = user.has_perm
    sections = []
    if perm("merchants.view_order"):
        sections.append(trading_section(merchant, today))
    if perm("scoring.view_merchantscore"):
        sections.append(scores_section(merchant))
    if perm("lending.view_creditline"):
        sections.append(lines_section(merchant))
    if perm("lending.view_loan"):
        sections.append(loans_section(merchant))
    if perm("lending.view_application"):
        sections.append(applications_section(merchant))
    if any(
        perm(p)
        for p in ("scoring.view_officerfinding", "lending.view_fieldinspection", "riskcontrol.view_ringflag")
    ):
        sections.append(findings_section(merchant, user))
    if perm("riskcontrol.view_warning") or perm("riskcontrol.view_riskaction"):
        sections.append(warnings_section(merchant, user))
    if perm("lending.view_contactlog"):
        sections.append(contacts_section(merchant))
    return sections
