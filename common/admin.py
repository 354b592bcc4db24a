"""Four-eyes requests in the workbench: pending first; the detail page is read-only, with approve
and reject for a second officer holding `common.approve_request`, and cancel for the requester.
Each button calls one service in common.four_eyes."""

import json
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin import utils as admin_utils
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connection, models
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.forms.models import BaseInlineFormSet
from django.forms.utils import flatatt
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils.functional import cached_property, lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from common import four_eyes
from common.approval_words import action_label, target_shown, target_text, targets_preload
from common.audit import actor_text, name_in_reader_language, names_localize, reason_text, value_text
from common.business_date import business_date_today
from common.errors import ApplicationError
from common.models import ApprovalRequest
from common.money import FenAsYuanField, format_yuan
from common.request_id import request_get
from common.roles import ROLES
from common.value_rows import value_rows


class FourEyesForm(forms.Form):
    """The reason every four-eyes request form asks for."""

    reason = forms.CharField(
        max_length=500,
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("recorded with the request; a second officer reads it before approving"),
    )


def form_errors_from(form: forms.Form, exc: ApplicationError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal beside the form field it names (or above the form)."""
    fields = exc.extra.get("fields") or {}
    placed = False
    for name, problems in fields.items():
        name = (aliases or {}).get(name, name)
        if name in form.fields:
            for problem in problems:
                form.add_error(name, f"{problem} ({exc.message})")
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def submitted_message(request) -> str:
    """What the officer is told after asking."""
    words = {"pk": request.pk, "action": action_label(request.action), "target": target_text(request.target)}
    if request.status == ApprovalRequest.Status.PENDING:
        return (
            _("Request #%(pk)s (%(action)s, %(target)s) is waiting for a second officer's approval.") % words
        )
    if request.status == ApprovalRequest.Status.APPROVED:
        return (
            gettext("Request #%(pk)s (%(action)s) is below the four-eyes threshold and was done at once.")
            % words
        )
    return gettext("Request #%(pk)s (%(action)s) %(status)s: %(error)s") % {
        **words,
        "status": request.get_status_display(),
        "error": (request.result or {}).get("error", ""),
    }


class _ApprovalChangeList(ChangeList):
    """A page of approval requests with the records they act on read once per kind of record."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        targets_preload(self.result_list)


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "action_shown",
        "target_link",
        "amount",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
    ]
    list_filter = ["status", "action"]
    search_fields = ["target", "reason"]
    list_select_related = ["requested_by", "decided_by"]
    fields = [
        "action_shown",
        "target_link",
        "amount",
        "reason",
        "params_display",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decided_on",
        "decision_note",
        "result_display",
        "history",
        "reference",
    ]
    readonly_fields = fields
    change_form_template = "admin/common/approvalrequest/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_ordering(self, request):
        pending = When(status=ApprovalRequest.Status.PENDING, then=Value(0))
        pending_first = Case(pending, default=Value(1), output_field=IntegerField())
        return [pending_first.asc(), "-requested_at", "-id"]

    @admin.display(description=_("what is asked"), ordering="action")
    def action_shown(self, obj):
        return action_label(obj.action)

    @admin.display(description=_("what it changes"), ordering="target")
    def target_link(self, obj):
        return target_shown(obj.target, obj)

    def get_changelist(self, request, **kwargs):
        return _ApprovalChangeList

    @admin.display(description=_("technical: reference"))
    def reference(self, obj):
        return format_html('<small class="quiet"><code>{} · {}</code></small>', obj.action, obj.target)

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def amount(self, obj):
        return format_yuan(obj.amount_fen) if obj.amount_fen is not None else "-"

    @admin.display(description=_("params"))
    def params_display(self, obj):
        return value_rows(obj.params)

    @admin.display(description=_("result"))
    def result_display(self, obj):
        if obj.result is None:
            return "-"
        return value_rows(obj.result)

    @admin.display(description=_("history (this target)"))
    def history(self, obj):
        rows = (
            ApprovalRequest.objects.filter(target=obj.target)
            .select_related("requested_by", "decided_by")
            .order_by("-requested_at", "-id")[:20]
        )
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>#{} {} · {} · {} {}</li>",
                (
                    (
                        r.pk,
                        action_label(r.action),
                        r.get_status_display(),
                        gettext("asked by %(user)s at %(at)s")
                        % {
                            "user": r.requested_by.get_username(),
                            "at": f"{localtime(r.requested_at):%Y-%m-%d %H:%M}",
                        },
                        gettext("· decided by %(user)s %(note)s")
                        % {"user": r.decided_by.get_username(), "note": r.decision_note}
                        if r.decided_by
                        else r.decision_note,
                    )
                    for r in rows
                ),
            ),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="common_approvalrequest_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = extra_context or {}
        if obj is not None and obj.status == ApprovalRequest.Status.PENDING:
            extra["may_decide"] = (
                request.user.has_perm(four_eyes.PERMISSION) and obj.requested_by_id != request.user.pk
            )
            extra["may_cancel"] = obj.requested_by_id == request.user.pk
            extra["decide_url"] = reverse("admin:common_approvalrequest_decide", args=[obj.pk])
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def decide_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(ApprovalRequest, pk=pk)
        note = (request.POST.get("note") or "").strip()
        decision = request.POST.get("decision")
        on = business_date_today()
        try:
            if decision == "approve":
                obj = four_eyes.approval_request_approve(request=obj, approver=request.user, on=on, note=note)
            elif decision == "reject":
                obj = four_eyes.approval_request_reject(request=obj, rejecter=request.user, on=on, note=note)
            elif decision == "cancel":
                obj = four_eyes.approval_request_cancel(request=obj, user=request.user, on=on, note=note)
            else:
                raise ApplicationError(
                    gettext("choose approve, reject or cancel"),
                    {"fields": {"decision": [gettext("approve, reject or cancel")]}},
                )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            if obj.status == ApprovalRequest.Status.FAILED:
                self.message_user(
                    request,
                    _("Request #%(pk)s failed, nothing changed: %(error)s")
                    % {"pk": obj.pk, "error": obj.result.get("error")},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    _("Request #%(pk)s: %(status)s") % {"pk": obj.pk, "status": obj.get_status_display()},
                )
        return HttpResponseRedirect(reverse("admin:common_approvalrequest_change", args=[pk]))


