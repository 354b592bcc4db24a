"""A four-eyes request in words: what it does ("write a loan off") and what it acts on ("loan
12"), linked to that record's workbench page. The request stores both as codes (`loan.write_off`,
`lending.Loan:12`, `payments.FundingPool:new:pool-b`), which the workbench shows only as a small
technical field beside the words."""

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Each action of settings.FOUR_EYES_ACTIONS, as an officer says it.
ACTION_LABELS = {
    "loan.write_off": _("write a loan off"),
    "line.grant": _("grant or change a credit line"),
    "pool.create": _("open a funding pool"),
    "pool.add_capital": _("add capital to a funding pool"),
    "pool.borrow": _("borrow into a funding pool"),
}


def action_label(action: str) -> str:
    """The action in words; an action this version does not know keeps its code."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _new_text(model, rest: str) -> str:
    """A record the request would make: "a new credit line for merchant 3, product 2"."""
    name = str(model._meta.verbose_name)
    values = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
    if "merchant" in values and "product" in values:
        return gettext("a new %(name)s for merchant %(merchant)s, product %(product)s") % {
            "name": name,
            "merchant": values["merchant"],
            "product": values["product"],
        }
    return gettext("a new %(name)s “%(code)s”") % {"name": name, "code": rest}


def _record(target: str):
    """(model, primary key) of a reference to a recorded row ("lending.Loan:12"), else None."""
    label, _sep, rest = (target or "").partition(":")
    model = _model(label) if rest.isdigit() else None
    return (model, int(rest)) if model is not None else None


def targets_preload(requests) -> None:
    """Look up the records a page of requests acts on with one query per kind of record, so that
    `target_shown` reads each from memory (a list page of requests: not a query a row)."""
    wanted: dict = {}
    for request in requests:
        record = _record(request.target)
        if record is not None:
            wanted.setdefault(record[0], set()).add(record[1])
    found = {
        (model, obj.pk): obj
        for model, pks in wanted.items()
        # with what each record's name reads (a shop's name says its platform)
        for obj in model._default_manager.filter(pk__in=pks).select_related()
    }
    for request in requests:
        record = _record(request.target)
        if record is not None:
            request._target_record = found.get(record)


def _target(target: str, preloaded=None):
    """(the words, the record's workbench page or None) for a request's reference; `preloaded` is
    the record `targets_preload` found for it (None: looked up here)."""
    label, _sep, rest = (target or "").partition(":")
    model = _model(label) if rest else None
    if model is None:
        return target or "-", None
    if rest.startswith("new:"):
        return _new_text(model, rest[len("new:") :]), None
    if preloaded is not None:
        obj = preloaded[0]
    else:
        obj = model._default_manager.filter(pk=rest).first() if rest.isdigit() else None
    if obj is None:
        return gettext("%(name)s %(pk)s (no longer there)") % {
            "name": model._meta.verbose_name,
            "pk": rest,
        }, None
    text = gettext("%(name)s: %(object)s") % {"name": model._meta.verbose_name, "object": obj}
    try:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        url = None
    return text, url


def target_text(target: str) -> str:
    """What the request acts on, in words ("贷款：…")."""
    return _target(target)[0]


def target_shown(target: str, request=None) -> str:
    """What the request acts on, in words, linked to its workbench page when it exists; the
    reference as written when it names nothing this version knows. Given the approval `request`
    `targets_preload` saw, its record is read from memory."""
    preloaded = (request._target_record,) if hasattr(request, "_target_record") else None
    text, url = _target(target, preloaded)
    return format_html('<a href="{}">{}</a>', url, text) if url else text
