"""Lending's four-eyes executors (registered in settings.FOUR_EYES_ACTIONS): each runs when a
second officer approves, inside the approval's transaction, through lending's services."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from common.errors import ApplicationError, NotFoundError
from lending import services
from lending.models import CreditLine, Loan, Product
from lending.services.products import product_line_check
from merchants.models import Merchant


def _actor(requested_by, approved_by) -> str:
    return f"{requested_by.get_username()} / {approved_by.get_username()}"[:100]


def _get(model, pk, field: str):
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise NotFoundError(f"no {model._meta.verbose_name} {pk}", {"fields": {field: ["not found"]}})
    return row


def write_off(params: dict, *, requested_by, approved_by, on: dt.date) -> dict:
    """loan.write_off: {"loan_id", "reason"}."""
    loan = _get(Loan, params.get("loan_id"), "loan")
    event = services.loan_write_off(
        loan=loan, actor=_actor(requested_by, approved_by), reason=params.get("reason", ""), on=on
    )
    return {"loan": loan.reference, "event_id": event.pk, "principal_fen": event.principal_fen}


def line_terms(params: dict) -> tuple[int, Decimal, str, dt.date | None]:
    """The terms a line grant carries as plain values: limit in fen, daily rate as a decimal
    string, grade, expiry as an ISO date or null."""
    problems = {}
    limit_fen = params.get("limit_fen")
    if not isinstance(limit_fen, int) or isinstance(limit_fen, bool) or limit_fen <= 0:
        problems["limit"] = ["must be a positive amount"]
    try:
        daily_rate = Decimal(str(params.get("daily_rate")))
        if not daily_rate.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems["daily_rate"] = ["must be a decimal rate per day"]
        daily_rate = Decimal(0)
    grade = params.get("grade") or ""
    if grade not in ("A", "B", "C", "D", "E"):
        problems["grade"] = ["one of A–E"]
    expires_on = None
    if params.get("expires_on"):
        try:
            expires_on = dt.date.fromisoformat(params["expires_on"])
        except (TypeError, ValueError):
            problems["expires_on"] = ["must be a date YYYY-MM-DD"]
    if problems:
        message = "; ".join(f"{name}: {items[0]}" for name, items in problems.items())
        raise ApplicationError(message, {"fields": problems})
    return limit_fen, daily_rate, grade, expires_on


def line_grant(params: dict, *, requested_by, approved_by, on: dt.date) -> dict:
    """line.grant: a new line {"merchant_id", "product_id", ...terms} or new terms for a line
    {"line_id", ...terms}; both within the product's range and the legal cap (product_line_check)."""
    limit_fen, daily_rate, grade, expires_on = line_terms(params)
    if expires_on is not None and expires_on < on:
        raise ApplicationError(
            "expiry is in the past", {"fields": {"expires_on": ["must not be in the past"]}}
        )
    actor = _actor(requested_by, approved_by)
    reason = params.get("reason", "")[:200]
    if params.get("line_id"):
        line = _get(CreditLine, params["line_id"], "line")
        product_line_check(product=line.product, limit_fen=limit_fen, daily_rate=daily_rate)
        line = services.credit_line_change_terms(
            line=line,
            limit_fen=limit_fen,
            daily_rate=daily_rate,
            grade=grade,
            actor=actor,
            reason=reason,
            on=on,
            expires_on=expires_on,
        )
        return {"line_id": line.pk, "changed": True}
    merchant = _get(Merchant, params.get("merchant_id"), "merchant")
    product = _get(Product, params.get("product_id"), "product")
    line = services.credit_line_open(
        merchant=merchant,
        product=product,
        limit_fen=limit_fen,
        daily_rate=daily_rate,
        grade=grade,
        actor=actor,
        reason=reason,
        on=on,
        expires_on=expires_on,
    )
    return {"line_id": line.pk, "opened": True}