# --- the audit log ----------------------------------------------------------------------------


def _content_type_id(app_label: str, model: str) -> int | None:
    """The content type's id from ContentType's cache (no query once it is filled): the audit
    log filtered by `content_type_id = <id>` is planned from that value's own statistics (a
    kind of 700 rows is read through its index in a millisecond), where a join on the content
    type's name is planned for an average kind (a year of close-of-business runs: 0.26 s of
    walking the whole log by time)."""
    from django.contrib.contenttypes.models import ContentType

    try:
        return ContentType.objects.get_by_natural_key(app_label, model.lower()).pk
    except ContentType.DoesNotExist:
        return None


class AuditObjectFilter(admin.SimpleListFilter):
    """One object's history: `?object=<app_label>.<model>:<pk>`, as the History links send."""

    title = _("object")
    parameter_name = "object"

    def lookups(self, request, model_admin):
        value = request.GET.get(self.parameter_name)
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        if not value or ":" not in value or "." not in value:
            return queryset
        model_label, pk = value.rsplit(":", 1)
        app_label, model = model_label.split(".", 1)
        return queryset.filter(content_type_id=_content_type_id(app_label, model), object_pk=pk)


class AuditModelFilter(admin.SimpleListFilter):
    title = _("kind of object")
    parameter_name = "model"

    def lookups(self, request, model_admin):
        from auditlog.registry import auditlog

        return [
            (f"{m._meta.app_label}.{m._meta.model_name}", str(m._meta.verbose_name))
            for m in sorted(auditlog.get_models(), key=lambda m: m._meta.label)
        ]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        app_label, model = self.value().split(".", 1)
        return queryset.filter(content_type_id=_content_type_id(app_label, model))


def audit_history_url(obj) -> str:
    opts = obj._meta
    url = reverse("admin:auditlog_logentry_changelist")
    return f"{url}?object={opts.app_label}.{opts.model_name}:{obj.pk}"


