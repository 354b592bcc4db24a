"""The collections queue in the workbench (催收工作台): the queue of open cases, worst first, with
filters by bucket and assignee and "assign to me"; a case page with the loan's figures, the
strategy's next step, the contact log, promises to pay, the write-off proposal and recoveries.
Every action calls one service of lending.collections; a refusal is an admin message, never a 500.

Permissions (granted to the collections_agent role by common.roles):
- the queue and a case page: lending.view_collectioncase;
- assign, propose a write-off, record a recovery: lending.change_collectioncase;
- log a contact: lending.add_contactlog; take a promise: lending.add_promisetopay."""

import datetime as dt
import uuid

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.models import ApprovalRequest
from common.money import MoneyError, format_yuan, yuan_to_fen
from common.roles import COLLECTIONS_AGENT
from common.sentences import reads_chinese, sentence
from lending import collections as services
from lending.calculations.delinquency import DELINQUENCY_BUCKETS
from lending.models import CollectionCase, ContactLog, PromiseToPay
from merchants.admin import ReadOnlyAdmin

PERM_VIEW = "lending.view_collectioncase"
PERM_WORK = "lending.change_collectioncase"
PERM_CONTACT = "lending.add_contactlog"
PERM_PROMISE = "lending.add_promisetopay"


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


def _agents():
    return (
        get_user_model().objects.filter(is_active=True, groups__name=COLLECTIONS_AGENT).order_by("username")
    )


QUEUE_ROWS = 100  # cases shown, worst first (the title counts them all)


