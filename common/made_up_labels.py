"""Labels Django makes up from code names: a field's verbose name from its name ("accrued
through on"), a model's names from its class ("credit line", "credit lines", or a declared name
with an "s" added), an app's from its label ("Riskcontrol"), and the few declared without
gettext; likewise the fields' help texts, written as plain English ("the business event"), which
the workbench's forms show under each field. No catalogue saw them, so the workbench showed them
in English to a Chinese reader. `labels_translate` (at start-up, from common's `ready`) makes
each one a lazy msgid with the context "made-up label" (a help text: its plain msgid), its
Chinese in common/locale. The declared options stay as they are, so migrations see nothing new.
A label the code declares with gettext is left alone."""

from collections.abc import Iterator

from django.apps import apps
from django.contrib import admin
from django.forms.utils import pretty_name
from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext, pgettext

CONTEXT = "made-up label"
PRODUCTION_APPS = ("common", "merchants", "payments", "lending", "scoring", "riskcontrol")
# Apps whose names the group and user pages' permission pickers and the workbench's index show
# but whose catalogues have no Chinese for them (other projects', and the demo, which has none of
# its own): read from ours.
OTHER_APPS = ("auditlog", "axes", "demo")
# (the English label, its holder, the attribute) of each label made lazy at start-up.
TRANSLATED: list[tuple[str, object, str]] = []


def _label(msgid: str) -> str:
    translated = pgettext(CONTEXT, msgid)
    return translated if translated != msgid else gettext(msgid)


label = lazy(_label, str)


def made_up_labels() -> Iterator[tuple[str, object, str]]:
    """(the English label, the object holding it, its attribute) for each label made up from a
    code name in the production apps."""
    for config in apps.get_app_configs():
        if config.label not in PRODUCTION_APPS:
            continue
        if not isinstance(config.verbose_name, Promise):
            yield config.verbose_name, config, "verbose_name"
        for model in config.get_models():
            opts = model._meta
            declared = opts.original_attrs
            if not isinstance(opts.verbose_name, Promise):
                yield opts.verbose_name, opts, "verbose_name"
            if "verbose_name_plural" not in declared:
                with translation.override("en"):
                    singular = str(declared.get("verbose_name", opts.verbose_name))
                yield f"{singular}s", opts, "verbose_name_plural"
            elif not isinstance(opts.verbose_name_plural, Promise):
                yield opts.verbose_name_plural, opts, "verbose_name_plural"
            for field in opts.local_fields + opts.local_many_to_many:
                if not isinstance(field.verbose_name, Promise) and field.verbose_name != "ID":
                    yield field.verbose_name, field, "verbose_name"


def help_texts() -> Iterator[tuple[str, object, str]]:
    """(the English help text, its field, "help_text") for each field of the production apps
    whose help text is declared without gettext."""
    for config in apps.get_app_configs():
        if config.label not in PRODUCTION_APPS:
            continue
        for model in config.get_models():
            for field in model._meta.local_fields + model._meta.local_many_to_many:
                if field.help_text and not isinstance(field.help_text, Promise):
                    yield field.help_text, field, "help_text"


def shown_properties() -> Iterator[tuple[str, object, str]]:
    """(the English label, the property's getter, "short_description") for each model property
    a workbench page shows as a column or a read-only field without a label of its own (Django
    names it after the property: "Name masked")."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PRODUCTION_APPS:
            continue
        names = [*model_admin.list_display, *model_admin.readonly_fields]
        for name in names:
            shown = getattr(model, name, None) if isinstance(name, str) else None
            if isinstance(shown, property) and not hasattr(shown.fget, "short_description"):
                yield pretty_name(name), shown.fget, "short_description"


def admin_descriptions() -> Iterator[tuple[str, object, str]]:
    """(the English description, its function, "short_description") for each column, read-only
    field and action of the production apps' workbench pages (their inlines' too) declared with
    a plain string (`@admin.display(description="delivery")`), and (the title, the filter,
    "title") for each list filter of theirs titled so."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PRODUCTION_APPS:
            continue
        for page in (model_admin, *(inline(model, admin.site) for inline in model_admin.inlines)):
            names = [
                *getattr(page, "list_display", ()),
                *(page.readonly_fields or ()),
                *(getattr(page, "actions", None) or ()),
            ]
            for name in names:
                shown = name if callable(name) else getattr(type(page), name, None)
                shown = getattr(shown, "__func__", shown)
                description = getattr(shown, "short_description", None)
                if description and isinstance(description, str) and not isinstance(description, Promise):
                    yield description, shown, "short_description"
            # A list filter of their own, titled with a plain string ("stars").
            for chosen in getattr(page, "list_filter", ()):
                title = getattr(chosen, "title", None) if isinstance(chosen, type) else None
                if isinstance(title, str) and not isinstance(title, Promise):
                    yield title, chosen, "title"


def other_apps_labels() -> Iterator[tuple[str, object, str]]:
    """(the English name, its holder, the attribute) for the app's, models' and fields' names of
    OTHER_APPS, however the other project declared them."""
    for config in apps.get_app_configs():
        if config.label not in OTHER_APPS:
            continue
        with translation.override("en"):
            yield str(config.verbose_name), config, "verbose_name"
            for model in config.get_models():
                yield str(model._meta.verbose_name), model._meta, "verbose_name"
                yield str(model._meta.verbose_name_plural), model._meta, "verbose_name_plural"
                # Their fields, which their list pages' columns and filters name ("Attempt Time").
                for field in model._meta.local_fields:
                    if field.verbose_name != "ID":
                        yield str(field.verbose_name), field, "verbose_name"


def labels_translate() -> None:
    """Every made-up label read in the reader's language from now on."""
    labels = [
        *made_up_labels(),
        *help_texts(),
        *shown_properties(),
        *admin_descriptions(),
        *other_apps_labels(),
    ]
    for english, holder, attribute in labels:
        setattr(holder, attribute, label(english))
        TRANSLATED.append((english, holder, attribute))
