"""Lending's own stages of the credit pipeline (settings.CREDIT_PIPELINE). Each reads its facts
from the database (`facts`) and decides by a pure rule over them (`decide`), so the rule is
tested on worked examples and any decision can be replayed from the facts it recorded."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from common.money import format_yuan
from common.sql import fixed_rows
from lending.calculations.record import record_terms
from lending.models import Application, CreditLine, Loan, Pledge, Product
from lending.pipeline import (
    HUMAN,
    MACHINE,
    Reason,
    Run,
    declined,
    not_needed,
    passed,
    referred,
    run_of,
)
from lending.selectors import Exposure as Held
from lending.services.products import PRODUCT_LIMITS, product_kind
from merchants.models import Merchant, Order, OrderStatus

OPEN_LOANS = (Loan.Status.ACTIVE, Loan.Status.OVERDUE)
# The loans a stage weighs: open ones (what is owed), bad ones (eligibility), repaid ones (the
# record).
_WEIGHED_LOANS = (*OPEN_LOANS, Loan.Status.WRITTEN_OFF, Loan.Status.REPAID)


def _books(application: Application, on: dt.date, run: Run | None) -> tuple[list, Held]:
    """The merchant's weighed loans as (status, max days past due, principal outstanding), by
    closing date, and its exposure across products (what `merchant_exposure` reads): one
    statement per run, shared by eligibility, the record, the exposure and the declared check
    (the merchant is locked for the run: its loans and lines do not change meanwhile)."""
    run = run_of(application, on, run)
    return run.shared("lending.books", lambda: _books_read(application.merchant_id, run))


# The books' statement on PostgreSQL: merchant_exposure's aggregate and the weighed loans' columns
# as arrays (by closing date, then id; NULL for none), so it is one row, and the reads later
# stages make ahead of them can join it (lending.pipeline.Run.with_ahead).
_BOOKS_ONE_ROW_SQL = (
    "SELECT e.used, e.top, l.statuses, l.dpds, l.owed FROM"
    " (SELECT SUM(used_fen) AS used, MAX(CASE WHEN status = %s THEN limit_fen END) AS top"
    " FROM lending_creditline WHERE merchant_id = %s AND status <> %s) e"
    " CROSS JOIN (SELECT array_agg(status ORDER BY closed_on ASC, id ASC) AS statuses,"
    " array_agg(max_days_past_due ORDER BY closed_on ASC, id ASC) AS dpds,"
    " array_agg(principal_outstanding_fen ORDER BY closed_on ASC, id ASC) AS owed"
    " FROM lending_loan WHERE merchant_id = %s AND status IN (%s, %s, %s, %s)) l"
)


def _books_read(merchant_id: int, run: Run | None = None) -> tuple[list, Held]:
    """The merchant's weighed loans and its exposure (`_books`). On PostgreSQL one row
    (`_BOOKS_ONE_ROW_SQL`), with the reads later stages of `run` make ahead joined to it: the
    pipeline's first read, so they take no round trip of their own."""
    params = [CreditLine.Status.ACTIVE, merchant_id, CreditLine.Status.CLOSED, merchant_id, *_WEIGHED_LOANS]
    if connection.vendor == "postgresql":
        sql, values, take = (
            run.with_ahead(_BOOKS_ONE_ROW_SQL, params)
            if run is not None
            else (_BOOKS_ONE_ROW_SQL, params, lambda row: row)
        )
        (row,) = fixed_rows(sql, values, ())  # as the driver gives them (a prepared statement)
        used, top, statuses, dpds, owed = take(row)
        loans = list(zip(statuses, dpds, owed, strict=True)) if statuses is not None else []
        return loans, Held(limit_fen=int(top or 0), used_fen=int(used or 0))
    # Loan(merchant, status in _WEIGHED_LOANS).order_by("closed_on", "pk") beside
    # merchant_exposure's aggregate (one row, joined to each loan or to none), in SQL.
    rows = fixed_rows(
        "SELECT l.status, l.max_days_past_due, l.principal_outstanding_fen, e.used, e.top FROM"
        " (SELECT SUM(used_fen) AS used, MAX(CASE WHEN status = %s THEN limit_fen END) AS top"
        " FROM lending_creditline WHERE merchant_id = %s AND status <> %s) e"
        " LEFT JOIN lending_loan l ON l.merchant_id = %s AND l.status IN (%s, %s, %s, %s)"
        " ORDER BY l.closed_on ASC, l.id ASC",
        params,
        [None, None, None, None, None],
    )
    used, top = rows[0][3], rows[0][4]
    loans = [(status, dpd, owed) for status, dpd, owed, _, _ in rows if status is not None]
    return loans, Held(limit_fen=int(top or 0), used_fen=int(used or 0))


