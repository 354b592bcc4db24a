"""Scoring in the workbench. The registry is read-only except for one audited action, promote to
champion (with a reason). Scores are read-only; offers change only through services (withdraw).
Risk managers edit the policy, the adjustment factors and officers' findings."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.admin import EstimatedCountPaginator
from common.admin_filters import BusinessDateFieldListFilter
from common.errors import ApplicationError
from common.money import format_yuan
from lending.services.products import rate_text
from merchants.admin import ReadOnlyAdmin
from scoring.admin_policy import GradeTermsField, grade_terms_table
from scoring.models import (
    MerchantScore,
    ModelPromotion,
    Offer,
    OfficerFinding,
    RatingAdjustment,
    ScoringModel,
    ScoringPolicy,
)
from scoring.policy_words import percent
from scoring.report_charts import model_report_charts
from scoring.services import model_promote, offer_withdraw
from scoring.words import source_title

# A scoring model's row carries its report, points table and pickled challenger (hundreds of
# kilobytes): lists that show a model by its name read only what the name needs.
MODEL_HEAVY_FIELDS = ("report", "points_table", "challenger")


def _model_light(queryset, *paths: str):
    return queryset.defer(*(f"{path}__{field}" for path in paths for field in MODEL_HEAVY_FIELDS))


class LightModelFilter(admin.RelatedFieldListFilter):
    """The scoring-model filter's choices from the models' names alone (Django's loads every
    model whole)."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin) or ("-pk",)
        models = ScoringModel.objects.only("version", "status").order_by(*ordering)
        return [(m.pk, str(m)) for m in models]


class SourceFilter(admin.SimpleListFilter):
    """The models' sources by name (the platform's loans in the reader's language, a CSV's file)."""

    title = _("source")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        sources = ScoringModel.objects.order_by("source").values_list("source", flat=True).distinct()
        return [(source, source_title(source)) for source in sources]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=300, label=_("reason"), help_text=_("recorded with the change")
    )


class ModelPromotionInline(admin.TabularInline):
    model = ModelPromotion
    fk_name = "model"
    fields = ["at", "actor", "reason", "previous"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("promotions")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ScoringModel)
class ScoringModelAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "status",
        "source_words",
        "target",
        "rows",
        "auc",
        "ks",
        "trained_at",
        "trained_by",
    ]
    list_filter = ["status", SourceFilter]
    search_fields = ["version"]
    fields = [
        "version",
        "kind",
        "status",
        "source_words",
        "target",
        "rows",
        "trained_at",
        "trained_by",
        "report_view",
    ]
    readonly_fields = fields
    inlines = [ModelPromotionInline]
    action_form = ReasonActionForm
    actions = ["promote"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("challenger")

    def _metric(self, obj, key):
        value = (obj.report or {}).get("metrics", {}).get(key)
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description=_("source"), ordering="source")
    def source_words(self, obj):
        return source_title(obj.source)

    @admin.display(description=_("AUC (held out)"))
    def auc(self, obj):
        return self._metric(obj, "auc")

    @admin.display(description=_("KS"))
    def ks(self, obj):
        return self._metric(obj, "ks")

    @admin.display(description=_("report"))
    def report_view(self, obj):
        report = obj.report or {}
        metrics = report.get("metrics") or {}
        challenger = report.get("challenger") or {}
        comparison = report.get("comparison") or {}
        rows = [
            {
                "name": name,
                "scorecard": metrics.get(key),
                "challenger": challenger.get(key),
                "champion": (comparison.get("champion") or {}).get(key),
            }
            for key, name in (("auc", "AUC"), ("ks", "KS"), ("gini", "Gini"), ("brier", "Brier"))
        ]
        iv = sorted((report.get("iv") or {}).items(), key=lambda kv: -kv[1])
        return render_to_string(
            "admin/scoring/model_report.html",
            {
                "report": report,
                "metric_rows": rows,
                "has_challenger": bool(challenger),
                "has_champion": bool(comparison),
                "iv": iv,
                "charts": model_report_charts(obj) if obj.pk else [],
            },
        )

    def has_promote_permission(self, request):
        return request.user.has_perm("scoring.promote_scoringmodel")

    @admin.action(description=_("Promote to champion (the reason box is recorded)"), permissions=["promote"])
    def promote(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if queryset.count() != 1:
            self.message_user(request, _("select exactly one model to promote"), messages.ERROR)
            return
        if not reason:
            self.message_user(
                request, _("write the reason for the promotion in the reason box"), messages.ERROR
            )
            return
        model = queryset.first()
        try:
            model_promote(model=model, actor=request.user.username, reason=reason)
        except ApplicationError as exc:
            self.message_user(request, f"{model.version}: {exc.message}", messages.ERROR)
            return
        self.message_user(
            request,
            _("%(version)s is now the champion; run score_all to rescore merchants")
            % {"version": model.version},
        )


@admin.register(ModelPromotion)
class ModelPromotionAdmin(ReadOnlyAdmin):
    list_display = ["at", "model", "previous", "actor", "reason"]
    list_select_related = ["model", "previous"]

    def get_queryset(self, request):
        return _model_light(
            super().get_queryset(request).select_related("model", "previous"), "model", "previous"
        )


@admin.register(MerchantScore)
class MerchantScoreAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "as_of", "grade", "points", "pd", "rank", "line", "rate", "is_current"]
    list_filter = ["grade", "is_current", ("as_of", BusinessDateFieldListFilter), ("model", LightModelFilter)]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant__partner", "model"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # a score per merchant per night

    def get_queryset(self, request):
        return _model_light(
            super().get_queryset(request).select_related("merchant__partner", "model"), "model"
        )

    fields = [
        "merchant",
        "model",
        "as_of",
        "grade",
        "points",
        "pd",
        "rank",
        "line",
        "rate",
        "is_current",
        "reasons_view",
        "components_view",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("PD"), ordering="probability")
    def pd(self, obj):
        return f"{obj.probability:.2%}"

    @admin.display(description=_("line (¥)"), ordering="line_fen")
    def line(self, obj):
        return format_yuan(obj.line_fen)

    @admin.display(description=_("rate"))
    def rate(self, obj):
        return rate_text(obj.daily_rate) if obj.daily_rate is not None else "-"

    @admin.display(description=_("reasons"))
    def reasons_view(self, obj):
        return render_to_string("admin/scoring/reasons.html", {"reasons": obj.reasons or []})

    @admin.display(description=_("360° components"))
    def components_view(self, obj):
        return render_to_string("admin/scoring/components.html", {"c": obj.components or {}})


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "merchant",
        "product",
        "grade",
        "rank",
        "line",
        "rate",
        "status",
        "issued_on",
        "expires_on",
    ]
    list_filter = ["status", "grade", "product", ("issued_on", BusinessDateFieldListFilter)]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant__partner", "product"]
    readonly_fields = [
        "merchant",
        "product",
        "score",
        "grade",
        "rank",
        "line",
        "rate",
        "status",
        "issued_on",
        "expires_on",
        "decided_at",
        "decided_by",
        "credit_line",
    ]
    fields = readonly_fields
    action_form = ReasonActionForm
    actions = ["withdraw"]

    @admin.display(description=_("line (¥)"), ordering="line_fen")
    def line(self, obj):
        return format_yuan(obj.line_fen)

    @admin.display(description=_("rate"), ordering="daily_rate")
    def rate(self, obj):
        return rate_text(obj.daily_rate)

    def has_withdraw_permission(self, request):
        return request.user.has_perm("scoring.change_offer")

    @admin.action(description=_("Withdraw (the reason box is recorded)"), permissions=["withdraw"])
    def withdraw(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, _("write the reason in the reason box"), messages.ERROR)
            return
        done = 0
        for offer in queryset:
            try:
                offer_withdraw(offer=offer, actor=request.user.username, reason=reason)
                done += 1
            except ApplicationError as exc:
                self.message_user(
                    request,
                    _("offer %(pk)s: %(error)s") % {"pk": offer.pk, "error": exc.message},
                    messages.ERROR,
                )
        if done:
            self.message_user(
                request,
                ngettext("withdrawn: %(count)d offer", "withdrawn: %(count)d offers", done) % {"count": done},
            )


