"""The workbench's rule sets and blacklist. A risk manager copies the active set into a draft,
edits its thresholds (one labelled field each, checked by riskcontrol.rulesets), and activates
it; every set shows what changed from the one it was copied from, who changed it and when."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from common.admin import yuan_label
from common.crypto import blind_index
from common.errors import ApplicationError
from common.money import FenAsYuanField, format_yuan
from merchants.models import Verification
from riskcontrol import rulesets
from riskcontrol.models import BlacklistEntry, RuleSet

# The third parties' checks a threshold may name, by their titles in the reader's language (the
# codes stay the form's values and the stored params).
KIND_TITLES = {kind: Verification.Kind(kind).label for kind in rulesets.VERIFICATION_KINDS}


def _label(param: rulesets.Param):
    """A threshold's name; an amount's in yuan (common.admin)."""
    return yuan_label(param.label) if param.name.endswith("_fen") else param.label


def _shown(param: rulesets.Param, value) -> str:
    """A threshold's value as the reader reads it: checks by their titles, an amount in yuan,
    none as "-"."""
    if param.name.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    if param.kind != "kinds":
        return value
    if not value:
        return "-"
    return ", ".join(str(KIND_TITLES.get(kind, kind)) for kind in value)


def _field_for(param: rulesets.Param) -> forms.Field:
    if param.kind == "kinds":
        return forms.MultipleChoiceField(
            label=param.label,
            choices=list(KIND_TITLES.items()),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=param.why,
        )
    if param.name.endswith("_fen"):
        return FenAsYuanField(fen_field=param.name, label=_label(param), help_text=param.why)
    if param.kind == "int":
        return forms.IntegerField(
            label=param.label, min_value=param.low, max_value=param.high, help_text=param.why
        )
    return forms.DecimalField(
        label=param.label,
        min_value=Decimal(0) if param.kind == "share" else Decimal(param.low),
        max_value=Decimal(1) if param.kind == "share" else Decimal(param.high),
        decimal_places=4,
        help_text=param.why or (_("a share, 0–1") if param.kind == "share" else ""),
    )


class _RuleSetFormBase(forms.ModelForm):
    class Meta:
        model = RuleSet
        fields = ["note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = {**rulesets.DEFAULT_PARAMS, **(self.instance.params or {})}
        for param in rulesets.PARAMS:
            self.fields[param.name].initial = current[param.name]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {}
        for param in rulesets.PARAMS:
            value = cleaned.get(param.name)
            values[param.name] = str(value) if param.kind in ("share", "decimal") else value
        try:
            cleaned["params"] = rulesets.params_clean(values)
        except ApplicationError as exc:
            for name, problems in exc.extra.get("fields", {}).items():
                self.add_error(name if name in self.fields else None, f"{exc.message}: {'; '.join(problems)}")
        return cleaned


# One labelled field per threshold, declared on the class so the admin knows them.
RuleSetForm = type("RuleSetForm", (_RuleSetFormBase,), {p.name: _field_for(p) for p in rulesets.PARAMS})


def _table(rows: list[tuple]) -> str:
    return format_html(
        "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
        _("threshold"),
        _("before"),
        _("after"),
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "status",
        "note_display",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
    ]
    list_filter = ["status"]
    actions = ["copy_to_draft", "activate"]
    readonly_fields = [
        "version",
        "status",
        "based_on",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "activated_by",
        "activated_at",
        "retired_at",
        "changes",
        "thresholds",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and obj.status == RuleSet.Status.DRAFT:
            kwargs["form"] = RuleSetForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is not None and obj.status == RuleSet.Status.DRAFT:
            return [
                "version",
                "status",
                "based_on",
                "note",
                *[p.name for p in rulesets.PARAMS],
                "changes",
                "created_by",
                "created_at",
                "updated_by",
                "updated_at",
            ]
        return [*self.readonly_fields[:-2], "note_display", "changes", "thresholds"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == RuleSet.Status.DRAFT:
            return self.readonly_fields
        return [*self.readonly_fields, "note_display"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Only a draft is edited; an active or retired set is read (its page had a Save button
        # whose click failed, its form holding no field), and changed by a copy (copy_to_draft).
        if obj is not None and obj.status != RuleSet.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description=_("note"))
    def note_display(self, obj):
        """The note in the reader's language (the first set's, stored in both, read in one)."""
        return obj.note_text

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Changes from the set it was copied from"))
    def changes(self, obj):
        base = obj.based_on or RuleSet.objects.filter(version__lt=obj.version).order_by("-version").first()
        if base is None:
            return _("first set")
        rows = [
            (_label(param), _shown(param, r["before"]), _shown(param, r["after"]))
            for r in rulesets.params_diff(base.params, obj.params)
            for param in [rulesets.PARAMS_BY_NAME[r["name"]]]
        ]
        if not rows:
            return _("no change from %(label)s") % {"label": base.label}
        return format_html("<p>{}</p>{}", _("from %(label)s") % {"label": base.label}, _table(rows))

    @admin.display(description=_("Thresholds"))
    def thresholds(self, obj):
        current = {**rulesets.DEFAULT_PARAMS, **obj.params}
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td></tr>",
                [(_label(p), _shown(p, current[p.name])) for p in rulesets.PARAMS],
            ),
        )

    def save_model(self, request, obj, form, change):
        try:
            rulesets.ruleset_draft_update(
                rule_set=obj,
                params=form.cleaned_data["params"],
                note=form.cleaned_data.get("note", ""),
                user=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)

    @admin.action(description=_("Edit a copy of the active set"), permissions=["change"])
    def copy_to_draft(self, request, queryset):
        try:
            draft = rulesets.ruleset_draft_create(user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return
        messages.success(request, _("%(label)s created as a draft") % {"label": draft.label})

    @admin.action(description=_("Activate the selected draft"), permissions=["change"])
    def activate(self, request, queryset):
        drafts = list(queryset.filter(status=RuleSet.Status.DRAFT))
        if len(drafts) != 1:
            messages.error(request, _("select the one draft to activate"))
            return
        try:
            rule_set = rulesets.ruleset_activate(rule_set=drafts[0], user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return
        messages.success(request, _("%(label)s is active; new decisions use it") % {"label": rule_set.label})


class BlacklistEntryForm(forms.ModelForm):
    value = forms.CharField(
        label=_("Value"), max_length=64, help_text=_("kept only as a keyed digest and a masked hint")
    )

    class Meta:
        model = BlacklistEntry
        fields = ["kind", "value", "reason"]

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), "".join((cleaned.get("value") or "").split())
        if (
            kind
            and value
            and BlacklistEntry.objects.filter(
                kind=kind, value_index=blind_index(value), is_active=True
            ).exists()
        ):
            self.add_error("value", _("already listed"))
        return cleaned


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(admin.ModelAdmin):
    list_display = ["kind", "value_hint", "reason", "added_by", "added_at", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["value_hint", "reason"]
    actions = ["deactivate"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = BlacklistEntryForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "value", "reason"]
        return ["kind", "value_hint", "reason", "added_by", "added_at", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["kind", "value_hint", "added_by", "added_at"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            entry = rulesets.blacklist_add(
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return
        obj.__dict__.update({k: v for k, v in entry.__dict__.items() if not k.startswith("_")})

    @admin.action(description=_("Take off the list"), permissions=["change"])
    def deactivate(self, request, queryset):
        count = queryset.update(is_active=False)
        messages.success(request, _("%(count)s entries taken off the list") % {"count": count})
