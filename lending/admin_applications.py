"""The officers' workbench for the credit assembly line: the people's queues (video check, field
inspection, officer approval), the case page with the whole history of an application, and the
inspectors' own visits. Every action calls one service of lending.services.applications; a
refusal is shown as an admin message, never a 500.

Permissions (model permissions, so the roles migration can grant them to groups):
- a queue page: lending.view_applicationstage;
- a case page: lending.view_application; a document's file: lending.view_applicationdocument;
- claim, release and decide a case: lending.change_applicationstage;
- give a field visit to an inspector: lending.add_fieldinspection;
- an inspector's visits: lending.view_fieldinspection (only its own, unless superuser);
  recording a visit: lending.change_fieldinspection."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.admin_filters import BusinessDateFieldListFilter
from common.business_date import business_date_today, business_now
from common.errors import ApplicationError
from common.money import format_yuan
from common.sentences import reads_chinese, sentence
from lending import ops
from lending.models import Application, ApplicationDocument, ApplicationStage, FieldInspection, VideoInterview
from lending.services import applications as services
from lending.services.products import rate_text
from merchants.admin import ReadOnlyAdmin
from merchants.questionnaire import QUESTIONS

PERM_QUEUE = "lending.view_applicationstage"
PERM_CASE = "lending.view_application"
PERM_WORK = "lending.change_applicationstage"
PERM_DOCUMENT = "lending.view_applicationdocument"
PERM_ASSIGN = "lending.add_fieldinspection"
PERM_RECORD = "lending.change_fieldinspection"

# The officer's decision on a stage, as the message after it names it.
OUTCOME_WORDS = {
    "pass": _("passed"),
    "decline": _("declined"),
    "inspect": _("sent to a field inspection"),
}


# Where an application stands, in words: its status with the stage it is at (still open) or the
# stage that settled it (declined, withdrawn); once approved or paid every stage has passed, so
# the last stage is named as passed, not as where it stands.
WHERE_WORDS = {
    Application.Status.SUBMITTED: _("Being decided · at %(stage)s"),
    Application.Status.REFERRED: _("With an officer · waiting at %(stage)s"),
    Application.Status.APPROVED: _("Approved · all stages passed (last: %(stage)s)"),
    Application.Status.DISBURSED: _("Money paid · all stages passed (last: %(stage)s)"),
    Application.Status.DECLINED: _("Declined at %(stage)s"),
    Application.Status.WITHDRAWN: _("Withdrawn at %(stage)s"),
}


def application_where(application: Application) -> str:
    """The application's status and stage in one phrase that reads right after payout too."""
    stage = application.current_stage_title
    if not stage:
        return str(application.get_status_display())
    return str(WHERE_WORDS[application.status]) % {"stage": stage}


def _yuan(fen):
    return format_yuan(fen) if fen is not None else "-"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"needs {permission}")


def _problem(exc: ApplicationError) -> str:
    # A reason the rule wrote in a Chinese reader's language stands alone (the fields' entries
    # are words for programs, in English); an English one also names the fields at fault.
    if reads_chinese(exc.message):
        return sentence(exc.message)
    fields = exc.extra.get("fields") or {}
    named = "; ".join(f"{name}: {', '.join(map(str, problems))}" for name, problems in fields.items())
    return f"{exc.message} ({named})" if named and named not in exc.message else exc.message


def _checklist(application: Application) -> list[dict]:
    """The declared check's checklist, its labels in the reader's language (a row written before
    they were msgids keeps its own label)."""
    row = application.stages.filter(name__endswith=".declared_check").order_by("-position").first()
    items = list((row.detail or {}).get("checklist", [])) if row is not None else []
    return [
        {
            **item,
            "label": gettext(item.get("label", "")),
            "observed": gettext(item["observed_msgid"]) % {"amount": item.get("observed", "")}
            if item.get("observed_msgid")
            else item.get("observed", ""),
        }
        for item in items
    ]