@admin.register(RatingAdjustment)
class RatingAdjustmentAdmin(admin.ModelAdmin):
    list_display = ["dimension", "key", "factor", "effect", "note", "updated_by", "updated_at"]
    list_filter = ["dimension"]
    search_fields = ["key", "note"]
    fields = ["dimension", "key", "factor", "note", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]

    @admin.display(description=_("effect on the odds of default"))
    def effect(self, obj):
        change = obj.factor - 1
        return _("none") if change == 0 else f"{change:+.0%}"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user.username
        super().save_model(request, obj, form, change)


class OfficerFindingForm(forms.ModelForm):
    class Meta:
        model = OfficerFinding
        fields = ["merchant", "kind", "points", "found_on", "note"]

    def clean_points(self):
        points = self.cleaned_data["points"]
        if not -OfficerFinding.POINTS_LIMIT <= points <= OfficerFinding.POINTS_LIMIT:
            raise forms.ValidationError(
                _("between %(low)s (worse) and %(high)s (better) points")
                % {"low": f"−{OfficerFinding.POINTS_LIMIT}", "high": f"+{OfficerFinding.POINTS_LIMIT}"}
            )
        return points


@admin.register(OfficerFinding)
class OfficerFindingAdmin(admin.ModelAdmin):
    form = OfficerFindingForm
    list_display = ["merchant", "kind", "points", "found_on", "officer", "note"]
    list_filter = ["kind", ("found_on", BusinessDateFieldListFilter)]
    search_fields = ["merchant__shop_name", "merchant__external_id", "note"]
    list_select_related = ["merchant__partner", "officer"]
    autocomplete_fields = ["merchant"]

    def save_model(self, request, obj, form, change):
        if obj.officer_id is None:
            obj.officer = request.user
        super().save_model(request, obj, form, change)


class ScoringPolicyForm(forms.ModelForm):
    """The policy with its per-grade terms as a grid (scoring/admin_policy.py): every cell checked
    and named, nothing saved while one is wrong."""

    grade_terms = GradeTermsField(label=_("terms per grade"))

    class Meta:
        model = ScoringPolicy
        fields = [
            "acceptance_rate_target",
            "cutoff_grade",
            "capacity_share",
            "offer_valid_days",
            "grade_terms",
        ]
        labels = {
            "acceptance_rate_target": _("acceptance target (0–1)"),
            "cutoff_grade": _("cut-off grade"),
            "capacity_share": _("share of the funding capacity (0–1)"),
            "offer_valid_days": _("offers valid for (days)"),
        }
        help_texts = {
            "acceptance_rate_target": _("share of eligible merchants offered (0.300 = 30 %)"),
            "cutoff_grade": _("the worst grade that gets an offer"),
            "capacity_share": _("share of the funding pools' lending capacity that open offers may use"),
        }


@admin.register(ScoringPolicy)
class ScoringPolicyAdmin(admin.ModelAdmin):
    form = ScoringPolicyForm
    list_display = ["__str__", "acceptance", "cutoff_grade", "capacity", "offer_valid_days", "updated_at"]
    readonly_fields = ["updated_by", "updated_at", "grade_terms_grid"]

    def get_fields(self, request, obj=None):
        # Who may edit types into the grid; who may only look reads the same grid as text.
        terms = "grade_terms" if self.has_change_permission(request, obj) else "grade_terms_grid"
        return [
            "acceptance_rate_target",
            "cutoff_grade",
            "capacity_share",
            "offer_valid_days",
            terms,
            "updated_by",
            "updated_at",
        ]

    @admin.display(description=_("terms per grade"))
    def grade_terms_grid(self, obj):
        return grade_terms_table(obj.grade_terms if obj else {})

    @admin.display(description=_("acceptance target"), ordering="acceptance_rate_target")
    def acceptance(self, obj):
        return percent(obj.acceptance_rate_target)

    @admin.display(description=_("share of the funding capacity"), ordering="capacity_share")
    def capacity(self, obj):
        return percent(obj.capacity_share)

    def has_add_permission(self, request):
        return not ScoringPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user.username
        super().save_model(request, obj, form, change)


# The sandbox's and monitoring's read-only lists live beside these (scoring/admin_risk.py).
from scoring import admin_risk  # noqa: E402, F401
