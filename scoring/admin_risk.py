"""The workbench's read-only lists of the sandbox runs and of model monitoring (drift reports,
predicted versus actual default by grade). Rows are written by services only; risk managers
start sandbox runs at /risk/sandbox/. Imported by scoring.admin."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from common.admin_filters import BusinessDateFieldListFilter
from common.money import format_yuan
from merchants.admin import ReadOnlyAdmin
from scoring.models import DriftReport, GradeOutcome, SandboxRun
from scoring.monitoring.psi import MISSING, OTHER
from scoring.sandbox.words import policy_table


@admin.register(SandboxRun)
class SandboxRunAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "region",
        "segment",
        "horizon_days",
        "status",
        "progress",
        "created_by",
        "created_at",
        "page",
    ]
    list_filter = ["status", "region", "segment", "created_at"]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    fields = [
        "name",
        "region",
        "segment",
        "horizon_days",
        "status",
        "progress",
        "error",
        "policy_shown",
        "baseline_shown",
        "figures",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "page",
    ]
    readonly_fields = fields

    @admin.display(description=_("candidate policy"))
    def policy_shown(self, obj):
        return policy_table(obj.policy)

    @admin.display(description=_("today's policy as run"))
    def baseline_shown(self, obj):
        return policy_table(obj.baseline)

    @admin.display(description=_("page"))
    def page(self, obj):
        return format_html('<a href="{}">{} →</a>', reverse("risk:sandbox-run", args=[obj.pk]), _("Sandbox"))

    @admin.display(description=_("today vs candidate"))
    def figures(self, obj):
        result = obj.result or {}
        if obj.status != SandboxRun.Status.DONE or "baseline" not in result:
            return "-"
        keys = [
            ("approved", _("approvals"), str),
            ("line_fen", _("lines (¥)"), format_yuan),
            ("default_rate", _("default rate"), str),
            ("loss_fen", _("loss (¥)"), format_yuan),
            (
                "profit_fen",
                _("profit (¥)"),
                lambda fen: format_yuan(fen) if fen >= 0 else "-" + format_yuan(-fen),
            ),
        ]
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            (
                (label, show(result["baseline"][key]), show(result["candidate"][key]))
                for key, label, show in keys
            ),
        )
        return format_html(
            "<table><tr><th></th><th>{}</th><th>{}</th></tr>{}</table>", _("today"), _("candidate"), rows
        )


def _bin_label(label: str) -> str:
    """A bin by its range or category; the catch-all bins ("missing", "other") in words."""
    if label == MISSING:
        return pgettext("drift bins", "missing")
    if label == OTHER:
        return pgettext("drift bins", "other")
    return label


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = [
        "period_start",
        "period",
        "subject_shown",
        "psi_shown",
        "status",
        "model",
        "reference",
        "notified_at",
    ]
    list_filter = ["status", "period", "subject", "model", ("period_start", BusinessDateFieldListFilter)]
    search_fields = ["subject"]
    list_select_related = ["model"]
    date_hierarchy = "period_start"
    fields = [
        "model",
        "period",
        "period_start",
        "subject_shown",
        "psi_shown",
        "status",
        "reference",
        "bins",
        "created_at",
        "notified_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("subject"), ordering="subject")
    def subject_shown(self, obj):
        return obj.subject_label

    @admin.display(description=_("PSI"), ordering="psi")
    def psi_shown(self, obj):
        return f"{obj.psi:.4f}"

    @admin.display(description=_("reference"))
    def reference(self, obj):
        return f"{obj.reference_start} … {obj.reference_end}"

    @admin.display(description=_("bins: reference → period"))
    def bins(self, obj):
        actual = {e["bin"]: e["share"] for e in obj.actual or []}
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (_bin_label(e["bin"]), f"{e['share']:.2%}", f"{actual.get(e['bin'], 0.0):.2%}")
                for e in obj.expected or []
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            pgettext("drift bins", "bin"),
            pgettext("drift bins", "reference window"),
            pgettext("drift bins", "this period"),
            rows,
        )


@admin.register(GradeOutcome)
class GradeOutcomeAdmin(ReadOnlyAdmin):
    list_display = [
        "cohort_month",
        "grade",
        "loans",
        "predicted",
        "actual",
        "matured",
        "model",
        "computed_at",
    ]
    list_filter = ["matured", "grade", "model", ("cohort_month", BusinessDateFieldListFilter)]
    list_select_related = ["model"]
    readonly_fields = [
        "model",
        "grade",
        "cohort_month",
        "loans",
        "predicted_default_rate",
        "actual_default_rate",
        "matured",
        "computed_at",
    ]
    fields = readonly_fields

    @admin.display(description=_("predicted"), ordering="predicted_default_rate")
    def predicted(self, obj):
        return f"{obj.predicted_default_rate:.2%}"

    @admin.display(description=_("actual"), ordering="actual_default_rate")
    def actual(self, obj):
        return "-" if obj.actual_default_rate is None else f"{obj.actual_default_rate:.2%}"
