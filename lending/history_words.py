"""A status history as a reader reads it, in the active language: the event (`kind`), the
statuses by their choices' display labels, who made the change and a collections step's action.
The rows keep the codes and words the code writes (`lending.lifecycle`); every history table (the
workbench's inlines, the application and collections case pages) shows them through here. Words
that are not the system's (an officer's user name, a partner's code) read as written."""

from django.db import models
from django.utils.translation import pgettext, pgettext_lazy

from lending.calculations.collections import ACTIONS

# A history table's columns.
COLUMNS = {
    "event": pgettext_lazy("status change", "event"),
    "from": pgettext_lazy("status change", "from"),
    "to": pgettext_lazy("status change", "to"),
    "by": pgettext_lazy("status change", "by"),
}
# The business events of the lifecycles (lending.models *_TRANSITIONS, a line's opening and new
# terms, an application's submission and appeal, a case's opening).
EVENTS = {
    "opened": pgettext_lazy("status change", "opened"),
    "terms changed": pgettext_lazy("status change", "terms changed"),
    "frozen": pgettext_lazy("status change", "frozen"),
    "unfrozen": pgettext_lazy("status change", "unfrozen"),
    "closed": pgettext_lazy("status change", "closed"),
    "fell_overdue": pgettext_lazy("status change", "fell overdue"),
    "cured": pgettext_lazy("status change", "cured"),
    "repaid": pgettext_lazy("status change", "repaid"),
    "written_off": pgettext_lazy("status change", "written off"),
    "submitted": pgettext_lazy("status change", "submitted"),
    "appealed": pgettext_lazy("status change", "appealed"),
    "referred": pgettext_lazy("status change", "referred to a person"),
    "resumed": pgettext_lazy("status change", "resumed"),
    "approved": pgettext_lazy("status change", "approved"),
    "declined": pgettext_lazy("status change", "declined"),
    "disbursed": pgettext_lazy("status change", "disbursed"),
    "withdrawn": pgettext_lazy("status change", "withdrawn"),
}
# Who, when it is the system (a loan event's default, lending.lifecycle.CLOSE_OF_BUSINESS,
# lending.collections.SYNC, lending.services.applications, lending.services.pledges, the
# portal's drawdown, the demo's applicants and credit policy: demo.applications, demo.borrowers).
ACTORS = {
    "system": pgettext_lazy("actor", "system"),
    "close of business": pgettext_lazy("actor", "close of business"),
    "collections sync": pgettext_lazy("actor", "collections sync"),
    "credit pipeline": pgettext_lazy("actor", "credit pipeline"),
    "pledged order refunded": pgettext_lazy("actor", "pledged order refunded"),
    "portal": pgettext_lazy("actor", "merchant portal"),
    "demo": pgettext_lazy("actor", "demo"),
    "demo merchant": pgettext_lazy("actor", "demo merchant"),
    "demo collections officer": pgettext_lazy("actor", "demo collections officer"),
    "demo applicant": pgettext_lazy("actor", "demo applicant"),
    "demo credit policy": pgettext_lazy("actor", "demo credit policy"),
}
# Who, as a channel and a name ("portal:lin", "api:acme", "merchant:lin", "machine:rules-1").
ACTOR_CHANNELS = {
    "portal": pgettext_lazy("actor", "merchant portal: %(name)s"),
    "merchant": pgettext_lazy("actor", "merchant: %(name)s"),
    "api": pgettext_lazy("actor", "partner API: %(name)s"),
    # A machine stage of the credit pipeline, by its rules' version (lending.pipeline).
    "machine": pgettext_lazy("actor", "automatic check: %(name)s"),
}
REVERSAL = " (reversal)"
REVERSED = pgettext_lazy("actor", "%(name)s (reversal)")
APPLICATION = "application "
BY_APPLICATION = pgettext_lazy("actor", "application %(reference)s")
# A collections strategy step's action (lending.calculations.collections.ACTIONS).
STEP_ACTIONS = {
    "sms": pgettext_lazy("collection action", "SMS"),
    "phone": pgettext_lazy("collection action", "phone call"),
    "visit": pgettext_lazy("collection action", "field visit"),
    "letter": pgettext_lazy("collection action", "demand letter"),
    "legal": pgettext_lazy("collection action", "legal action"),
}
assert set(STEP_ACTIONS) == set(ACTIONS)


