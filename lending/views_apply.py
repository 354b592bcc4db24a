"""The seller's applications in the portal: apply for a credit loan or an order loan on one page
(the terms and the agreement shown at once, refreshed as the amount or the ticked orders
change), then follow the application through its stages to the money, accept new terms, appeal
a decline once, or withdraw. Each view parses the request, calls one service and shows the
result; a refusal is shown beside the field it names, never as a server error; another
merchant's application is "not found"."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import MoneyError, YuanFormField, format_yuan, yuan_to_fen
from common.sentences import sentence, sentence_of
from common.texts import localized, stored_text
from lending.models import Application, ApplicationStage, Loan, Product
from lending.pipeline import stage_title
from lending.services import applications as apps
from lending.services.products import rate_text
from merchants.models import Merchant, Order, OrderStatus

# The order loan's page lists at most this many pledgeable orders (newest first).
ORDERS_SHOWN = 300
# Declines the seller fixes on the form (another amount, other orders): shown beside the field
# instead of being recorded as a declined application.
FIXABLE = {"amount_out_of_range": "amount", "orders_not_pledgeable": "orders", "orders_too_small": "orders"}
_AMOUNT = {"min_value": Decimal("0.01"), "max_digits": 14, "decimal_places": 2}


def _to_fen(value) -> int:
    try:
        return yuan_to_fen(value)
    except (MoneyError, ArithmeticError) as exc:
        raise forms.ValidationError(str(exc)) from exc


class ApplyForm(forms.Form):
    amount = YuanFormField(label=gettext_lazy("Amount (¥)"), **_AMOUNT)
    orders = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    accept = forms.BooleanField(label=gettext_lazy("I accept the agreement"), required=False)
    contract_sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", required=False, widget=forms.HiddenInput)
    request_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here; whether it may be pledged is the service's rule.
        self.fields["orders"].valid_value = lambda value: str(value).isascii() and str(value).isdigit()

    def clean_amount(self) -> int:
        return _to_fen(self.cleaned_data["amount"])


class AcceptForm(forms.Form):
    contract_sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    request_token = forms.UUIDField(widget=forms.HiddenInput)


class AppealForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why the decision should change"), max_length=500)


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("partner").filter(user=request.user).first()


def _url_or_none(name: str, *args) -> str | None:
    """A page another part of the portal provides, when it is there."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _add_errors(form: forms.Form, exc: ApplicationError, default: str = "amount") -> None:
    """A service's refusal on the form, beside each field it names (non-field otherwise)."""
    fields = exc.extra.get("fields") or {}
    placed = False
    for name in fields:
        field = name if name in form.fields else ("accept" if name == "accepted_sha256" else None)
        if field is not None:
            form.add_error(field, sentence_of(exc))
            placed = True
    if not placed:
        form.add_error(default if default in form.fields and not fields else None, sentence_of(exc))


# --- Reads for these pages (scoped to the merchant: another's application is not found) -------


def _applications_of(merchant: Merchant):
    return Application.objects.filter(merchant=merchant).select_related("product", "loan")


def _application(merchant: Merchant, reference: str) -> Application:
    # A reference is short printable text: anything else (a NUL byte PostgreSQL refuses, 300
    # characters) is no application, not a server error.
    if not reference.isprintable() or len(reference) > 32:
        raise Http404("no such application")
    application = _applications_of(merchant).filter(reference=reference).first()
    if application is None:
        raise Http404("no such application")
    return application


def _pledgeable_orders(merchant: Merchant) -> list[Order]:
    """Shipped orders not settled and not pledged, newest first, as the pledge rule sees them."""
    return list(
        Order.objects.filter(merchant=merchant, status=OrderStatus.SHIPPED)
        .exclude(pledges__is_open=True)
        .order_by("-shipped_at", "-pk")
        .only("pk", "external_id", "amount_fen", "shipped_at", "placed_at")[: ORDERS_SHOWN + 1]
    )


def _product(request, merchant: Merchant) -> Product:
    code = request.GET.get("product") or request.POST.get("product") or "credit_loan"
    product = Product.objects.filter(code=code, is_active=True).first()
    if product is None:
        raise Http404("no such product")
    return product


# --- Terms -------------------------------------------------------------------------------------


