"""The merchant portal's lending pages: lines and loans, a quote and its acceptance, one loan's
schedule and statement, early repayment. Each view parses the form, calls one service and shows
the result; a refusal is shown on the form, never as a server error."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.business_date import business_date_today
from common.errors import ApplicationError, NotFoundError
from common.money import fen_to_yuan, format_yuan
from common.sentences import sentence_of
from lending import selectors, services
from lending.charts import schedule_chart
from lending.forms import DrawAcceptForm, QuoteForm, RepayForm
from lending.models import CreditLine, Loan
from lending.services.products import rate_text
from merchants.models import Merchant


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("partner").filter(user=request.user).first()


def _line(merchant: Merchant, line_id: int) -> CreditLine:
    try:
        return selectors.credit_line_get_for_merchant(merchant=merchant, line_id=line_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _loan(merchant: Merchant, reference: str) -> Loan:
    try:
        return selectors.loan_get_for_merchant(merchant=merchant, reference=reference)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _add_errors(form, exc: ApplicationError, field: str = "amount") -> None:
    """A service's refusal on the form: beside the field it names when the form has it."""
    fields = exc.extra.get("fields") or {}
    if field in fields and field in form.fields:
        form.add_error(field, sentence_of(exc))
    else:
        form.add_error(None, sentence_of(exc))


def _line_refusal(line: CreditLine) -> str | None:
    """Why nothing can be drawn on the line now, in words (its status by name, not its code)."""
    if line.status != CreditLine.Status.ACTIVE:
        return _(
            "This credit line cannot be drawn on: its status is “%(status)s”. "
            "Please contact us if you think this is wrong."
        ) % {"status": line.get_status_display()}
    if line.expires_on < business_date_today():
        return _("This credit line expired on %(date)s, so nothing can be drawn on it.") % {
            "date": line.expires_on.isoformat()
        }
    return None