class EstimatedCountPaginator(Paginator):
    """For tables of millions of rows (orders, settlements): on PostgreSQL the unfiltered list
    counts from the planner's statistics instead of scanning the table for COUNT(*); a filtered
    list counts exactly."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if connection.vendor == "postgresql" and isinstance(queryset, QuerySet) and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 100_000:
                return int(row[0])
        return super().count


class PlannedCountPaginator(EstimatedCountPaginator):
    """EstimatedCountPaginator, and a filtered list the planner expects to hold over 100,000 rows
    counts from that estimate too (one EXPLAIN instead of counting half a million audit rows of
    the merchants' accounts: 0.2 s); a smaller one counts exactly."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if connection.vendor == "postgresql" and isinstance(queryset, QuerySet) and queryset.query.where:
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                plan = cursor.fetchone()[0]
            rows = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
            if rows > 100_000:
                return int(rows)
        return super().count


class QuickActionCheckboxMixin:
    """A changelist's selection box on each row written by format_html, the markup Django's
    CheckboxInput gives it: Django renders that widget through two templates per row, a quarter
    of a 100-row list's time."""

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), obj),
        )


class QuickHiddenInput(forms.HiddenInput):
    """A hidden input written by format_html, the markup Django's template gives it
    (django/forms/widgets/hidden.html): a read-only inline renders each row's id and parent
    link through three templates, a quarter of a long inline page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        return format_html(
            '<input type="hidden" name="{}"{}{}>',
            name,
            format_html(' value="{}"', value) if value is not None else "",
            flatatt(self.build_attrs(self.attrs, attrs)),
        )


class QuickHiddenInlineFormSet(BaseInlineFormSet):
    """An inline formset whose rows' hidden fields (id, parent link) are QuickHiddenInput."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for field in form.fields.values():
            if type(field.widget) is forms.HiddenInput:
                field.widget = QuickHiddenInput(attrs=field.widget.attrs)


class AuditHistoryMixin:
    """The admin's "History" button of an audited object opens its rows in the audit log."""

    def history_view(self, request, object_id, extra_context=None):
        from auditlog.registry import auditlog

        obj = self.get_object(request, object_id) if auditlog.contains(self.model) else None
        # Whoever may not read the audit log gets the admin's own history, not a 403.
        if obj is None or not request.user.has_perm("auditlog.view_logentry"):
            return super().history_view(request, object_id, extra_context)
        return HttpResponseRedirect(audit_history_url(obj))

    def get_fieldsets(self, request, obj=None):
        """The "audit history" link only for whoever may open the audit log (a 403 otherwise)."""
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.has_perm("auditlog.view_logentry"):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "audit_history"]})
            for name, options in fieldsets
        ]

    @admin.display(description=_("audit history"))
    def audit_history(self, obj):
        return format_html('<a href="{}">{}</a>', audit_history_url(obj), _("audit history"))


# --- read-only foreign keys --------------------------------------------------------------------

_linked_admin_url = helpers.AdminReadonlyField.get_admin_url


def _admin_url_if_permitted(self, remote_field, remote_obj):
    """A read-only foreign key (or one-to-one) links to the related object's page only for a
    reader who may open it (view or change permission on that model's admin); anyone else reads
    the object's name as plain text. Django links it whatever the reader may open (ticket #33171),
    so an officer's loan page linked to a product and journal entries that answer 403. Django's
    AdminReadonlyField is given no request: the one being served is in context
    (common.request_id); without one (a page rendered outside a request) the name is plain."""
    request = request_get()
    site = self.model_admin.admin_site if self.model_admin is not None else admin.site
    related_admin = site._registry.get(remote_field.model)
    if (
        related_admin is None
        or getattr(request, "user", None) is None
        or not related_admin.has_view_or_change_permission(request, remote_obj)
    ):
        return str(remote_obj)
    return _linked_admin_url(self, remote_field, remote_obj)


helpers.AdminReadonlyField.get_admin_url = _admin_url_if_permitted


# --- money in yuan on every page ---------------------------------------------------------------
# A model's amount is an integer `<name>_fen` field. Every workbench page shows it in yuan under a
# label that says so, and every form takes it in yuan: on every model admin and inline, whoever
# wrote it, with nothing to declare per model. Django reads a listed or read-only field through
# its module-level helpers (label_for_field, display_for_field), which prefer the model's field
# over anything a model admin declares, so those helpers are where an amount is recognised.

# "(fen)", "fen" or the Chinese "(fen)" in full-width or plain brackets at a label's end (written
# as escapes: Chinese belongs in the catalogues, and this is matched, never shown).
_FEN_LABEL_END = re.compile(r"\s*(?:[(\uff08](?:fen|\u5206)[)\uff09]|\bfen)\s*$", re.IGNORECASE)