def _terms_view(terms: apps.Terms | None, product: Product) -> dict:
    if terms is None:
        return {}
    quote = terms.quote
    view = {
        "outcome": terms.outcome,
        "reasons": localized(terms.reasons),
        "limit": format_yuan(terms.limit_fen),
        "rate": rate_text(terms.daily_rate) if terms.daily_rate is not None else "",
        "grade": terms.grade,
        "term": f"{terms.term} {product.get_term_unit_display()}" if terms.term else "",
    }
    if quote is not None:
        view.update(
            {
                "amount": format_yuan(quote.amount_fen),
                "total_interest": format_yuan(quote.total_interest_fen),
                "fee": format_yuan(quote.fee_fen),
                "total_cost": format_yuan(quote.total_cost_fen),
                "annual_cost": f"{quote.annual_cost.nominal_apr:.2%}",
                "contract_text": quote.contract_text,
                "contract_sha256": quote.contract_sha256,
                "maturity_on": quote.maturity_on.isoformat(),
                "schedule": [
                    {
                        "number": item.number,
                        "due_on": item.due_on.isoformat(),
                        "principal": format_yuan(item.principal_fen),
                        "interest": format_yuan(item.interest_fen),
                        "total": format_yuan(item.total_fen),
                    }
                    for item in quote.schedule
                ],
            }
        )
    return view


def _terms(merchant, product, amount_fen, order_ids) -> apps.Terms:
    return apps.application_terms(
        merchant=merchant,
        product=product,
        amount_fen=amount_fen,
        on=business_date_today(),
        order_ids=order_ids if product.is_pledged else None,
    )


def _fixable_errors(terms: apps.Terms) -> dict[str, list[str]]:
    """A decline the seller fixes on the form, by field; empty when the decline is not one."""
    if terms.outcome != "decline" or not terms.reasons:
        return {}
    if not all(r["code"] in FIXABLE for r in terms.reasons):
        return {}
    errors: dict[str, list[str]] = {}
    for reason in terms.reasons:
        errors.setdefault(FIXABLE[reason["code"]], []).append(sentence(stored_text(reason)))
    return errors


def _amount_from(value: str | None) -> int | None:
    if not value or len(value) > 40:
        return None
    try:
        fen = yuan_to_fen(value.strip())
    except (MoneyError, ArithmeticError):
        # ArithmeticError: decimal's InvalidOperation for a number too large to have cents ("1e26").
        return None
    return fen if fen > 0 else None


def _order_ids_from(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit()]


@login_required
def apply_terms(request):
    """The terms for an amount (and ticked orders), as JSON for the apply page's script."""
    merchant = _merchant(request)
    if merchant is None:
        return JsonResponse({"error": {"message": "no shop", "fields": {}}}, status=403)
    product = _product(request, merchant)
    if product.segment == Product.Segment.B2B:
        message = _("B2B member credit is applied for on the member pages")
        return JsonResponse({"error": {"message": message, "fields": {"product": [message]}}}, status=400)
    amount_fen = _amount_from(request.GET.get("amount"))
    if amount_fen is None:
        message = _("Enter an amount in yuan, e.g. 2000.00")
        return JsonResponse({"error": {"message": message, "fields": {"amount": [message]}}}, status=400)
    order_ids = _order_ids_from(request.GET.getlist("orders"))
    try:
        terms = _terms(merchant, product, amount_fen, order_ids)
    except ApplicationError as exc:
        return JsonResponse(
            {"error": {"message": sentence_of(exc), "fields": exc.extra.get("fields") or {}}}, status=400
        )
    return JsonResponse(
        {"terms": _terms_view(terms, product), "fields": _fixable_errors(terms)},
        json_dumps_params={"ensure_ascii": False},
    )


def _no_orders_context(merchant: Merchant, product: Product) -> dict:
    """An order loan with no order to pledge: what to do instead of a form that can only fail."""
    pledged = Order.objects.filter(merchant=merchant, status=OrderStatus.SHIPPED, pledges__is_open=True)
    return {
        "no_orders": True,
        "pledged_open": pledged.exists(),
        "credit_loan": Product.objects.filter(code="credit_loan", is_active=True)
        .exclude(pk=product.pk)
        .first(),
    }