def _back(request, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    """Applications, read-only: what they are and where they stand. The work on them happens in
    the queues and on the case page."""

    list_display = ["reference", "shop", "product", "amount", "status", "stage", "submitted_at"]
    # A date filter, not a date hierarchy (DISTINCT years, first and last over every application).
    list_filter = ["status", "product", "channel", ("submitted_at", BusinessDateFieldListFilter)]
    search_fields = ["reference", "merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant__partner", "product"]
    show_full_result_count = False
    change_list_template = "admin/lending/application/change_list.html"

    @admin.display(description=_("merchant"), ordering="merchant__shop_name")
    def shop(self, obj):
        return obj.merchant.shop_name

    @admin.display(description="current stage", ordering="current_stage")  # the field's label
    def stage(self, obj):
        return obj.current_stage_title or "-"

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def amount(self, obj):
        return _yuan(obj.amount_fen)

    def changelist_view(self, request, extra_context=None):
        extra = {"queue_counts": [(q, title, n) for q, (title, n) in self._counts().items()]}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def _counts(self) -> dict:
        counts = ops.queue_counts()
        return {queue: (title, counts[queue]) for queue, title in ops.QUEUES.items()}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The case page is the application's page.
        if not str(object_id).isdigit():
            raise Http404("no such application")
        if not self.has_view_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:lending_case", args=[object_id]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("queue/<str:queue>/", view(self.queue_view), name="lending_queue"),
            path("<int:pk>/case/", view(self.case_view), name="lending_case"),
            path("document/<int:pk>/", view(self.document_view), name="lending_document"),
            *super().get_urls(),
        ]

    # --- A queue ---------------------------------------------------------------------------

    def queue_view(self, request, queue: str):
        _require(request, PERM_QUEUE)
        if queue not in ops.QUEUES:
            raise Http404("no such queue")
        now = business_now()
        cases = ops.queue_cases(queue=queue)
        rows = []
        for case in cases:
            application = case.application
            approvals = (case.detail or {}).get("approvals", [])
            rows.append(
                {
                    "case": case,
                    "application": application,
                    "amount": _yuan(application.amount_fen),
                    "limit": _yuan(application.decided_limit_fen),
                    "is_late": case.due_at is not None and case.due_at < now,
                    "interview": next(iter(application.booked_interviews), None),
                    "inspection": next(iter(application.pending_inspections), None),
                    "is_mine": case.assignee_id == request.user.pk,
                    "first_approval": approvals[0]["by"] if approvals else "",
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("%(queue)s · %(count)s waiting") % {"queue": ops.QUEUES[queue], "count": len(rows)},
            "queue": queue,
            "queue_title": ops.QUEUES[queue],
            "rows": rows,
            "waiting": len(rows),
            "late": sum(1 for r in rows if r["is_late"]),
            "queues": [(q, title, n) for q, (title, n) in self._counts().items()],
            "can_work": request.user.has_perm(PERM_WORK),
            "second_from": _yuan(settings.LENDING_SECOND_APPROVAL_FROM_FEN),
        }
        return TemplateResponse(request, "admin/lending/queue.html", context)

    # --- A case ----------------------------------------------------------------------------

    def case_view(self, request, pk: int):
        _require(request, PERM_CASE)
        application = get_object_or_404(
            Application.objects.select_related("merchant__owner", "product", "line", "appeal_of"), pk=pk
        )
        here = reverse("admin:lending_case", args=[pk])
        if request.method == "POST":
            return self._case_post(request, application, here)
        stages = list(application.stages.select_related("assignee").order_by("position"))
        case = next((s for s in stages if s.status == ApplicationStage.Status.WAITING), None)
        approvals = (case.detail or {}).get("approvals", []) if case else []
        inspectors = []
        if case is not None and case.queue == "field_inspection":
            inspectors = list(
                get_user_model()
                .objects.filter(is_active=True, groups__name="inspector")
                .order_by("username")
                .distinct()
            )
        now = business_now()
        interviews = list(application.interviews.select_related("officer").order_by("starts_at"))
        # At the video check, pass and field inspection wait for the booked slot to begin.
        not_yet = next(
            (i for i in interviews if i.outcome == VideoInterview.Outcome.BOOKED and i.starts_at > now),
            None,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Case %(reference)s") % {"reference": application.reference},
            "interview_not_started": not_yet if case is not None and case.queue == "video_check" else None,
            "business_now": now,
            "application": application,
            "amount": _yuan(application.amount_fen),
            "limit": _yuan(application.decided_limit_fen),
            "where": application_where(application),
            "declared": _declared_rows(application.declared),
            "questionnaire": _questionnaire_rows(application.questionnaire),
            "rate": rate_text(application.decided_rate) if application.decided_rate else "-",
            "documents": list(application.documents.order_by("uploaded_at")),
            "checklist": _checklist(application),
            "stages": stages,
            "case": case,
            "decisions": _decisions(case),
            "queue_title": ops.QUEUES.get(case.queue, case.queue) if case else "",
            "case_is_late": case is not None and case.due_at is not None and case.due_at < now,
            "is_mine": case is not None and case.assignee_id == request.user.pk,
            "approvals": approvals,
            "needs_two": (
                case is not None
                and case.queue == "officer_approval"
                and (application.decided_limit_fen or 0) >= settings.LENDING_SECOND_APPROVAL_FROM_FEN
            ),
            "inspectors": inspectors,
            "changes": list(application.changes.order_by("changed_at", "pk")),
            "interviews": interviews,
            "inspections": list(application.inspections.select_related("inspector").order_by("assigned_at")),
            "can_work": request.user.has_perm(PERM_WORK),
            "can_assign": request.user.has_perm(PERM_ASSIGN),
            "can_download": request.user.has_perm(PERM_DOCUMENT),
        }
        return TemplateResponse(request, "admin/lending/case.html", context)

    def _case_post(self, request, application: Application, here: str):
        action = request.POST.get("action", "")
        _require(request, PERM_ASSIGN if action == "assign" else PERM_WORK)
        stage = ApplicationStage.objects.filter(
            pk=_int(request.POST.get("stage")), application=application
        ).first()
        if stage is None:
            self.message_user(request, _("no such case on this application"), messages.ERROR)
            return HttpResponseRedirect(here)
        queue_url = reverse("admin:lending_queue", args=[stage.queue or "video_check"])
        try:
            if action == "claim":
                services.application_stage_claim(stage=stage, user=request.user)
                self.message_user(request, _("%(reference)s: claimed") % {"reference": application.reference})
                return HttpResponseRedirect(here)
            if action == "release":
                services.application_stage_release(stage=stage, user=request.user)
                self.message_user(
                    request, _("%(reference)s: released") % {"reference": application.reference}
                )
                return _back(request, queue_url)
            if action == "decide":
                return self._decide(request, application, stage, here, queue_url)
            if action == "assign":
                inspector = get_user_model().objects.filter(pk=_int(request.POST.get("inspector"))).first()
                if inspector is None:
                    self.message_user(request, _("inspector: choose an inspector"), messages.ERROR)
                    return HttpResponseRedirect(here)
                services.inspection_assign(
                    stage=stage,
                    inspector=inspector,
                    assigned_by=request.user,
                    address=request.POST.get("address", "").strip(),
                )
                given = _("%(reference)s: visit given to %(inspector)s") % {
                    "reference": application.reference,
                    "inspector": inspector.get_username(),
                }
                self.message_user(request, given)
                return HttpResponseRedirect(here)
        except ApplicationError as exc:
            self.message_user(request, _problem(exc), messages.ERROR)
            return HttpResponseRedirect(here)
        self.message_user(
            request, _("action: unknown action %(action)r") % {"action": action}, messages.ERROR
        )
        return HttpResponseRedirect(here)

    def _decide(self, request, application, stage, here, queue_url):
        outcome = request.POST.get("outcome", "")
        note = request.POST.get("note", "").strip()
        if outcome == "decline" and not note:
            problem = _("note: a decline needs the reason the merchant will read")
            self.message_user(request, problem, messages.ERROR)
            return HttpResponseRedirect(here)
        findings = {}
        for item in _checklist(application):
            code = item.get("code")
            mark = request.POST.get(f"check_{code}", "")
            if mark or request.POST.get(f"remark_{code}"):
                findings[code] = {
                    "agrees": mark == "agrees",
                    "remark": request.POST.get(f"remark_{code}", "").strip()[:500],
                }
        after = services.application_stage_decide(
            stage=stage,
            user=request.user,
            outcome=outcome,
            note=note,
            on=business_date_today(),
            findings=findings,
            recording_ref=request.POST.get("recording_ref", "").strip(),
        )
        stage.refresh_from_db()
        if stage.status == ApplicationStage.Status.WAITING:
            recorded = _("your approval is recorded; waiting for a second officer")
            self.message_user(request, f"{application.reference}: {recorded}")
        else:
            where = application_where(after)
            self.message_user(
                request, f"{application.reference}: {OUTCOME_WORDS.get(outcome, outcome)} → {where}"
            )
        return HttpResponseRedirect(queue_url)

    # --- A document's file ------------------------------------------------------------------

    def document_view(self, request, pk: int):
        _require(request, PERM_DOCUMENT)
        document = get_object_or_404(ApplicationDocument, pk=pk)
        try:
            handle = document.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404("the file is missing from storage") from exc
        return FileResponse(
            handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
        )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _decisions(case) -> list[dict]:
    """The case's recorded decisions, their times (stored as ISO text) read back as aware
    datetimes so the page shows them in the platform's time zone."""
    decisions = []
    for decision in (case.detail or {}).get("decisions", []) if case is not None else []:
        try:
            at = dt.datetime.fromisoformat(str(decision.get("at", "")))
        except ValueError:
            at = None
        decisions.append({**decision, "at": at})
    return decisions


# The member's declared figures under the apply form's own labels; the shares, stored as
# fractions, shown as the percentages the member typed.
DECLARED_LABELS = {
    "fiscal_year": _("Fiscal year"),
    "sales": _("Last year's sales (¥)"),
    "net_profit_margin": _("Net profit margin (%)"),
    "total_assets": _("Total assets (¥)"),
    "total_liabilities": _("Total liabilities (¥)"),
    "platform_sales_share": _("Share of sales on the platform (%)"),
}
DECLARED_PERCENT = {"net_profit_margin", "platform_sales_share"}


def _declared_rows(declared: dict) -> list[tuple[str, str]]:
    rows = []
    for name, value in (declared or {}).items():
        is_money = name.endswith("_fen") and str(value).lstrip("-").isdigit()
        key = name.removesuffix("_fen")
        if is_money:
            shown = _yuan(int(value))
        elif key in DECLARED_PERCENT:
            try:
                shown = f"{Decimal(str(value)) * 100:.2f}".rstrip("0").rstrip(".")
            except ArithmeticError:
                shown = value
        else:
            shown = value
        rows.append((DECLARED_LABELS.get(key, key), shown))
    return rows


def _questionnaire_rows(answers: dict) -> list[tuple[str, object]]:
    """The owner's answers beside the statements it read (in the reader's language), in the form's order."""
    texts = {q.code: q.text for q in QUESTIONS}
    order = {q.code: i for i, q in enumerate(QUESTIONS)}
    return [
        (texts.get(code, code), answer)
        for code, answer in sorted((answers or {}).items(), key=lambda item: order.get(item[0], len(order)))
    ]


@admin.register(FieldInspection)
class FieldInspectionAdmin(ReadOnlyAdmin):
    """An inspector's visits: each inspector sees only those given to it (a superuser sees all),
    and records a visit's result on its page."""

    # The address in clear: each inspector lists only the visits given to it.
    list_display = ["application", "shop", "address", "assigned_by", "assigned_at", "result", "record_link"]
    list_filter = ["result"]
    list_select_related = ["application__merchant", "inspector"]
    fields = [
        "application",
        "inspector",
        "assigned_by",
        "assigned_at",
        "address",
        "visited_on",
        "result",
        "findings",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(inspector=request.user)

    @admin.display(description=_("merchant"))
    def shop(self, obj):
        return obj.application.merchant.shop_name

    @admin.display(description="")
    def record_link(self, obj):
        if obj.result != FieldInspection.Result.PENDING:
            return "-"
        url = reverse("admin:lending_inspection_record", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Record the visit"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/record/", view(self.record_view), name="lending_inspection_record"),
            *super().get_urls(),
        ]

    def record_view(self, request, pk: int):
        _require(request, PERM_RECORD)
        # Another inspector's visit is not found: the queryset holds only one's own.
        inspection = get_object_or_404(
            self.get_queryset(request).select_related("application__merchant__owner"), pk=pk
        )
        values = {"result": "", "findings": "", "visited_on": business_date_today().isoformat()}
        if request.method == "POST":
            values = {name: request.POST.get(name, "").strip() for name in values}
            error = None
            try:
                visited_on = dt.date.fromisoformat(values["visited_on"])
            except ValueError:
                error = _("visited_on: a date such as 2026-03-01")
            if error is None and values["result"] not in ("passed", "failed"):
                error = _("result: passed or failed")
            if error is None:
                try:
                    services.inspection_record(
                        inspection=inspection,
                        user=request.user,
                        passed_visit=values["result"] == "passed",
                        findings=values["findings"],
                        visited_on=visited_on,
                        on=business_date_today(),
                    )
                except ApplicationError as exc:
                    error = _problem(exc)
            if error is None:
                self.message_user(
                    request,
                    _("%(reference)s: visit recorded") % {"reference": inspection.application.reference},
                )
                return HttpResponseRedirect(reverse("admin:lending_fieldinspection_changelist"))
            self.message_user(request, error, messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Field visit · %(reference)s") % {"reference": inspection.application.reference},
            "inspection": inspection,
            "values": values,
        }
        return TemplateResponse(request, "admin/lending/inspection_record.html", context)