@login_required
def loans(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    lines = [
        {
            "line": line,
            "limit": format_yuan(line.limit_fen),
            "used": format_yuan(line.used_fen),
            "available": format_yuan(line.available_fen),
            "rate": rate_text(line.daily_rate),
            "can_draw": line.available_fen > 0 and _line_refusal(line) is None,
        }
        for line in selectors.credit_lines_of_merchant(merchant=merchant)
    ]
    loan_rows = [
        {
            "loan": loan,
            "principal": format_yuan(loan.principal_fen),
            "outstanding": format_yuan(loan.total_outstanding_fen),
        }
        for loan in selectors.loans_of_merchant(merchant=merchant)[:100]
    ]
    return render(request, "portal/loans.html", {"merchant": merchant, "lines": lines, "loans": loan_rows})


def _quote_context(quote: services.Quote) -> dict:
    return {
        "quote": quote,
        "amount": format_yuan(quote.amount_fen),
        "fee": format_yuan(quote.fee_fen),
        "total_interest": format_yuan(quote.total_interest_fen),
        "total_cost": format_yuan(quote.total_cost_fen),
        "annual_cost": f"{quote.annual_cost.nominal_apr:.2%}",
        "rate": rate_text(quote.daily_rate),
        "schedule": [
            {
                "item": item,
                "principal": format_yuan(item.principal_fen),
                "interest": format_yuan(item.interest_fen),
                "total": format_yuan(item.total_fen),
            }
            for item in quote.schedule
        ],
    }


def _render_draw(request, line, *, quote_form, accept_form=None, quote=None, refusal=None, status=200):
    context = {
        "line": line,
        "refusal": refusal,
        "available": format_yuan(line.available_fen),
        "rate": rate_text(line.daily_rate),
        "quote_form": quote_form,
        "accept_form": accept_form,
    }
    if quote is not None:
        context.update(_quote_context(quote))
    return render(request, "portal/loan_draw.html", context, status=status)


@login_required
def loan_draw(request, line_id: int):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    line = _line(merchant, line_id)
    refusal = _line_refusal(line)
    if refusal is not None:
        status = 400 if request.method == "POST" else 200
        return _render_draw(request, line, quote_form=QuoteForm(), refusal=refusal, status=status)
    if request.method == "POST":
        return _loan_accept(request, merchant, line)
    if "amount" not in request.GET:
        return _render_draw(request, line, quote_form=QuoteForm())
    quote_form = QuoteForm(request.GET)
    if not quote_form.is_valid():
        return _render_draw(request, line, quote_form=quote_form, status=400)
    amount_fen = quote_form.cleaned_data["amount"]
    try:
        quote = services.loan_quote(line=line, amount_fen=amount_fen, start_on=business_date_today())
    except ApplicationError as exc:
        _add_errors(quote_form, exc)
        return _render_draw(request, line, quote_form=quote_form, status=exc.status_code)
    accept_form = DrawAcceptForm(
        initial={
            "amount": fen_to_yuan(amount_fen),
            "contract_sha256": quote.contract_sha256,
            "request_token": uuid.uuid4(),
        }
    )
    return _render_draw(request, line, quote_form=quote_form, accept_form=accept_form, quote=quote)


def _loan_accept(request, merchant: Merchant, line: CreditLine):
    accept_form = DrawAcceptForm(request.POST)
    if not accept_form.is_valid():
        # The quote form as sent (bound, so it can carry errors), with the amount's own error.
        quote_form = QuoteForm(data={"amount": request.POST.get("amount", "")})
        quote_form.is_valid()
        quote_form.add_error(None, _("The form is no longer valid. Please get a new quote."))
        return _render_draw(request, line, quote_form=quote_form, status=400)
    data = accept_form.cleaned_data
    try:
        loan = services.loan_draw(
            line=line,
            amount_fen=data["amount"],
            accepted_sha256=data["contract_sha256"],
            idempotency_key=f"portal:{merchant.pk}:{data['request_token']}",
            via="portal",
            user=request.user,
            on=business_date_today(),
        )
    except ApplicationError as exc:
        quote_form = QuoteForm(data={"amount": fen_to_yuan(data["amount"])})
        quote_form.is_valid()
        _add_errors(quote_form, exc)
        return _render_draw(request, line, quote_form=quote_form, status=exc.status_code)
    messages.success(
        request,
        _("¥%(amount)s is in your wallet (loan %(loan)s).")
        % {"amount": format_yuan(loan.principal_fen), "loan": loan.reference},
    )
    return redirect("portal:loan-detail", reference=loan.reference)


def _render_loan(request, loan: Loan, *, form: RepayForm | None = None, status=200):
    owed = services.loan_owed(loan)
    installments = [
        {
            "item": item,
            "principal": format_yuan(item.principal_fen),
            "interest": format_yuan(item.interest_fen),
            "paid_principal": format_yuan(item.paid_principal_fen),
            "paid_interest": format_yuan(item.paid_interest_fen),
        }
        for item in selectors.loan_installments(loan=loan)
    ]
    events = [
        {
            "event": event,
            "principal": format_yuan(event.principal_fen),
            "interest": format_yuan(event.interest_fen),
            "penalty": format_yuan(event.penalty_fen),
            "fee": format_yuan(event.fee_fen),
        }
        for event in selectors.loan_events(loan=loan)
    ]
    is_open = loan.status in (Loan.Status.ACTIVE, Loan.Status.OVERDUE)
    context = {
        "loan": loan,
        "principal": format_yuan(loan.principal_fen),
        "rate": rate_text(loan.daily_rate),
        "owed": {bucket: format_yuan(fen) for bucket, fen in owed.items()},
        "owed_total": format_yuan(sum(owed.values())),
        "installments": installments,
        "schedule_chart": schedule_chart([i["item"] for i in installments]),
        "events": events,
        "is_open": is_open,
        "form": form or (RepayForm(initial={"request_token": uuid.uuid4()}) if is_open else None),
        "contract": getattr(loan, "contract", None),
    }
    return render(request, "portal/loan_detail.html", context, status=status)


@login_required
def loan_detail(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    return _render_loan(request, _loan(merchant, reference))


@login_required
@require_POST
def loan_repay(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    loan = _loan(merchant, reference)
    form = RepayForm(request.POST)
    if not form.is_valid():
        return _render_loan(request, loan, form=form, status=400)
    data = form.cleaned_data
    try:
        event = services.loan_repay(
            loan=loan,
            amount_fen=None if data["repay_all"] else data["amount"],
            idempotency_key=f"portal:{merchant.pk}:{data['request_token']}",
            actor=f"portal:{request.user.get_username()}",
            on=business_date_today(),
        )
    except ApplicationError as exc:
        if "idempotency_key" in (exc.extra.get("fields") or {}):
            # The form sent again (back, then another amount): its token made one repayment.
            form.add_error(
                None,
                _(
                    "This repayment was already submitted with another amount (request %(token)s); "
                    "open the loan again to make a new repayment."
                )
                % {"token": data["request_token"]},
            )
        else:
            _add_errors(form, exc)
        loan.refresh_from_db()
        return _render_loan(request, loan, form=form, status=exc.status_code)
    if event is None:
        form.add_error("amount", _("The wallet has nothing available to repay with."))
        return _render_loan(request, loan, form=form, status=400)
    paid = event.principal_fen + event.interest_fen + event.penalty_fen + event.fee_fen
    messages.success(
        request, _("Repaid ¥%(amount)s on %(loan)s.") % {"amount": format_yuan(paid), "loan": loan.reference}
    )
    return redirect("portal:loan-detail", reference=loan.reference)
