"""The B2B member's pages (会员): apply for a revolving line or a fixed loan with last year's
figures, the owner's questionnaire and documents; book the video interview; add documents;
follow the application stage by stage; accept the fixed loan's agreement once approved. Each view
parses its form and calls the services; a refusal is shown beside the field it names, never as a
server error, and nothing a member posts can set a status, a stage or a limit."""

import logging
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import format_yuan
from common.sentences import sentence_of
from common.texts import localized
from lending import pipeline
from lending.forms_member import (
    DECLARED_FORM_FIELDS,
    AcceptForm,
    BookForm,
    DocumentForm,
    MemberApplyForm,
    document_field,
    document_limits,
    question_field,
)
from lending.models import Application, ApplicationStage, Product, VideoInterview
from lending.services import applications as apps
from lending.services.products import rate_text
from merchants.models import Merchant
from merchants.services import declared_financials_record, questionnaire_record

logger = logging.getLogger(__name__)

STATE_LABELS = {
    **dict(ApplicationStage.Status.choices),
    "pending": gettext_lazy("Not reached yet"),
}


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("partner", "owner").filter(user=request.user).first()


def _application(merchant: Merchant, reference: str) -> Application:
    """The merchant's own application; anyone else's (or an unprintable reference) is not found."""
    if not reference.isprintable() or len(reference) > 32:
        raise Http404("no such application")
    application = (
        Application.objects.select_related("product", "line", "loan")
        .filter(merchant=merchant, reference=reference)
        .first()
    )
    if application is None:
        raise Http404("no such application")
    return application


def _b2b_products():
    return Product.objects.filter(segment=Product.Segment.B2B, is_active=True).order_by("code")


def _form_field(name: str, document_kind: str | None = None) -> str:
    """A service's field name (declared.sales_fen, questionnaire.plan_ahead, sales_fen, file) as the
    apply form's field."""
    if name.startswith("declared."):
        name = name.removeprefix("declared.")
    if name.startswith("questionnaire."):
        return question_field(name.removeprefix("questionnaire."))
    if name in DECLARED_FORM_FIELDS:
        return DECLARED_FORM_FIELDS[name]
    if name in ("file", "kind") and document_kind:
        return document_field(document_kind)
    return name


def _add_errors(form, exc: ApplicationError, *, document_kind: str | None = None) -> None:
    """A service's refusal on the form: beside each field it names that the form has."""
    fields = exc.extra.get("fields") or {}
    placed = False
    for name, problems in fields.items():
        target = _form_field(name, document_kind)
        if target not in form.fields and question_field(name) in form.fields:
            target = question_field(name)
        if target in form.fields:
            text = sentence_of(exc if len(fields) == 1 else "; ".join(str(p) for p in problems))
            form.add_error(target, text)
            placed = True
    if not placed:
        form.add_error(None, sentence_of(exc))


class _DocumentRefused(Exception):
    def __init__(self, kind: str, error: ApplicationError):
        super().__init__(error.message)
        self.kind = kind
        self.error = error


def _render_apply(request, form, status=200):
    context = {"form": form, "document_limits": document_limits(), "products": _b2b_products()}
    return render(request, "portal/member_apply.html", context, status=status)