def is_fen_field(field) -> bool:
    """An integer amount in fen (by the project's naming rule: units in names)."""
    return (
        isinstance(field, models.IntegerField)
        and getattr(field, "name", "").endswith("_fen")
        and not field.choices
    )


def _yuan_label(label) -> str:
    name = _FEN_LABEL_END.sub("", str(label)).strip()
    return gettext("%(name)s (¥)") % {"name": name}


# A field's label in yuan, read in the reader's language when shown ("amount min fen" ->
# "amount min (¥)", and the Chinese label's "(fen)" likewise).
yuan_label = lazy(_yuan_label, str)


def _fen_field_of(model, name):
    if not isinstance(name, str) or not name.endswith("_fen") or model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if is_fen_field(field) else None


_django_label_for_field = admin_utils.label_for_field
_django_display_for_field = admin_utils.display_for_field
_django_formfield_for_dbfield = BaseModelAdmin.formfield_for_dbfield


def _label_for_field(name, model, model_admin=None, return_attr=False, form=None):
    found = _django_label_for_field(name, model, model_admin, return_attr, form)
    field = _fen_field_of(model, name)
    if field is None:
        return found
    label = yuan_label(field.verbose_name)
    return (label, found[1]) if return_attr else label


def _display_for_field(value, field, empty_value_display, *args, **kwargs):
    if is_fen_field(field) and isinstance(value, int):
        return format_yuan(value)
    return _django_display_for_field(value, field, empty_value_display, *args, **kwargs)


def _formfield_for_dbfield(self, db_field, request, **kwargs):
    """An editable amount taken in yuan and stored as the exact fen (common.money)."""
    if not is_fen_field(db_field):
        return _django_formfield_for_dbfield(self, db_field, request, **kwargs)
    # A form's own label or help text for the field (its Meta's labels, help_texts) comes first.
    options = {
        "fen_field": db_field.name,
        "label": kwargs.get("label") or yuan_label(db_field.verbose_name),
        "required": not db_field.blank,
        "help_text": kwargs.get("help_text", db_field.help_text),
    }
    if db_field.has_default() and not callable(db_field.default):
        options["initial"] = db_field.default
    return FenAsYuanField(**options)


for _module in (admin_utils, helpers, admin_list):
    _module.label_for_field = _label_for_field
    _module.display_for_field = _display_for_field
BaseModelAdmin.formfield_for_dbfield = _formfield_for_dbfield


# How much of the changed fields' names the audit log's list shows (auditlog's own limit).
CHANGES_SHOWN = 75


def field_label(model, name: str):
    """A field's name in the reader's language, by its code (an amount's in yuan); a code the
    model lacks as written."""
    if (amount := _fen_field_of(model, name)) is not None:
        return yuan_label(amount.verbose_name)
    try:
        return model._meta.get_field(name).verbose_name if model is not None else name
    except FieldDoesNotExist:
        return name


def change_value_text(model, name: str, value) -> str:
    """A value before or after a change as the reader reads it: an amount in yuan."""
    if _fen_field_of(model, name) is not None and value not in (None, "", "None"):
        try:
            return format_yuan(int(value))
        except (TypeError, ValueError):
            pass
    return value_text(model, name, value)


class AuditChangeList(ChangeList):
    """The audit log's list: each row's object name read in the reader's language."""

    def get_results(self, request):
        super().get_results(request)
        names_localize(self.result_list)


