"""A merchant's credit file for officers: one page with its trading, ratings, lines, loans,
applications, findings, warnings and collections contacts.

Risk control sits on top of every other app, so the file that reads all of them lives here.
Every section is bounded (the latest rows and a link to the filtered admin list for the rest)
and costs one query whatever the merchant's history, so the page's query count is fixed. A
section shows only when the officer may view its model (common.roles)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    # The section's tables as the page shows them (`Table.shown`), in order.
    tables: list = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    """One table of a section, as the page draws it: its rows are the section's own (no `slot`)
    or `extra[slot]`; its column headings; what shows when it has no rows (nothing when empty);
    the link to the rest (`more`, its words; none when empty); a heading of its own when the
    section holds several. The cells of its rows are in admin/riskcontrol/_credit_file_rows.html,
    by the section's key and the slot."""

    columns: tuple
    slot: str = ""
    empty: str = ""
    more: str = ""
    heading: str = ""

    def shown(self, section: Section) -> dict | None:
        """The table's rows and links in `section`, or None when the officer may not see its
        list (its part was left out)."""
        if self.slot:
            if self.slot not in section.extra:
                return None
            rows = section.extra[self.slot]
            more_url, has_more = section.extra[f"{self.slot}_url"], section.extra[f"{self.slot}_more"]
        else:
            if not section.more_url:
                return None
            rows, more_url, has_more = section.rows, section.more_url, section.has_more
        return {
            "key": f"{section.key}.{self.slot}" if self.slot else section.key,
            "heading": self.heading,
            "columns": self.columns,
            "rows": rows,
            "empty": self.empty,
            "more": self.more,
            "more_url": more_url,
            "has_more": has_more,
        }


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


def _trading_rows(merchant: Merchant, today: dt.date) -> list[dict]:
    """Month by month, the last TRADING_MONTHS months: every month shows, traded in or not."""
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
    return rows


