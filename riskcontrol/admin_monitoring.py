"""Monitoring in the workbench: warnings (by level and kind), merchants' risk levels (worst
first), the actions taken with a "reverse" action (reason required; loan officers and risk
managers), the partner notices and the runs. Rows are written by services only. Imported by
riskcontrol.admin."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.html import format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.admin_filters import BusinessDateFieldListFilter
from common.business_date import business_date_today
from common.errors import ApplicationError
from common.value_rows import value_rows
from merchants.admin import ReadOnlyAdmin
from riskcontrol.models import Level, MerchantRisk, MonitoringRun, PartnerNotice, RiskAction, Warning
from riskcontrol.monitoring import services
from riskcontrol.monitoring.rules import reason_text
from riskcontrol.plain_words import action_reason


def _reasons(items) -> str:
    return format_html_join("", "<div>{}</div>", ((reason_text(r),) for r in items or [])) or "-"


class WarningLevelFilter(admin.SimpleListFilter):
    title = _("level")
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return Level.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(merchant__risk__level=self.value())
        return queryset


@admin.register(Warning)
class WarningAdmin(ReadOnlyAdmin):
    list_display = ["raised_on", "merchant", "kind", "severity", "level", "status", "why", "version"]
    list_filter = [
        WarningLevelFilter,
        "kind",
        "severity",
        "status",
        ("raised_on", BusinessDateFieldListFilter),
    ]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant", "merchant__partner", "merchant__risk"]
    date_hierarchy = "raised_on"
    show_full_result_count = False
    # The reasons as rows of sentences (stored as a list of codes and texts, which tells an
    # officer nothing written out).
    fields = [
        "merchant",
        "kind",
        "raised_on",
        "severity",
        "level",
        "status",
        "closed_on",
        "why",
        "facts_rows",
        "version",
    ]
    readonly_fields = fields

    @admin.display(description=_("level"))
    def level(self, obj):
        risk = getattr(obj.merchant, "risk", None)
        return risk.get_level_display() if risk else "-"

    @admin.display(description=_("why"))
    def why(self, obj):
        return _reasons(obj.reasons)

    @admin.display(description=pgettext_lazy("made-up label", "facts"))
    def facts_rows(self, obj):
        return value_rows(obj.facts)


@admin.register(MerchantRisk)
class MerchantRiskAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "level", "score", "is_defaulter", "as_of", "why", "version"]
    list_filter = ["level", "is_defaulter", ("as_of", BusinessDateFieldListFilter)]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant", "merchant__partner"]
    ordering = ["-level_rank", "-score", "merchant_id"]
    show_full_result_count = False

    @admin.display(description=_("why"))
    def why(self, obj):
        return _reasons(obj.reasons)


class ReverseForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=300, label=_("reason"), help_text=_("required to reverse")
    )


@admin.register(RiskAction)
class RiskActionAdmin(ReadOnlyAdmin):
    list_display = ["business_on", "merchant", "kind", "level", "why", "actor", "reversed", "version"]
    list_filter = [
        "kind",
        "level",
        ("business_on", BusinessDateFieldListFilter),
        ("reversed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["merchant__shop_name", "merchant__external_id", "reason"]
    list_select_related = ["merchant", "merchant__partner", "reversed_by"]
    readonly_fields = [
        "merchant",
        "kind",
        "level",
        "why",
        "business_on",
        "actor",
        "version",
        "result",
        "created_at",
        "reversed_at",
        "reversed_by",
        "reversed_reason",
        "reversal_result",
    ]
    action_form = ReverseForm
    actions = ["reverse"]
    show_full_result_count = False

    @admin.display(description=_("reason"))
    def why(self, obj) -> str:
        """Why, in the reader's language (the stored words when the action keeps no reasons)."""
        return action_reason(obj)

    @admin.display(description=_("reversed"))
    def reversed(self, obj):
        if obj.reversed_at is None:
            return "-"
        return f"{localtime(obj.reversed_at):%Y-%m-%d %H:%M} by {obj.reversed_by}: {obj.reversed_reason}"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not services.user_may_reverse(request.user):
            actions.pop("reverse", None)
        return actions

    @admin.action(description=_("Reverse (calls the opposite service; the reason box is required)"))
    def reverse(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, _("a reversal needs a reason"), messages.ERROR)
            return
        today = business_date_today()
        done = 0
        for action in queryset:
            try:
                services.risk_action_reverse(action_id=action.pk, user=request.user, reason=reason, on=today)
                done += 1
            except ApplicationError as exc:
                self.message_user(
                    request,
                    _("action %(pk)s: %(error)s") % {"pk": action.pk, "error": exc.message},
                    messages.ERROR,
                )
        if done:
            self.message_user(request, _("reversed: %(count)s action(s)") % {"count": done})


@admin.register(PartnerNotice)
class PartnerNoticeAdmin(ReadOnlyAdmin):
    list_display = ["business_on", "partner", "merchant", "kind", "said"]
    list_filter = ["kind", "partner", ("business_on", BusinessDateFieldListFilter)]
    list_select_related = ["partner", "merchant", "merchant__partner"]

    @admin.display(description=_("message"))
    def said(self, obj) -> str:
        """The message in the reader's language (as written on rows that keep no stored reasons)."""
        return obj.message_text


@admin.register(MonitoringRun)
class MonitoringRunAdmin(ReadOnlyAdmin):
    list_display = ["business_on", "status", "version", "summary", "started_at", "finished_at"]
    list_filter = ["status"]
    ordering = ["-business_on"]
