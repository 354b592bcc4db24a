"""Reads in lending. A merchant in the portal and a partner through the API each reach only their
own lines and loans: anything else is "not found", never "forbidden", so ids leak nothing."""

import datetime as dt
from typing import NamedTuple

from django.db.models import Max, Q, QuerySet, Sum

from common.errors import NotFoundError
from common.sql import fixed_rows
from lending.models import Application, CreditLine, Installment, Loan, LoanEvent
from merchants.models import Merchant, PartnerPlatform


class Exposure(NamedTuple):
    limit_fen: int  # the merchant's one limit: the largest of its active lines
    used_fen: int  # principal drawn on all its open lines, frozen ones included


def merchant_exposure(*, merchant_id: int) -> Exposure:
    """One limit per merchant across products, in one statement: the largest active line's limit
    (a frozen line's limit grants nothing) against what is drawn on all its open lines. Read by
    the drawdown (under the merchant's row lock) and by the pipeline's exposure stage."""
    # Written in SQL (common.sql.fixed_rows): the ORM's aggregate cost more than its round trip.
    # What it said: CreditLine(merchant, status not closed).aggregate(used=Sum("used_fen"),
    # limit=Max("limit_fen", filter=Q(status=active))).
    [(used, limit)] = fixed_rows(
        "SELECT SUM(used_fen), MAX(CASE WHEN status = %s THEN limit_fen END) FROM lending_creditline"
        " WHERE merchant_id = %s AND status <> %s",
        [CreditLine.Status.ACTIVE, merchant_id, CreditLine.Status.CLOSED],
        [None, None],
    )
    return Exposure(limit_fen=int(limit or 0), used_fen=int(used or 0))


def merchants_exposure(*, merchant_ids) -> dict[int, Exposure]:
    """merchant_exposure of many merchants in one statement (those without an open line are left
    out: their limit and use are nought)."""
    rows = (
        CreditLine.objects.filter(merchant_id__in=merchant_ids)
        .exclude(status=CreditLine.Status.CLOSED)
        .order_by()
        .values_list("merchant_id")
        .annotate(used=Sum("used_fen"), limit=Max("limit_fen", filter=Q(status=CreditLine.Status.ACTIVE)))
    )
    return {m: Exposure(limit_fen=int(limit or 0), used_fen=int(used or 0)) for m, used, limit in rows}


def credit_lines_of_merchant(*, merchant: Merchant) -> QuerySet[CreditLine]:
    return (
        CreditLine.objects.filter(merchant=merchant)
        .exclude(status=CreditLine.Status.CLOSED)
        .select_related("product", "merchant")
        .order_by("id")
    )


def credit_line_get_for_merchant(*, merchant: Merchant, line_id: int) -> CreditLine:
    line = credit_lines_of_merchant(merchant=merchant).filter(pk=line_id).select_related("merchant__partner")
    found = line.first()
    if found is None:
        raise NotFoundError(f"no credit line {line_id}")
    return found


def credit_line_get_for_partner(*, partner: PartnerPlatform, line_id: int) -> CreditLine:
    line = (
        CreditLine.objects.filter(pk=line_id, merchant__partner=partner)
        .exclude(status=CreditLine.Status.CLOSED)
        .select_related("product", "merchant__partner")
        .first()
    )
    if line is None:
        raise NotFoundError(f"no credit line {line_id}")
    return line


def loans_of_merchant(*, merchant: Merchant) -> QuerySet[Loan]:
    return Loan.objects.filter(merchant=merchant).select_related("product").order_by("-disbursed_on", "-id")


def loan_get_for_merchant(*, merchant: Merchant, reference: str) -> Loan:
    loan = loans_of_merchant(merchant=merchant).filter(reference=reference).first()
    if loan is None:
        raise NotFoundError(f"no loan {reference!r}")
    return loan


def loan_get_for_partner(*, partner: PartnerPlatform, reference: str) -> Loan:
    loan = (
        Loan.objects.filter(reference=reference, merchant__partner=partner)
        .select_related("product", "merchant", "contract")
        .first()
    )
    if loan is None:
        raise NotFoundError(f"no loan {reference!r}")
    return loan


def loan_installments(*, loan: Loan) -> QuerySet[Installment]:
    return loan.installments.order_by("number")


def loan_events(*, loan: Loan) -> QuerySet[LoanEvent]:
    """The loan's statement: balance-changing events, oldest first."""
    return loan.events.order_by("business_on", "id")


def loan_repayment_for_key(*, loan: Loan, idempotency_key: str) -> LoanEvent | None:
    """The repayment an idempotency key already made on this loan, if any. loan_repay refuses a
    settled loan before it looks at the key, so a replay of a "repay all" is answered from here."""
    return (
        LoanEvent.objects.filter(loan=loan, entry__idempotency_key=f"repay:{idempotency_key}")
        .order_by("id")
        .first()
    )


REAPPLY_STATUSES = (
    Application.Status.DECLINED,
    Application.Status.SUBMITTED,
    Application.Status.REFERRED,
)


class Reapply(NamedTuple):
    """When a declined merchant may apply for a product again: `on`, the first day, only while it
    is still ahead of the business date; else `now` (unless another application of the product
    is being decided: then neither)."""

    on: dt.date | None
    now: bool


def reapply_rows(*, merchant_id: int) -> list[tuple[int, str, dt.date | None]]:
    """(product id, status, reapply_on) of the merchant's declined and undecided applications,
    newest first: what `reapply_of` reads."""
    return list(
        Application.objects.filter(merchant_id=merchant_id, status__in=REAPPLY_STATUSES)
        .order_by("-submitted_at", "-id")
        .values_list("product_id", "status", "reapply_on")
    )


def reapply_of(*, product_id: int, rows, today: dt.date) -> Reapply:
    """The application rule (lending.services.applications): the latest decline of the
    merchant's product governs, whichever application a page shows; an appeal is never held back
    by it. `rows`: (product id, status, reapply_on), newest first; any other status is ignored."""
    mine = [(status, on) for pid, status, on in rows if pid == product_id and status in REAPPLY_STATUSES]
    if any(status != Application.Status.DECLINED for status, _on in mine):
        return Reapply(on=None, now=False)  # another application of the product is being decided
    waiting = next((on for _status, on in mine), None)
    if waiting is not None and waiting > today:
        return Reapply(on=waiting, now=False)
    return Reapply(on=None, now=True)