def event_label(kind: str) -> str:
    """The business event in the reader's language (an unknown one as written)."""
    return str(EVENTS.get(kind, kind))


def _owner_field(change: models.Model) -> models.Field | None:
    """The status history's owner (the loan, line, application or case): the relation to a
    model with a status of choices, other than the close of business run."""
    for field in change._meta.concrete_fields:
        if field.many_to_one and field.name != "cob_run":
            fields = {f.name: f for f in field.related_model._meta.concrete_fields}
            if "status" in fields and fields["status"].choices:
                return fields["status"]
    return None


def status_label(change: models.Model, status: str) -> str:
    """A status the change moved from or to, by its owner's display label ("-" for none)."""
    if not status:
        return "-"
    field = _owner_field(change)
    choices = dict(field.flatchoices) if field is not None else {}
    return str(choices.get(status, status))


def actor_label(actor: str) -> str:
    """Who made the change in the reader's language: the system's names translated, a person's
    or a partner's name as written."""
    if actor in ACTORS:
        return str(ACTORS[actor])
    if actor.endswith(REVERSAL):
        return REVERSED % {"name": actor_label(actor[: -len(REVERSAL)])}
    channel, colon, name = actor.partition(":")
    if colon and channel in ACTOR_CHANNELS:
        return ACTOR_CHANNELS[channel] % {"name": name}
    if actor.startswith(APPLICATION):
        return BY_APPLICATION % {"reference": actor[len(APPLICATION) :]}
    return actor


def action_label(action: str) -> str:
    """A collections step's action in the reader's language."""
    return str(STEP_ACTIONS.get(action, action))


def change_text(change: models.Model, owner: object) -> str:
    """A status change as one line (its `__str__`): "loan 186: - → current (disbursed)"."""
    return pgettext("status change", "%(owner)s: %(from)s → %(to)s (%(event)s)") % {
        "owner": owner,
        "from": status_label(change, change.from_status),
        "to": status_label(change, change.to_status),
        "event": event_label(change.kind),
    }


# A close of business run's steps (lending.cob: ALL_STEPS and the reports around them) and the
# note of a run whose ledgers were checked by its caller.
COB_STEPS = {
    "pledges": pgettext_lazy("close of business step", "pledged orders"),
    "due": pgettext_lazy("close of business step", "instalments fall due"),
    "deduct": pgettext_lazy("close of business step", "deduct from wallets"),
    "accrue": pgettext_lazy("close of business step", "accrue interest and penalties"),
    "recover": pgettext_lazy("close of business step", "recover overdue amounts"),
    "reconcile": pgettext_lazy("close of business step", "reconcile the books"),
    "collections": pgettext_lazy("close of business step", "collections"),
}
COB_NOTES = {
    "checked by the caller": pgettext_lazy("close of business step", "ledgers checked by the caller")
}


def cob_step_label(step: str) -> str:
    """A close of business step in the reader's language (an unknown one as written)."""
    return str(COB_STEPS.get(step, step))


# The buckets a repayment pays in a product's order (lending.services.products.ALLOCATION_BUCKETS).
ALLOCATION_BUCKETS = {
    "penalty": pgettext_lazy("allocation bucket", "penalty"),
    "fee": pgettext_lazy("allocation bucket", "fee"),
    "interest": pgettext_lazy("allocation bucket", "interest"),
    "principal": pgettext_lazy("allocation bucket", "principal"),
}