def _loans(application: Application, on: dt.date, run: Run | None) -> list[tuple[str, int, int]]:
    """The merchant's weighed loans as (status, max days past due, principal outstanding), by
    closing date (`_books`)."""
    return _books(application, on, run)[0]


def _yuan(fen: int) -> str:
    return f"¥{format_yuan(fen)}"


class Eligibility:
    """Who may apply at all: an active shop of the product's segment with nothing overdue; for an
    order loan, the ticked orders are its own, shipped, not yet settled or pledged, and their
    value covers the amount."""

    version = "eligibility-1"
    kind = MACHINE
    queue = ""
    title = _("Eligibility")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        merchant, product = application.merchant, application.product
        statuses = [status for status, _, _ in _loans(application, on, run)]
        facts = {
            "merchant_status": merchant.status,
            "merchant_segment": merchant.partner.kind,
            "product_segment": product.segment,
            "product_active": product.is_active,
            "amount_fen": application.amount_fen,
            "product_min_fen": product.smallest_drawdown_fen
            if not product.is_revolving
            else product.amount_min_fen,
            "product_max_fen": product.amount_max_fen,
            "overdue_loans": statuses.count(Loan.Status.OVERDUE),
            "written_off_loans": statuses.count(Loan.Status.WRITTEN_OFF),
            "is_pledged": product.is_pledged,
        }
        if product.is_pledged:
            ids = [int(i) for i in application.pledged_order_ids or []]
            orders = Order.objects.filter(pk__in=ids, merchant=merchant).values_list(
                "pk", "status", "amount_fen"
            )
            taken = set(
                Pledge.objects.filter(order_id__in=ids, is_open=True).values_list("order_id", flat=True)
            )
            facts["orders"] = [
                {"id": pk, "status": status, "value_fen": value, "pledged": pk in taken}
                for pk, status, value in orders
            ]
            facts["orders_asked"] = len(set(ids))
            facts["advance_rate"] = str(product.advance_rate)
        return facts

    def decide(self, facts: dict) -> "passed":
        reasons = []
        status = facts["merchant_status"]
        if status != Merchant.Status.ACTIVE:
            reasons.append(
                Reason(
                    "shop_not_active",
                    gettext_noop("The shop is %(status)s and cannot borrow"),
                    {"status": status},
                )
            )
        if facts["merchant_segment"] != facts["product_segment"]:
            reasons.append(
                Reason(
                    "wrong_segment",
                    gettext_noop("This product is not offered to your kind of shop"),
                )
            )
        if not facts["product_active"]:
            reasons.append(
                Reason("product_closed", gettext_noop("This product is not open for applications"))
            )
        if facts["overdue_loans"]:
            reasons.append(Reason("overdue", gettext_noop("You have an overdue loan: repay it first")))
        if facts["written_off_loans"]:
            reasons.append(Reason("written_off", gettext_noop("A loan of yours was written off")))
        if not facts["product_min_fen"] <= facts["amount_fen"] <= facts["product_max_fen"]:
            low, high = _yuan(facts["product_min_fen"]), _yuan(facts["product_max_fen"])
            reasons.append(
                Reason(
                    "amount_out_of_range",
                    gettext_noop("The amount must be between %(low)s and %(high)s"),
                    {"low": low, "high": high},
                )
            )
        if facts["is_pledged"]:
            usable = [o for o in facts["orders"] if o["status"] == OrderStatus.SHIPPED and not o["pledged"]]
            if len(facts["orders"]) != facts["orders_asked"] or len(usable) != len(facts["orders"]):
                reasons.append(
                    Reason(
                        "orders_not_pledgeable",
                        gettext_noop(
                            "Only your own shipped orders, not settled and not pledged yet, can be pledged"
                        ),
                    )
                )
            covered = int(sum(o["value_fen"] for o in usable) * Decimal(facts["advance_rate"]))
            if not usable or covered < facts["amount_fen"]:
                reasons.append(
                    Reason(
                        "orders_too_small",
                        gettext_noop("The ticked orders cover at most %(amount)s"),
                        {"amount": _yuan(covered)},
                    )
                )
        if reasons:
            return declined(*reasons, reapply_after_days=0 if _only_fixable(reasons) else None)
        return passed()