def _score_row(s: MerchantScore) -> dict:
    return {
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


def _line_row(line: CreditLine) -> dict:
    return {
        "line": line,
        "url": reverse("admin:lending_creditline_change", args=[line.pk]),
        "limit": money(line.limit_fen),
        "used": money(line.used_fen),
        "available": money(line.available_fen),
    }


def _loan_row(loan: Loan) -> dict:
    outstanding = (
        loan.principal_outstanding_fen
        + loan.interest_outstanding_fen
        + loan.penalty_outstanding_fen
        + loan.fee_outstanding_fen
    )
    return {
        "loan": loan,
        "url": reverse("admin:lending_loan_change", args=[loan.pk]),
        "principal": money(loan.principal_fen),
        "outstanding": money(outstanding),
        "overdue": money(loan.due_principal_fen + loan.due_interest_fen),
        "is_overdue": loan.days_past_due > 0,
    }


def _loan_totals(merchant: Merchant) -> dict:
    """All the merchant's loans in one aggregate, beside the latest few listed."""
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
    return {
        "count": totals["count"],
        "open": totals["open"],
        "overdue_count": totals["overdue"],
        "outstanding": money(outstanding),
        "overdue": money((totals["due"] or 0) + (totals["due_interest"] or 0)),
    }


def _application_row(a: Application) -> dict:
    return {
        "application": a,
        "url": reverse("admin:lending_application_change", args=[a.pk]),
        "amount": money(a.amount_fen),
        "decided": money(a.decided_limit_fen) if a.decided_limit_fen is not None else "-",
    }


def _warning_row(warning: Warning) -> Warning:
    """A warning with its reasons in the reader's language (`why`)."""
    warning.why = "; ".join(reason_text(r) for r in warning.reasons or [])
    return warning


def _action_row(action: RiskAction) -> RiskAction:
    """A risk action with its reasons in the reader's language (`why`)."""
    action.why = action_reason(action)
    return action


def _contact_row(c: ContactLog) -> dict:
    return {"contact": c, "url": reverse("admin:lending_collections_case", args=[c.case_id])}


@dataclass(frozen=True)
class Part:
    """One bounded list of a section: the latest rows of `model` about the merchant, shown to
    those with `permission`. With no `slot` they are the section's own rows (`rows`, `more_url`,
    `has_more`); with one they go to `extra[slot]`, `extra[slot + "_url"]`, `extra[slot + "_more"]`."""

    permission: str
    model: type
    order_by: tuple[str, ...]
    slot: str = ""
    merchant_path: str = "merchant"
    related: tuple[str, ...] = ()
    row: Callable[[Any], Any] | None = None
    # The admin list holding the rest, when it is not the model's own.
    rest_in: type | None = None


@dataclass(frozen=True)
class SectionDefinition:
    """A section of the file: its lists (`parts`), or rows of its own making (`rows`, shown with
    `permission`, all of them, the rest in the admin list of `rest_in`); `totals` adds figures
    over all the merchant's rows to `extra`."""

    key: str
    title: str
    parts: tuple[Part, ...] = ()
    rows: Callable[[Merchant, dt.date], list] | None = None
    permission: str = ""
    rest_in: type | None = None
    totals: Callable[[Merchant], dict] | None = None
    tables: tuple[Table, ...] = ()


def _part_fill(section: Section, part: Part, merchant: Merchant) -> None:
    queryset = part.model.objects.filter(**{part.merchant_path: merchant})
    if part.related:
        queryset = queryset.select_related(*part.related)
    found, more = _latest(queryset.order_by(*part.order_by))
    rows = [part.row(obj) for obj in found] if part.row else found
    url = _changelist(part.rest_in or part.model, merchant__id__exact=merchant.pk)
    if part.slot:
        section.extra.update({part.slot: rows, f"{part.slot}_url": url, f"{part.slot}_more": more})
    else:
        section.rows, section.more_url, section.has_more = rows, url, more


def section_build(definition: SectionDefinition, merchant: Merchant, user, today: dt.date) -> Section | None:
    """The section as this user may see it (one query per list it shows), or None if no part."""
    if definition.rows is not None:
        if not user.has_perm(definition.permission):
            return None
        section = Section(
            definition.key,
            definition.title,
            rows=definition.rows(merchant, today),
            more_url=_changelist(definition.rest_in, merchant__id__exact=merchant.pk),
            has_more=True,
        )
    else:
        parts = [part for part in definition.parts if user.has_perm(part.permission)]
        if not parts:
            return None
        section = Section(definition.key, definition.title)
        for part in parts:
            _part_fill(section, part, merchant)
        if definition.totals is not None:
            section.extra.update(definition.totals(merchant))
    section.tables = [shown for table in definition.tables if (shown := table.shown(section)) is not None]
    return section


# In the order an officer reads them.
SECTIONS = (
    SectionDefinition(
        "trading",
        _("Trading summary"),
        rows=_trading_rows,
        permission="merchants.view_order",
        rest_in=Order,
        tables=(
            Table(
                (
                    _("Month"),
                    _("Orders"),
                    _("Sales"),
                    _("Refunds"),
                    _("Refunded"),
                    _("Complaints"),
                    _("Buyer stars"),
                ),
                more=_("All orders"),
            ),
        ),
    ),
    SectionDefinition(
        "scores",
        _("Ratings over time"),
        parts=(Part("scoring.view_merchantscore", MerchantScore, ("-as_of", "-pk"), row=_score_row),),
        tables=(
            Table(
                (_("As of"), _("Grade"), _("Points"), _("Default probability"), _("Line"), _("Rank")),
                empty=_("Not rated yet."),
                more=_("More ratings"),
            ),
        ),
    ),
    SectionDefinition(
        "lines",
        _("Credit lines"),
        parts=(
            Part(
                "lending.view_creditline",
                CreditLine,
                ("-opened_on", "-pk"),
                related=("product",),
                row=_line_row,
            ),
        ),
        tables=(
            Table(
                (
                    _("Line"),
                    _("Product"),
                    _("Status"),
                    _("Limit"),
                    _("Used"),
                    _("Available"),
                    _("Grade"),
                    _("Expires"),
                ),
                empty=_("No credit lines."),
                more=_("More credit lines"),
            ),
        ),
    ),
    SectionDefinition(
        "loans",
        _("Loans"),
        parts=(
            Part("lending.view_loan", Loan, ("-disbursed_on", "-pk"), related=("product",), row=_loan_row),
        ),
        totals=_loan_totals,
        tables=(
            Table(
                (
                    _("Loan"),
                    _("Product"),
                    _("Status"),
                    _("Drawn"),
                    _("Principal"),
                    _("Outstanding"),
                    _("Overdue"),
                    _("Days past due"),
                    _("Matures"),
                ),
                empty=_("No loans."),
                more=_("More loans"),
            ),
        ),
    ),
    SectionDefinition(
        "applications",
        _("Applications"),
        parts=(
            Part(
                "lending.view_application",
                Application,
                ("-submitted_at", "-pk"),
                related=("product",),
                row=_application_row,
            ),
        ),
        tables=(
            Table(
                (
                    _("Application"),
                    _("Product"),
                    _("Submitted"),
                    _("Asked"),
                    _("Status"),
                    _("Stage"),
                    _("Decided"),
                ),
                empty=_("No applications."),
                more=_("More applications"),
            ),
        ),
    ),
    # Officers' findings (video checks and field inspections in score points), field
    # inspections' results and the fraud rings the relationship network found.
    SectionDefinition(
        "findings",
        _("Findings"),
        parts=(
            Part(
                "scoring.view_officerfinding",
                OfficerFinding,
                ("-found_on", "-pk"),
                slot="officer",
                related=("officer",),
            ),
            Part(
                "lending.view_fieldinspection",
                FieldInspection,
                ("-assigned_at", "-pk"),
                slot="inspections",
                merchant_path="application__merchant",
                related=("application", "inspector"),
            ),
            Part("riskcontrol.view_ringflag", RingFlag, ("-run_id",), slot="rings", related=("run",)),
        ),
        tables=(
            Table(
                (_("Date"), _("Kind"), _("Points"), _("Officer"), _("Note")),
                slot="officer",
                empty=_("No officers' findings."),
                more=_("More findings"),
                heading=_("Officers' findings"),
            ),
            Table(
                (_("Application"), _("Assigned"), _("Inspector"), _("Visited"), _("Result"), _("Findings")),
                slot="inspections",
                empty=_("No field inspections."),
                heading=_("Field inspections"),
            ),
            Table(
                (_("Run"), _("Ring"), _("Score"), _("Members")),
                slot="rings",
                empty=_("In no ring."),
                more=_("More ring flags"),
                heading=_("Fraud rings found"),
            ),
        ),
    ),
    SectionDefinition(
        "warnings",
        _("Warnings"),
        parts=(
            Part("riskcontrol.view_warning", Warning, ("-raised_on", "-pk"), row=_warning_row),
            Part(
                "riskcontrol.view_riskaction",
                RiskAction,
                ("-created_at", "-pk"),
                slot="actions",
                row=_action_row,
            ),
        ),
        tables=(
            Table(
                (_("Raised"), _("Kind"), _("Severity"), _("Status"), _("Reasons")),
                empty=_("No warnings."),
                more=_("More warnings"),
                heading=_("Early-warning signals"),
            ),
            Table(
                (_("Date"), _("Action"), _("Level"), _("Reason"), _("Reversed")),
                slot="actions",
                empty=_("No risk actions."),
                more=_("More risk actions"),
                heading=_("Risk actions"),
            ),
        ),
    ),
    # The contact log has no list of its own: the merchant's loans lead to their cases.
    SectionDefinition(
        "contacts",
        _("Collections contacts"),
        parts=(
            Part(
                "lending.view_contactlog",
                ContactLog,
                ("-at", "-pk"),
                merchant_path="case__loan__merchant",
                related=("case__loan", "agent"),
                row=_contact_row,
                rest_in=Loan,
            ),
        ),
        tables=(
            Table(
                (_("When"), _("Loan"), _("Agent"), _("Channel"), _("Outcome"), _("Note")),
                empty=_("No collections contacts."),
                more=_("The merchant's loans and their cases"),
            ),
        ),
    ),
)


def credit_file_sections(*, merchant: Merchant, user, today: dt.date) -> list[Section]:
    """The sections this user may see, in the order an officer reads them."""
    sections = (section_build(definition, merchant, user, today) for definition in SECTIONS)
    return [section for section in sections if section is not None]
