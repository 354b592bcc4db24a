"""Django's user and group pages in the workbench, with their permission pickers written fast:
the stock picker renders each of the few hundred permissions through two templates (most of a
group's or user's page time); this one writes the same <select> markup in Python, and the
admin's two-box filter (filter_horizontal) works on it as before. Each permission reads in the
reader's language (`permission_label`); the stored names stay Django's English."""

from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, SetUnusablePasswordMixin
from django.contrib.auth.models import Group, Permission, User
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy, pgettext_lazy

# Django writes a model's four permissions' names once, in English ("Can view loan"), and shows
# them as stored; the workbench reads them from the codename and the model's (translated) name.
DEFAULT_ACTIONS = {
    "add": pgettext_lazy("permission", "Can add %(model)s"),
    "change": pgettext_lazy("permission", "Can change %(model)s"),
    "delete": pgettext_lazy("permission", "Can delete %(model)s"),
    "view": pgettext_lazy("permission", "Can view %(model)s"),
}
# The permissions the models declare (their Meta.permissions), by codename.
DECLARED = {
    "approve_request": pgettext_lazy("permission", "Can approve or reject a four-eyes request"),
    "promote_scoringmodel": pgettext_lazy("permission", "Can promote a model to champion"),
    "reverse_riskaction": pgettext_lazy("permission", "Can reverse a risk action (with a reason)"),
}


def permission_label(permission: Permission) -> str:
    """A permission's name in the reader's language; one the workbench does not know (another
    app's declared permission) as stored."""
    if permission.codename in DECLARED:
        return str(DECLARED[permission.codename])
    action, _, model_name = permission.codename.partition("_")
    model = permission.content_type.model_class()
    if action in DEFAULT_ACTIONS and model is not None and model._meta.model_name == model_name:
        return DEFAULT_ACTIONS[action] % {"model": model._meta.verbose_name}
    return permission.name


def permission_option(permission: Permission) -> str:
    """A picker's option, as Django writes it ("app | model | name"), in the reader's language."""
    return f"{permission.content_type} | {permission_label(permission)}"


class QuickFilteredSelectMultiple(FilteredSelectMultiple):
    """FilteredSelectMultiple with the options written by format_html instead of a template each
    (the markup of django/forms/widgets/select.html and select_option.html)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = []
        for group_name, options, _index in widget["optgroups"]:
            rendered = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((str(o["value"]), flatatt(o["attrs"]), o["label"]) for o in options),
            )
            parts.append(
                format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered)
                if group_name
                else rendered
            )
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            mark_safe("".join(parts)),  # noqa: S308 (each part escaped by format_html)
        )


class QuickPickersMixin:
    """The filter_horizontal / filter_vertical pickers of a model admin, written fast."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        stacked = db_field.name in self.filter_vertical
        if "widget" not in kwargs and (stacked or db_field.name in self.filter_horizontal):
            kwargs["widget"] = QuickFilteredSelectMultiple(db_field.verbose_name, stacked)
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and db_field.remote_field.model is Permission:
            formfield.label_from_instance = permission_option
        return formfield


admin.site.unregister(User)
admin.site.unregister(Group)


class WorkbenchPasswordChangeForm(AdminPasswordChangeForm):
    """Django's, with the warning under "password-based authentication" in the reader's language:
    Django appends it to the translated help text as plain English, out of any catalogue."""

    usable_password_help_text = format_lazy(
        '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        SetUnusablePasswordMixin.usable_password_help_text,
        gettext_lazy("If disabled, the current password for this user will be lost."),
    )


@admin.register(User)
class WorkbenchUserAdmin(QuickPickersMixin, UserAdmin):
    change_password_form = WorkbenchPasswordChangeForm


@admin.register(Group)
class WorkbenchGroupAdmin(QuickPickersMixin, GroupAdmin):
    pass