def _only_fixable(reasons: list[Reason]) -> bool:
    """Declines the merchant can fix at once (a wrong amount, other orders) let it apply again
    the same day."""
    return all(
        r.code in {"amount_out_of_range", "orders_not_pledgeable", "orders_too_small"} for r in reasons
    )


class Record:
    """Terms that follow the record: each loan repaid on time raises the line and lengthens the
    term of the next one (lending.calculations.record)."""

    version = "record-1"
    kind = MACHINE
    queue = ""
    title = _("Repayment record")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        product = application.product
        loans = _loans(application, on, run)
        repaid = [dpd for status, dpd, _ in loans if status == Loan.Status.REPAID]
        limits = PRODUCT_LIMITS[product_kind(product)]
        in_days = product.term_unit == Product.TermUnit.DAYS
        return {
            "limit_fen": application.decided_limit_fen or 0,
            "term": product.term,
            "term_in_days": in_days,
            "longest_term": limits.term_max_days if in_days else limits.term_max_months,
            "product_max_fen": product.amount_max_fen,
            "repaid_max_dpd": repaid,
            "is_overdue_now": any(status == Loan.Status.OVERDUE for status, _, _ in loans),
        }

    def decide(self, facts: dict):
        terms = record_terms(**facts)
        reasons = []
        if terms.loans_on_time:
            reasons.append(
                Reason(
                    "good_record",
                    gettext_noop("%(loans)s loans repaid on time: line +%(uplift)s, term %(term)s"),
                    {"loans": terms.loans_on_time, "uplift": f"{terms.uplift:.0%}", "term": terms.term},
                )
            )
        return passed(*reasons, terms={"decided_limit_fen": terms.limit_fen, "decided_term": terms.term})


class Exposure:
    """One limit per merchant across products: the largest active line it holds or is granted
    now (a frozen line's limit grants nothing). What it owes on all its lines comes off it; an
    application that leaves less than the product's smallest amount is declined."""

    version = "exposure-3"
    kind = MACHINE
    queue = ""
    title = _("Exposure")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        held = _books(application, on, run)[1]  # merchant_exposure's figures
        product = application.product
        return {
            "decided_limit_fen": application.decided_limit_fen or 0,
            "held_limit_fen": held.limit_fen,
            "used_fen": held.used_fen,
            "amount_fen": application.amount_fen,
            "product_min_fen": product.smallest_drawdown_fen
            if not product.is_revolving
            else product.amount_min_fen,
            "is_revolving": product.is_revolving,
        }

    def decide(self, facts: dict):
        limit = max(facts["decided_limit_fen"], facts["held_limit_fen"])
        headroom = max(limit - facts["used_fen"], 0)
        detail = {"merchant_limit_fen": limit, "headroom_fen": headroom}
        if headroom < facts["product_min_fen"]:
            return declined(
                Reason(
                    "exposure_full",
                    gettext_noop("You already owe %(used)s of your %(limit)s limit across products"),
                    {"used": _yuan(facts["used_fen"]), "limit": _yuan(limit)},
                ),
                reapply_after_days=0,
                detail=detail,
            )
        terms = {}
        if not facts["is_revolving"] and facts["decided_limit_fen"] > headroom:
            terms["decided_limit_fen"] = headroom
        return passed(terms=terms, detail=detail)


class AutoDecide:
    """The instant path's last stage (3-1-0): approved by the machine, for at most the decided
    line; a smaller amount than asked is approved and shown for a new acceptance."""

    version = "auto-1"
    kind = MACHINE
    queue = ""
    title = _("Automatic decision")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        return {"amount_fen": application.amount_fen, "decided_limit_fen": application.decided_limit_fen or 0}

    def decide(self, facts: dict):
        if facts["decided_limit_fen"] <= 0:
            return declined(Reason("no_limit", gettext_noop("No credit can be granted now")))
        if facts["amount_fen"] > facts["decided_limit_fen"]:
            return passed(
                Reason(
                    "approved_less",
                    gettext_noop("Approved for %(amount)s, less than asked"),
                    {"amount": _yuan(facts["decided_limit_fen"])},
                )
            )
        return passed()