def _render_apply(request, merchant, product, *, form, terms=None, ticked=(), status=200):
    orders = _pledgeable_orders(merchant) if product.is_pledged else []
    ticked = set(ticked)
    context = {
        "merchant": merchant,
        "product": product,
        "form": form,
        "terms": _terms_view(terms, product),
        "orders": [
            {"order": o, "amount": format_yuan(o.amount_fen), "ticked": o.pk in ticked}
            for o in orders[:ORDERS_SHOWN]
        ],
        "orders_capped": len(orders) > ORDERS_SHOWN,
        "orders_shown": ORDERS_SHOWN,
        "advance_rate_per_10000": int(product.advance_rate * 10_000),
        "advance_rate": f"{product.advance_rate * 100:.0f} %",
        "amount_range": f"{format_yuan(product.smallest_drawdown_fen)}"
        f" – {format_yuan(product.amount_max_fen)}",
        "member_apply_url": _url_or_none("portal:member-apply"),
        **(_no_orders_context(merchant, product) if product.is_pledged and not orders else {}),
        "outcome_words": {
            "pass": _("On today's figures you would be approved"),
            "decline": _("On today's figures this would be declined"),
            "refer": _("A person will decide"),
            "correct": _("Please correct"),
            # The instant path grants at most the decided line: a smaller amount than typed is said.
            "smaller": _(
                "You asked for ¥%(asked)s; the terms below are for the ¥%(granted)s that can be approved."
            ),
        },
    }
    return render(request, "portal/apply.html", context, status=status)


@login_required
def apply(request):
    """One page: the amount (and for an order loan the orders to pledge), the terms and the
    agreement at once, the acceptance, and submit."""
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    product = _product(request, merchant)
    if product.segment == Product.Segment.B2B:
        member_url = _url_or_none("portal:member-apply")
        if member_url:
            return redirect(f"{member_url}?product={product.code}")
        messages.info(request, _("B2B member credit: please contact us"))
        return redirect("portal:overview")
    if request.method == "POST":
        return _apply_submit(request, merchant, product)
    # A plain GET with an amount (the page without its script) shows the terms for it.
    amount_fen = _amount_from(request.GET.get("amount"))
    order_ids = _order_ids_from(request.GET.getlist("orders"))
    form = ApplyForm(initial={"request_token": uuid.uuid4(), "amount": request.GET.get("amount")})
    terms = None
    if amount_fen is not None:
        try:
            terms = _terms(merchant, product, amount_fen, order_ids)
        except ApplicationError as exc:
            _add_errors(form, exc)
        else:
            for field, problems in _fixable_errors(terms).items():
                for problem in problems:
                    form.add_error(field, problem)
    return _render_apply(request, merchant, product, form=form, terms=terms, ticked=order_ids)


def _apply_submit(request, merchant: Merchant, product: Product):
    form = ApplyForm(request.POST)
    ticked = _order_ids_from(request.POST.getlist("orders"))

    def again(terms=None, status=400):
        return _render_apply(request, merchant, product, form=form, terms=terms, ticked=ticked, status=status)

    if not form.is_valid():
        if "request_token" in form.errors or "contract_sha256" in form.errors:
            form.add_error(None, _("The form is out of date: check the terms and apply again"))
        return again()
    data = form.cleaned_data
    order_ids = data.get("orders") or []
    if product.is_pledged and not order_ids:
        form.add_error("orders", _("Tick the shipped orders to pledge"))
        return again()
    try:
        terms = _terms(merchant, product, data["amount"], order_ids)
    except ApplicationError as exc:
        _add_errors(form, exc)
        return again(status=exc.status_code)
    fixable = _fixable_errors(terms)
    if fixable:
        for field, problems in fixable.items():
            for problem in problems:
                form.add_error(field, problem)
        return again(terms)
    accepted = ""
    if terms.quote is not None:
        if not data["accept"]:
            form.add_error("accept", _("Read and accept the agreement to apply"))
        elif terms.quote.accepted_text(data["contract_sha256"]) is None:
            form.add_error(
                "accept",
                _("The terms have changed: read the agreement below and accept it again"),
            )
        else:
            accepted = data["contract_sha256"]
        if not accepted:
            return again(terms)
    try:
        application = apps.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=data["amount"],
            channel=Application.Channel.PORTAL,
            on=business_date_today(),
            user=request.user,
            idempotency_key=f"portal:{merchant.pk}:{data['request_token']}",
            pledged_order_ids=order_ids if product.is_pledged else None,
            accepted_sha256=accepted,
        )
    except ApplicationError as exc:
        _add_errors(form, exc)
        return again(terms, status=exc.status_code)
    return redirect("portal:application", reference=application.reference)