def _audit_admin():
    from auditlog.admin import LogEntryAdmin
    from auditlog.models import LogEntry

    if admin.site.is_registered(LogEntry):
        admin.site.unregister(LogEntry)

    @admin.register(LogEntry)
    class AuditLogAdmin(QuickActionCheckboxMixin, LogEntryAdmin):
        """Read-only: nobody adds, edits or deletes audit rows, an administrator included.

        Millions of rows: no date hierarchy (it asks for the distinct years and the first and
        last timestamps of the whole table; the timestamp filter costs no query), and a list
        of over 100,000 rows counts from the planner's statistics."""

        date_hierarchy = None
        search_help_text = _(
            "Any part of the object's name, or an object's id or a request's correlation id, whole."
        )
        paginator = PlannedCountPaginator
        show_full_result_count = False
        list_display = ["created", "resource_url", "action", "msg_short", "actor_label", "cid", "reason"]
        list_filter = ["action", AuditModelFilter, AuditObjectFilter, "timestamp"]
        # Indexed columns only: any part of the object's name (a trigram index on PostgreSQL,
        # common/migrations/0008), the object's id and the request's correlation id whole (their
        # b-tree indexes). A year of the log is 692,679 rows; the actor and the reason, inside
        # the JSON of each row, made every search a scan of all of them (821 ms).
        # The English name where it reads otherwise (common.audit; its trigram index: 0009).
        search_fields = ["object_repr", "additional_data__names__en", "object_pk__exact", "cid__exact"]
        readonly_fields = [
            "created",
            "resource_url",
            "action",
            "actor_label",
            "user_url",
            "cid",
            "reason",
            "msg",
        ]
        fieldsets = [
            (None, {"fields": ["created", "actor_label", "user_url", "resource_url", "cid", "reason"]}),
            (_("Changes"), {"fields": ["action", "msg"]}),
        ]

        def get_changelist(self, request, **kwargs):
            return AuditChangeList

        def get_object(self, request, object_id, from_field=None):
            obj = super().get_object(request, object_id, from_field)
            if obj is not None:
                names_localize([obj])
            return obj

        @admin.display(description=_("Resource"))
        def resource_url(self, obj):
            """The object's kind and name in the reader's language (common.audit), linked."""
            name = name_in_reader_language(obj)
            try:
                args = [obj.object_pk] if obj.object_id is None else [obj.object_id]
                ct = obj.content_type
                link = reverse(f"admin:{ct.app_label}_{ct.model}_change", args=args)
            except NoReverseMatch:
                return name
            return format_html('<a href="{}">{} - {}</a>', link, obj.content_type, name)

        @admin.display(description=_("actor"))
        def actor_label(self, obj):
            return actor_text((obj.additional_data or {}).get("actor", ""))

        @admin.display(description=_("User"))
        def user_url(self, obj):
            return super().user_url(obj) if obj.actor_id else actor_text("system")

        @admin.display(description=_("Changes"))
        def msg_short(self, obj):
            """How many of the row's fields changed and which, by their names in the reader's
            language (auditlog writes "2 changes: status, finished_at" in English, by code)."""
            if obj.action in (LogEntry.Action.DELETE, LogEntry.Action.ACCESS):
                return ""
            changes = obj.changes_dict
            model = obj.content_type.model_class()
            fields = ", ".join(str(field_label(model, name)) for name in changes)
            if len(fields) > CHANGES_SHOWN:
                fields = fields[: fields.rfind(" ", 0, CHANGES_SHOWN)] + " …"
            count = len(changes)
            return ngettext("%(count)d change: %(fields)s", "%(count)d changes: %(fields)s", count) % {
                "count": count,
                "fields": fields,
            }

        @admin.display(description=_("Changes"))
        def msg(self, obj):
            """The changed fields by their names, and their values before and after as the reader
            reads them (a choice's label, "—" for none; common.audit.value_text)."""
            changes = obj.changes_dict
            if not changes or not all(isinstance(v, list | tuple) and len(v) == 2 for v in changes.values()):
                return super().msg(obj)
            model = obj.content_type.model_class()
            rows = format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        number,
                        "ID" if name == "id" else field_label(model, name),
                        change_value_text(model, name, before),
                        change_value_text(model, name, after),
                    )
                    for number, (name, (before, after)) in enumerate(sorted(changes.items()), 1)
                ),
            )
            return format_html(
                "<table><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                _("Field"),
                _("From"),
                _("To"),
                rows,
            )

        @admin.display(description=_("reason"))
        def reason(self, obj):
            return reason_text((obj.additional_data or {}).get("reason", ""))

        def has_delete_permission(self, request, obj=None):
            return False


_audit_admin()


def _group_shown(group) -> str:
    """A group by its role's name in the reader's language ("loan_officer" -> "Loan officer"):
    the user page's picker and filter, the group list and titles. A group that is no role reads
    as named."""
    role = ROLES.get(group.name)
    return str(role["label"]) if role else group.name


Group.__str__ = _group_shown

# The user and group pages (Django's admins, with fast permission pickers).
from common import admin_auth  # noqa: E402, F401