def _observed_platform_sales_fen(merchant_id: int, on: dt.date) -> int:
    since = on - dt.timedelta(days=365)
    return int(
        Order.objects.filter(
            merchant_id=merchant_id, status=OrderStatus.SETTLED, settled_at__date__gte=since
        ).aggregate(total=Sum("amount_fen"))["total"]
        or 0
    )


def declared_checklist(facts: dict) -> list[dict]:
    """What a B2B member declared beside what the platform sees: each item with both figures and
    whether they agree (within 30 %) — the video check's checklist."""
    items = []
    declared = facts.get("declared") or {}
    sales = int(declared.get("sales_fen") or 0)
    share = Decimal(str(declared.get("platform_sales_share") or "0"))
    observed = facts.get("observed_platform_sales_fen", 0)
    expected_on_platform = int(sales * share)
    agrees = expected_on_platform == 0 or abs(observed - expected_on_platform) <= 0.3 * expected_on_platform
    items.append(
        {
            "code": "sales",
            "label": gettext_noop("Platform sales: declared × share vs observed"),
            "declared": _yuan(expected_on_platform),
            "observed": _yuan(observed),
            "agrees": bool(agrees),
        }
    )
    margin = Decimal(str(declared.get("net_profit_margin") or "0"))
    items.append(
        {
            "code": "margin",
            "label": gettext_noop("Net profit margin"),
            "declared": f"{margin:.1%}",
            "observed": "",
            "agrees": Decimal("-0.2") <= margin <= Decimal("0.5"),
        }
    )
    assets = int(declared.get("total_assets_fen") or 0)
    liabilities = int(declared.get("total_liabilities_fen") or 0)
    ratio = (Decimal(liabilities) / Decimal(assets)) if assets else Decimal(1)
    items.append(
        {
            "code": "debts",
            "label": gettext_noop("Liabilities / assets"),
            "declared": f"{ratio:.0%}",
            "observed": _yuan(facts.get("owed_here_fen", 0)),
            "observed_msgid": gettext_noop("owes us %(amount)s"),
            "agrees": ratio <= Decimal("0.7"),
        }
    )
    return items


class DeclaredCheck:
    """Sets the B2B member's declared figures beside the platform's own data, for the officer's
    video-check checklist. It never declines on its own: a person weighs it."""

    version = "declared-1"
    kind = MACHINE
    queue = ""
    title = _("Declared vs observed")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        owed = sum(owed for status, _, owed in _loans(application, on, run) if status in OPEN_LOANS)
        return {
            "declared": application.declared or {},
            "observed_platform_sales_fen": _observed_platform_sales_fen(application.merchant_id, on),
            "owed_here_fen": int(owed),
        }

    def decide(self, facts: dict):
        checklist = declared_checklist(facts)
        flags = [item["code"] for item in checklist if not item["agrees"]]
        return passed(detail={"checklist": checklist, "flags": flags})


class VideoCheck:
    """The video interview: an officer claims the case, holds the interview the member
    booked, works the checklist, and passes, declines, or sends it to a field inspection."""

    version = "video-1"
    kind = HUMAN
    queue = "video_check"
    title = _("Video check")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        return {"amount_fen": application.amount_fen}

    def decide(self, facts: dict):
        return referred(Reason("video_check", gettext_noop("Waiting for the video interview")))


class FieldInspection:
    """A visit to the premises, when the video check asked for one."""

    version = "inspection-1"
    kind = HUMAN
    queue = "field_inspection"
    title = _("Field inspection")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        return {"needs_inspection": application.needs_inspection}

    def decide(self, facts: dict):
        if not facts["needs_inspection"]:
            return not_needed(gettext_noop("No field visit asked for"))
        return referred(Reason("field_inspection", gettext_noop("Waiting for the field visit")))


class OfficerApproval:
    """The officer's approval of the terms; at or above the configured amount a second officer
    must approve as well (four eyes)."""

    version = "approval-1"
    kind = HUMAN
    queue = "officer_approval"
    title = _("Officer approval")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        return {"decided_limit_fen": application.decided_limit_fen or 0}

    def decide(self, facts: dict):
        return referred(Reason("officer_approval", gettext_noop("Waiting for an officer's approval")))


eligibility = Eligibility()
record = Record()
exposure = Exposure()
auto_decide = AutoDecide()
declared_check = DeclaredCheck()
video_check = VideoCheck()
field_inspection = FieldInspection()
officer_approval = OfficerApproval()