# --- One application ---------------------------------------------------------------------------

_STEP_WORDS = {
    ApplicationStage.Status.PASSED: "passed",
    ApplicationStage.Status.WAITING: "waiting",
    ApplicationStage.Status.RUNNING: "waiting",
    ApplicationStage.Status.DECLINED: "declined",
    ApplicationStage.Status.SKIPPED: "skipped",
    ApplicationStage.Status.CANCELLED: "cancelled",
}


def application_is_paying(application: Application) -> bool:
    """Approved on the instant path and the payout not through yet (asynchronous payout)."""
    return (
        application.status == Application.Status.APPROVED
        and application.loan_id is None
        and application.line_id is None
        and bool(application.accepted_sha256)
    )


def application_needs_acceptance(application: Application) -> bool:
    """Approved with its line open, but the loan not drawn: the terms changed since they were
    accepted, so the new agreement is shown for acceptance."""
    product = application.product
    return (
        application.status == Application.Status.APPROVED
        and application.line_id is not None
        and application.loan_id is None
        and not product.is_revolving
        and not product.needs_video_check
    )


def decision_words(application: Application) -> str:
    status = application.status
    Status = Application.Status
    if status == Status.DISBURSED:
        return _("Approved and paid: the money is in your wallet")
    if status == Status.APPROVED:
        if application_is_paying(application):
            return _("Approved: the money is on its way to your wallet")
        if application_needs_acceptance(application):
            return _("Approved on new terms: read and accept the agreement below")
        return _("Approved: your credit line is open")
    if status == Status.DECLINED:
        return _("We are sorry: this application was declined")
    if status == Status.WITHDRAWN:
        return _("You withdrew this application")
    if status == Status.REFERRED:
        return _("A person is looking at your application")
    return _("Being decided")


def _status_payload(application: Application) -> dict:
    loan = application.loan
    return {
        "reference": application.reference,
        "status": application.status,
        "status_label": application.get_status_display(),
        "decision": decision_words(application),
        "is_paying": application_is_paying(application),
        "needs_acceptance": application_needs_acceptance(application),
        "loan": None
        if loan is None
        else {
            "reference": loan.reference,
            "principal": format_yuan(loan.principal_fen),
            "url": reverse("portal:loan-detail", args=[loan.reference]),
        },
    }


def _render_application(request, merchant, application, *, accept_error="", appeal_form=None, status=200):
    application.refresh_from_db()
    stages = [
        {
            "row": row,
            "title": stage_title(row.name),
            "word": _STEP_WORDS.get(row.status, row.status),
        }
        for row in application.stages.order_by("position")
    ]
    quote_view = {}
    accept_form = None
    if application_needs_acceptance(application):
        try:
            quote = apps.application_quote(application=application, on=business_date_today())
        except ApplicationError as exc:
            quote_view = {"error": sentence_of(exc)}
        else:
            quote_view = _terms_view(
                apps.Terms(
                    outcome="pass",
                    reasons=[],
                    limit_fen=application.decided_limit_fen or 0,
                    daily_rate=quote.daily_rate,
                    grade=application.decided_grade,
                    term=quote.term,
                    quote=quote,
                ),
                application.product,
            )
            accept_form = AcceptForm(
                initial={"contract_sha256": quote.contract_sha256, "request_token": uuid.uuid4()}
            )
    is_appeal = application.appeal_of_id is not None
    appeal = Application.objects.filter(appeal_of=application).only("reference").first()
    can_appeal = application.status == Application.Status.DECLINED and not is_appeal and appeal is None
    is_b2b = application.product.segment == Product.Segment.B2B
    interviews = list(application.interviews.order_by("-booked_at")[:3]) if is_b2b else []
    ref = application.reference
    context = {
        "merchant": merchant,
        "application": application,
        "amount": format_yuan(application.amount_fen),
        "limit": format_yuan(application.decided_limit_fen) if application.decided_limit_fen else "",
        "rate": rate_text(application.decided_rate) if application.decided_rate is not None else "",
        "stages": stages,
        "decision": decision_words(application),
        "payload": _status_payload(application),
        "poll": application_is_paying(application) or application.status == Application.Status.SUBMITTED,
        "poll_ms": 1500,
        "quote": quote_view,
        "accept_form": accept_form,
        "accept_error": accept_error,
        "can_appeal": can_appeal,
        "appeal_form": appeal_form or (AppealForm() if can_appeal else None),
        "appeal": appeal,
        "is_appeal": is_appeal,
        "can_withdraw": application.is_open,
        "member_links": {
            "book": _url_or_none("portal:application-book", ref),
            "documents": _url_or_none("portal:application-documents", ref),
            "accept": _url_or_none("portal:member-application", ref),  # where its accept form is
        }
        if is_b2b
        else {},
        "interviews": interviews,
        # The member's card only with something in it: a declined application that booked no
        # interview has neither an interview to show nor a step left to take.
        "member_card": is_b2b
        and bool(interviews or application.is_open or application.status == Application.Status.APPROVED),
    }
    return render(request, "portal/application.html", context, status=status)


