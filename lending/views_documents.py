"""The merchant's documents in the portal: the accepted loan agreement as PDF, a loan's statement
and a month's statement as PDF or CSV, the list of months, and the orders pledged to a loan. A
merchant reaches only its own loans (another's is "not found"); a bad month is a 400 that names
the field."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from common.business_date import business_date_today
from common.errors import ApplicationError, NotFoundError
from common.money import format_yuan
from common.sentences import sentence_of
from lending import documents, selectors
from lending.models import Loan, Pledge
from merchants.models import Merchant
from payments import selectors as payment_selectors

PLEDGES_PER_PAGE = 25
CONTENT_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("partner").filter(user=request.user).first()


def _loan(merchant: Merchant, reference: str) -> Loan:
    try:
        return selectors.loan_get_for_merchant(merchant=merchant, reference=reference)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _download(content: bytes, *, filename: str, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def loan_agreement_pdf(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    loan = _loan(merchant, reference)
    if not hasattr(loan, "contract"):
        raise Http404(_("This loan has no accepted agreement."))
    loan.merchant = merchant
    return _download(documents.agreement_pdf(loan=loan), filename=f"agreement-{loan.reference}", fmt="pdf")


@login_required
def loan_statement(request, reference: str, fmt: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    loan = _loan(merchant, reference)
    statement = documents.loan_statement(loan=loan, today=business_date_today())
    render_as = documents.statement_pdf if fmt == "pdf" else documents.statement_csv
    return _download(render_as(statement), filename=statement.filename, fmt=fmt)


def _statements_page(request, merchant: Merchant, *, error: str = "", status: int = 200):
    months = documents.months_of_merchant(merchant=merchant, today=business_date_today())
    context = {
        "merchant": merchant,
        "months": [f"{m:%Y-%m}" for m in months],
        "error": error,
        "month_asked": request.GET.get("month", ""),
    }
    return render(request, "portal/statements.html", context, status=status)


@login_required
def statements(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    return _statements_page(request, merchant)


@login_required
def statement_month(request, fmt: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    try:
        first = documents.month_parse(request.GET.get("month"))
    except ApplicationError as exc:
        return _statements_page(request, merchant, error=sentence_of(exc), status=400)
    wallet = payment_selectors.wallet_for_merchant(merchant=merchant)
    statement = documents.monthly_statement(merchant=merchant, wallet=wallet, first=first)
    render_as = documents.statement_pdf if fmt == "pdf" else documents.statement_csv
    return _download(render_as(statement), filename=statement.filename, fmt=fmt)


@login_required
def loan_pledges(request, reference: str):
    """The orders pledged to one loan, a page at a time (a fixed number of queries per page)."""
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    loan = _loan(merchant, reference)
    pledges = Pledge.objects.filter(loan=loan).select_related("order").order_by("id")
    page = Paginator(pledges, PLEDGES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "pledge": p,
            "order": p.order,
            "value": format_yuan(p.value_fen),
            "amount": format_yuan(p.order.amount_fen),
        }
        for p in page.object_list
    ]
    return render(request, "portal/loan_pledges.html", {"loan": loan, "page": page, "rows": rows})