@login_required
def member_apply(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    on = business_date_today()
    products = _b2b_products()
    if request.method != "POST":
        chosen = products.filter(code=request.GET.get("product", "")).first()
        initial = {"product": chosen, "request_token": uuid.uuid4()}
        return _render_apply(request, MemberApplyForm(on=on, products=products, initial=initial))
    form = MemberApplyForm(request.POST, request.FILES, on=on, products=products)
    if not form.is_valid():
        return _render_apply(request, form, status=400)
    data = form.cleaned_data
    idempotency_key = f"portal:{merchant.pk}:{data['request_token']}"
    sent_before = Application.objects.filter(merchant=merchant, idempotency_key=idempotency_key).first()
    if sent_before is not None:
        return redirect("portal:member-application", reference=sent_before.reference)
    declared = form.declared()
    stored = []
    try:
        # One transaction: a refused figure or file leaves no application, no declaration and no
        # document row behind (and the files already written are removed below).
        with transaction.atomic():
            application = apps.application_submit(
                merchant=merchant,
                product=data["product"],
                amount_fen=data["amount"],
                channel=Application.Channel.PORTAL,
                on=on,
                user=request.user,
                declared=declared,
                questionnaire=form.answers(),
                idempotency_key=idempotency_key,
            )
            if application.is_open:
                for kind, upload in form.uploads():
                    try:
                        stored.append(
                            apps.application_document_add(application=application, kind=kind, upload=upload)
                        )
                    except ApplicationError as exc:
                        raise _DocumentRefused(kind, exc) from exc
            declared_financials_record(merchant=merchant, on=on, **declared)
            questionnaire_record(owner=merchant.owner, answers=form.answers())
    except (ApplicationError, _DocumentRefused) as exc:
        _forget_files(stored)
        if isinstance(exc, _DocumentRefused):
            _add_errors(form, exc.error, document_kind=exc.kind)
            return _render_apply(request, form, status=exc.error.status_code)
        _add_errors(form, exc)
        return _render_apply(request, form, status=exc.status_code)
    except Exception:
        _forget_files(stored)
        raise
    messages.success(
        request,
        _("Application %(reference)s submitted: %(status)s")
        % {"reference": application.reference, "status": application.get_status_display()},
    )
    return redirect("portal:member-application", reference=application.reference)


def _forget_files(documents) -> None:
    """Files written for documents whose rows were rolled back."""
    for document in documents:
        try:
            document.file.storage.delete(document.file.name)
        except OSError:
            logger.warning("could not remove the unused upload %s", document.file.name)


def _stages(application: Application) -> list[dict]:
    """Every stage of the product's pipeline, in order, with where the application stands in it."""
    rows = {row.name: row for row in application.stages.all()}
    stages = []
    for name in pipeline.pipeline_of(application.product):
        row = rows.pop(name, None)
        stages.append(_stage_view(name, row))
    stages.extend(_stage_view(name, row) for name, row in rows.items())
    return stages


def _stage_view(name: str, row: ApplicationStage | None) -> dict:
    try:
        title = pipeline.stage_load(name).title
    except (ImportError, TypeError, AttributeError):
        title = name
    state = row.status if row is not None else "pending"
    return {
        "name": name,
        "title": title,
        "state": state,
        "state_label": STATE_LABELS.get(state, state),
        "row": row,
        "reasons": _reasons_shown(row),
    }


def _reasons_shown(row: ApplicationStage | None) -> list[dict]:
    """What the member reads of a stage: a machine's reasons and a person's reason to decline;
    an officer's findings on a case it passed are the lender's notes, not the member's."""
    if row is None:
        return []
    if row.kind == ApplicationStage.Kind.HUMAN and row.status == ApplicationStage.Status.PASSED:
        return []
    return localized(row.reasons)


def _quote_context(quote) -> dict:
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


def _video_passed(application: Application) -> bool:
    return application.stages.filter(
        name__endswith="video_check", status=ApplicationStage.Status.PASSED
    ).exists()


def _render_tracker(request, application: Application, *, accept_error: str = "", status: int = 200):
    product = application.product
    interview = application.interviews.filter(outcome=VideoInterview.Outcome.BOOKED).first() or (
        application.interviews.order_by("-booked_at").first()
    )
    video_passed = _video_passed(application)
    context = {
        "application": application,
        "product": product,
        "amount": format_yuan(application.amount_fen),
        "stages": _stages(application),
        "interview": interview,
        "documents": application.documents.order_by("uploaded_at", "pk"),
        "video_passed": video_passed,
        # A declined or withdrawn application that never booked an interview has nothing to book.
        "closed_unbooked": not application.is_open and interview is None,
        "can_book": application.is_open and product.needs_video_check and not video_passed,
        "accept_error": accept_error,
        "limit": format_yuan(application.decided_limit_fen) if application.decided_limit_fen else "",
        "rate": rate_text(application.decided_rate) if application.decided_rate else "",
        "loan": application.loan,
    }
    if (
        application.status == Application.Status.APPROVED
        and not product.is_revolving
        and application.line_id
        and application.loan_id is None
    ):
        try:
            quote = apps.application_quote(application=application, on=business_date_today())
        except ApplicationError as exc:
            context["quote_error"] = sentence_of(exc)
        else:
            context.update(_quote_context(quote))
            context["accept_form"] = AcceptForm(
                initial={"contract_sha256": quote.contract_sha256, "request_token": uuid.uuid4()}
            )
    return render(request, "portal/member_application.html", context, status=status)


@login_required
def member_application(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    return _render_tracker(request, _application(merchant, reference))


@login_required
@require_POST
def application_accept(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    application = _application(merchant, reference)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _render_tracker(
            request,
            application,
            accept_error=_("The form is no longer valid; reload the page"),
            status=400,
        )
    try:
        loan = apps.application_draw(
            application=application,
            accepted_sha256=form.cleaned_data["contract_sha256"],
            idempotency_key=f"portal:{merchant.pk}:{form.cleaned_data['request_token']}",
            via="portal",
            user=request.user,
            on=business_date_today(),
        )
    except ApplicationError as exc:
        application.refresh_from_db()
        text = sentence_of(exc)
        if not _video_passed(application):
            text = _("No money moves before the video check passes: %(reason)s") % {"reason": text}
        return _render_tracker(request, application, accept_error=text, status=exc.status_code)
    messages.success(
        request,
        _("¥%(amount)s is in your wallet (loan %(loan)s).")
        % {"amount": format_yuan(loan.principal_fen), "loan": loan.reference},
    )
    return redirect("portal:member-application", reference=application.reference)


def _render_book(request, application: Application, form: BookForm, status=200):
    on = business_date_today()
    slots = apps.interview_slots(on=on)
    days: dict = {}
    for slot in slots:
        local = timezone.localtime(slot["starts_at"])
        days.setdefault(local.date(), []).append(
            {**slot, "value": slot["starts_at"].isoformat(), "local": local}
        )
    context = {
        "application": application,
        "form": form,
        "days": sorted(days.items()),
        "booked": application.interviews.filter(outcome=VideoInterview.Outcome.BOOKED).first(),
    }
    return render(request, "portal/member_book.html", context, status=status)


def _tell_member(request, application: Application, interview: VideoInterview) -> None:
    """The member hears of the booking by email too, when its login has an address."""
    address = request.user.email
    if not address:
        return
    starts = timezone.localtime(interview.starts_at)
    try:
        send_mail(
            subject=_("Video interview booked · %(reference)s") % {"reference": application.reference},
            message=_(
                "Your video interview is booked for %(starts)s (China time) at %(url)s\n"
                "Application %(reference)s"
            )
            % {
                "starts": f"{starts:%Y-%m-%d %H:%M}",
                "url": interview.meeting_url,
                "reference": application.reference,
            },
            from_email=None,
            recipient_list=[address],
        )
    except Exception:  # the booking stands; the page shows it whatever the mail server does
        logger.exception("could not email the interview booking of %s", application.reference)


@login_required
def application_book(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    application = _application(merchant, reference)
    if request.method != "POST":
        return _render_book(request, application, BookForm())
    form = BookForm(request.POST)
    if not form.is_valid():
        return _render_book(request, application, form, status=400)
    try:
        interview = apps.interview_book(
            application=application, starts_at=form.cleaned_data["starts_at"], on=business_date_today()
        )
    except ApplicationError as exc:
        field = "starts_at" if "starts_at" in (exc.extra.get("fields") or {}) else None
        form.add_error(field, sentence_of(exc))
        return _render_book(request, application, form, status=exc.status_code)
    _tell_member(request, application, interview)
    starts = timezone.localtime(interview.starts_at)
    messages.success(
        request,
        _("Video interview booked: %(starts)s · %(url)s")
        % {"starts": f"{starts:%Y-%m-%d %H:%M}", "url": interview.meeting_url},
    )
    return redirect("portal:member-application", reference=application.reference)


def _render_documents(request, application: Application, form: DocumentForm, status=200):
    context = {
        "application": application,
        "form": form,
        "documents": application.documents.order_by("uploaded_at", "pk"),
        "document_limits": document_limits(),
    }
    return render(request, "portal/member_documents.html", context, status=status)


@login_required
def application_documents(request, reference: str):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    application = _application(merchant, reference)
    if request.method != "POST":
        return _render_documents(request, application, DocumentForm())
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_documents(request, application, form, status=400)
    try:
        document = apps.application_document_add(
            application=application, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
    except ApplicationError as exc:
        fields = exc.extra.get("fields") or {}
        form.add_error(next((f for f in ("file", "kind") if f in fields), None), sentence_of(exc))
        return _render_documents(request, application, form, status=exc.status_code)
    messages.success(request, _("Uploaded %(name)s") % {"name": document.original_name})
    return redirect("portal:application-documents", reference=application.reference)