@login_required
def application_detail(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    return _render_application(request, merchant, _application(merchant, reference))


@login_required
def application_status(request, reference: str):
    """The application's status as JSON: the page polls it while the money is on its way."""
    merchant = _merchant(request)
    if merchant is None:
        return JsonResponse({"error": {"message": "no shop", "fields": {}}}, status=403)
    return JsonResponse(
        _status_payload(_application(merchant, reference)), json_dumps_params={"ensure_ascii": False}
    )


@login_required
@require_POST
def application_draw(request, reference: str):
    """Accept an approved application's new agreement: the loan is drawn on it."""
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    application = _application(merchant, reference)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _render_application(
            request,
            merchant,
            application,
            accept_error=_("Please accept the agreement again"),
            status=400,
        )
    if not application_needs_acceptance(application):
        messages.info(request, _("This application has no agreement waiting"))
        return redirect("portal:application", reference=reference)
    try:
        loan: Loan = apps.application_draw(
            application=application,
            accepted_sha256=form.cleaned_data["contract_sha256"],
            idempotency_key=f"portal:{merchant.pk}:{form.cleaned_data['request_token']}",
            via="portal",
            on=business_date_today(),
            user=request.user,
        )
    except ApplicationError as exc:
        # The agreement shown again, as it stands now, with why the acceptance was refused.
        return _render_application(
            request, merchant, application, accept_error=sentence_of(exc), status=exc.status_code
        )
    messages.success(
        request,
        _("¥%(amount)s is in your wallet (loan %(loan)s).")
        % {"amount": format_yuan(loan.principal_fen), "loan": loan.reference},
    )
    return redirect("portal:application", reference=reference)


@login_required
@require_POST
def application_appeal(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    application = _application(merchant, reference)
    form = AppealForm(request.POST)
    if not form.is_valid():
        return _render_application(request, merchant, application, appeal_form=form, status=400)
    try:
        appeal = apps.application_appeal(
            application=application,
            reason=form.cleaned_data["reason"],
            on=business_date_today(),
            user=request.user,
        )
    except ApplicationError as exc:
        field = "reason" if "reason" in (exc.extra.get("fields") or {}) else None
        form.add_error(field, sentence_of(exc))
        return _render_application(request, merchant, application, appeal_form=form, status=exc.status_code)
    messages.success(
        request, _("Your appeal %(reference)s was decided again") % {"reference": appeal.reference}
    )
    return redirect("portal:application", reference=appeal.reference)


@login_required
@require_POST
def application_withdraw(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    application = _application(merchant, reference)
    try:
        apps.application_withdraw(
            application=application,
            actor=f"portal:{request.user.get_username()}"[:100],
            on=business_date_today(),
        )
    except ApplicationError as exc:
        messages.error(request, f"{_('Not withdrawn.')} {sentence_of(exc)}")
    else:
        messages.info(request, _("Application withdrawn"))
    return redirect("portal:application", reference=reference)


@login_required
def applications(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    rows = [
        {"application": a, "amount": format_yuan(a.amount_fen), "decision": decision_words(a)}
        for a in _applications_of(merchant)[:200]
    ]
    return render(request, "portal/applications.html", {"merchant": merchant, "rows": rows})