@admin.register(CollectionCase)
class CollectionCaseAdmin(ReadOnlyAdmin):
    """The list of cases is the queue page; a case's page is the case page."""

    def changelist_view(self, request, extra_context=None):
        _require(request, PERM_VIEW)
        return HttpResponseRedirect(reverse("admin:lending_collections_queue"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        _require(request, PERM_VIEW)
        if not str(object_id).isdigit():
            return HttpResponseRedirect(reverse("admin:lending_collections_queue"))
        return HttpResponseRedirect(reverse("admin:lending_collections_case", args=[object_id]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("queue/", view(self.queue_view), name="lending_collections_queue"),
            path("<int:pk>/work/", view(self.case_view), name="lending_collections_case"),
            *super().get_urls(),
        ]

    # --- The queue ---------------------------------------------------------------------------

    def queue_view(self, request):
        _require(request, PERM_VIEW)
        if request.method == "POST":
            _require(request, PERM_WORK)
            case = CollectionCase.objects.filter(pk=_int(request.POST.get("case"))).first()
            if case is None:
                self.message_user(request, _("case: no such case"), messages.ERROR)
            else:
                self._assign_to_me(request, case)
            return HttpResponseRedirect(request.get_full_path())
        bucket = request.GET.get("bucket", "")
        if bucket not in DELINQUENCY_BUCKETS:
            bucket = ""
        assignee = request.GET.get("assignee", "")
        today = business_date_today()
        steps = services.strategy_steps()
        rows = []
        queue = services.cases_queue(bucket=bucket, assignee=assignee, user=request.user)
        # The worst QUEUE_ROWS cases: rendering 500 rows took a fifth of a second of CPU.
        for case in queue[:QUEUE_ROWS]:
            step = steps.get(case.strategy)
            rows.append(
                {
                    "case": case,
                    "loan": case.loan,
                    "owed": _yuan(case.owed_fen),
                    "step": step.label if step else case.strategy,
                    "is_due": case.next_action_on is not None and case.next_action_on <= today,
                    "is_mine": case.assignee_id == request.user.pk,
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Collections queue · %(count)s case(s)") % {"count": queue.count()},
            "rows": rows,
            "buckets": DELINQUENCY_BUCKETS[1:],
            "bucket": bucket,
            "assignee": assignee,
            "agents": list(_agents()),
            "can_work": request.user.has_perm(PERM_WORK),
            "today": today,
        }
        return TemplateResponse(request, "admin/lending/collections_queue.html", context)

    def _assign_to_me(self, request, case: CollectionCase) -> None:
        try:
            services.case_assign(case=case, assignee=request.user, expected_assignee_id=None)
        except ApplicationError as exc:
            self.message_user(
                request, _("case %(pk)s: %(error)s") % {"pk": case.pk, "error": _problem(exc)}, messages.ERROR
            )
        else:
            self.message_user(
                request,
                _("case %(case)s (%(loan)s): assigned to you")
                % {"case": case.pk, "loan": case.loan.reference},
            )

    # --- A case ------------------------------------------------------------------------------

    def case_view(self, request, pk: int):
        _require(request, PERM_VIEW)
        case = get_object_or_404(
            CollectionCase.objects.select_related("loan__merchant__owner", "loan__product", "assignee"), pk=pk
        )
        here = reverse("admin:lending_collections_case", args=[pk])
        if request.method == "POST":
            self._case_post(request, case)
            return HttpResponseRedirect(here)
        loan = case.loan
        steps = services.strategy_steps()
        figures = [
            (_("Status"), loan.get_status_display()),
            (_("Days past due"), loan.days_past_due),
            (_("Worst days past due"), loan.max_days_past_due),
            (_("Principal outstanding (¥)"), _yuan(loan.principal_outstanding_fen)),
            (_("Interest outstanding (¥)"), _yuan(loan.interest_outstanding_fen)),
            (_("Penalty outstanding (¥)"), _yuan(loan.penalty_outstanding_fen)),
            (_("Fees outstanding (¥)"), _yuan(loan.fee_outstanding_fen)),
            (_("Total owed (¥)"), _yuan(loan.total_outstanding_fen)),
            (_("Past due principal (¥)"), _yuan(loan.due_principal_fen)),
            (_("Past due interest (¥)"), _yuan(loan.due_interest_fen)),
            (_("Paid so far (¥)"), _yuan(loan.paid_total_fen)),
            (_("Written off (¥)"), _yuan(loan.written_off_fen)),
            (_("Recovered (¥)"), _yuan(loan.recovered_fen)),
        ]
        write_off_requests = ApprovalRequest.objects.filter(
            action="loan.write_off", target=f"lending.Loan:{loan.pk}"
        ).order_by("-pk")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Collection case %(case)s · %(loan)s") % {"case": case.pk, "loan": loan.reference},
            "case": case,
            "loan": loan,
            "figures": figures,
            "step": steps.get(case.strategy),
            "is_open": case.status == CollectionCase.Status.OPEN,
            "is_mine": case.assignee_id == request.user.pk,
            "contacts": list(case.contacts.select_related("agent").order_by("-at")),
            "promises": [
                {"promise": p, "amount": _yuan(p.amount_fen), "paid": _yuan(p.paid_fen)}
                for p in case.promises.order_by("-made_on", "-pk")
            ],
            "changes": list(case.changes.order_by("changed_at", "pk")),
            "channels": ContactLog.Channel.choices,
            "outcomes": ContactLog.Outcome.choices,
            "write_off_due": services.case_write_off_due(case),
            "write_off_requests": list(write_off_requests),
            "policy": services.write_off_policy(),
            "is_written_off": loan.status == loan.Status.WRITTEN_OFF,
            "left_to_recover": _yuan(loan.written_off_fen - loan.recovered_fen),
            "recovery_key": uuid.uuid4().hex,
            "can_work": request.user.has_perm(PERM_WORK),
            "can_contact": request.user.has_perm(PERM_CONTACT),
            "can_promise": request.user.has_perm(PERM_PROMISE),
            "today": business_date_today(),
        }
        return TemplateResponse(request, "admin/lending/collections_case.html", context)

    def _case_post(self, request, case: CollectionCase) -> None:
        action = request.POST.get("action", "")
        permission = {"contact": PERM_CONTACT, "promise": PERM_PROMISE}.get(action, PERM_WORK)
        _require(request, permission)
        on = business_date_today()
        post = request.POST
        try:
            if action == "assign":
                self._assign_to_me(request, case)
            elif action == "contact":
                services.contact_log_add(
                    case=case,
                    agent=request.user,
                    channel=post.get("channel", ""),
                    outcome=post.get("outcome", ""),
                    note=post.get("note", ""),
                    on=on,
                )
                self.message_user(request, _("contact recorded"))
            elif action == "promise":
                amount_fen = _amount(post.get("amount", ""))
                due_on = _date(post.get("due_on", ""), "due_on")
                promise = services.promise_add(
                    case=case, agent=request.user, amount_fen=amount_fen, due_on=due_on, on=on
                )
                self.message_user(
                    request,
                    _("promise of ¥%(amount)s by %(due_on)s recorded")
                    % {"amount": _yuan(promise.amount_fen), "due_on": due_on},
                )
            elif action == "write_off":
                approval = services.case_write_off_propose(
                    case=case, agent=request.user, reason=post.get("reason", ""), on=on
                )
                if approval.status == ApprovalRequest.Status.PENDING:
                    said = _("write-off request #%(pk)s waits for a second officer") % {"pk": approval.pk}
                else:
                    said = f"write-off request #{approval.pk}: {approval.get_status_display()}"
                self.message_user(request, said)
            elif action == "recover":
                raw = post.get("amount", "").strip()
                event = services.case_recovery_record(
                    case=case,
                    agent=request.user,
                    amount_fen=_amount(raw) if raw else None,
                    idempotency_key=post.get("key") or uuid.uuid4().hex,
                    on=on,
                )
                self.message_user(
                    request, _("recovered ¥%(amount)s") % {"amount": _yuan(event.principal_fen)}
                )
            else:
                self.message_user(
                    request, _("action: unknown action %(action)r") % {"action": action}, messages.ERROR
                )
        except ApplicationError as exc:
            self.message_user(request, _problem(exc), messages.ERROR)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _amount(raw: str) -> int:
    try:
        return yuan_to_fen((raw or "").strip())
    except MoneyError as exc:
        raise ApplicationError(
            _("amount: %(problem)s") % {"problem": exc},
            {"fields": {"amount": [_("a yuan amount such as 1200.50")]}},
        ) from exc


def _date(raw: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError as exc:
        raise ApplicationError(
            _("%(field)s: a date such as 2026-03-01") % {"field": field},
            {"fields": {field: [_("a date YYYY-MM-DD")]}},
        ) from exc


@admin.register(PromiseToPay)
class PromiseToPayAdmin(ReadOnlyAdmin):
    list_display = ["case", "loan", "amount", "made_on", "due_on", "status", "paid", "checked_on"]
    list_filter = ["status"]
    list_select_related = ["loan"]

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def amount(self, obj):
        return _yuan(obj.amount_fen)

    @admin.display(description=_("received (¥)"))
    def paid(self, obj):
        return _yuan(obj.paid_fen)
