"""Django's user and group pages in the workbench, with their permission pickers written fast:
the stock picker renders each of the few hundred permissions through two templates (most of a
group's or user's page time); this one writes the same <select> markup in Python, and the
admin's two-box filter (filter_horizontal) works on it as before."""

from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


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
        return super().formfield_for_manytomany(db_field, request, **kwargs)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class WorkbenchUserAdmin(QuickPickersMixin, UserAdmin):
    pass


@admin.register(Group)
class WorkbenchGroupAdmin(QuickPickersMixin, GroupAdmin):
    pass
