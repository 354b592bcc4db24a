"""The audit log: who changed what, from what to what, in which request, when.

django-auditlog records every save and delete of the registered models (settings.AUDITLOG_…) in
its LogEntry: the changed fields before and after (personal data masked), the user, the request
id (`cid`, from common.request_id) and the time. `log_entry_complete` adds the actor's label to
each row (`additional_data["actor"]`: a person, a partner's API key, a Celery task, a command),
which a user foreign key alone cannot say. This codebase also writes with conditional `UPDATE`s
(a line's drawdown, a loan's status compare-and-set, a key's revocation) and `bulk_create`, which
send no signals: `AuditedQuerySet` records those too, in bulk, with the rows' values read under
the same row locks the UPDATE takes. The ledger writes wallets' rows itself (`balance_rows`).
Close of business's set-based statements are recorded per run — docs/architecture.md, "Audit log".

An object's name is written in each of settings.LANGUAGES, whoever makes the change: the column
`object_repr` holds it in settings.LANGUAGE_CODE (what the search's trigram index reads), and
`additional_data["names"]` the other languages' where they differ. The pages show it in the
reader's language (`name_in_reader_language`) from the row alone; a deleted object keeps its
last names.
"""

import contextvars
import json
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import pgettext_lazy

from common import request_id

ACTION_CREATE, ACTION_UPDATE, ACTION_ACCESS = 0, 1, 3


def actor_current() -> tuple[object | None, str]:
    """(user or None, label) of whoever is acting in this context."""
    explicit = request_id.actor_get()
    if explicit is not None:
        return explicit
    request = request_id.request_get()
    if request is not None:
        auth = getattr(request, "auth", None)
        if auth is not None and hasattr(auth, "prefix") and hasattr(auth, "partner_id"):
            return None, f"partner key {auth}"[:200]
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user, f"user {user.get_username()}"[:200]
        return None, "anonymous request"
    return None, "system"


# An actor's label is stored in English (`actor_current`): its kind's words, then a name as
# written (a username, a key's prefix, a task's or a command's name). `actor_text` reads it.
ACTOR_WORDS = {
    "system": pgettext_lazy("audit actor", "system"),
    "anonymous request": pgettext_lazy("audit actor", "anonymous request"),
    "task": pgettext_lazy("audit actor", "task"),
}
ACTOR_KINDS = {
    "user ": pgettext_lazy("audit actor", "user %(name)s"),
    "partner key ": pgettext_lazy("audit actor", "partner key %(name)s"),
    "task ": pgettext_lazy("audit actor", "task %(name)s"),
    "command ": pgettext_lazy("audit actor", "command %(name)s"),
}


def actor_text(label: str) -> str:
    """A stored actor's label in the reader's language: its kind's words translated, the name
    as written; a label of another shape as written."""
    if label in ACTOR_WORDS:
        return str(ACTOR_WORDS[label])
    for prefix, words in ACTOR_KINDS.items():
        if label.startswith(prefix):
            return words % {"name": label[len(prefix) :]}
    return label


def concrete_changes(model, changes):
    """The changes of the row's own columns: auditlog's diff of a new row also lists reverse
    relations ("events: None -> lending.LoanEvent.None"), which say nothing."""
    if not changes or not isinstance(changes, dict) or model is None:
        return changes
    names = {f.name for f in model._meta.concrete_fields}
    return {k: v for k, v in changes.items() if k in names}


NAME_LENGTH = 500


def names_of(obj) -> tuple[str, dict[str, str]]:
    """The object's name in settings.LANGUAGE_CODE, and in each other language of settings.LANGUAGES
    where it reads otherwise: {language code: name}."""
    default = settings.LANGUAGE_CODE
    with translation.override(default):
        name = str(obj)[:NAME_LENGTH]
    others = {}
    for code, _ in settings.LANGUAGES:
        if code != default:
            with translation.override(code):
                other = str(obj)[:NAME_LENGTH]
            if other != name:
                others[code] = other
    return name, others


# Read-time labels the domain apps register in their ready() (common imports none of them):
# a kind of object's stored name in the active language, by "app_label.model" (the ledger's
# wallet rows, written by SQL with the account's stored name), and a stored reason's.
NAME_LABELS: dict[str, Callable[[str], str]] = {}
REASON_LABELS: list[Callable[[str], str | None]] = []


def name_in_reader_language(entry) -> str:
    """An audit row's object name in the active language: its stored name in that language, else
    the column's (settings.LANGUAGE_CODE's, or, on rows written before names were kept per
    language, the writer's), read through its kind's registered label if any."""
    names = (entry.additional_data or {}).get("names") if isinstance(entry.additional_data, dict) else None
    if names:
        return names.get(translation.get_language() or settings.LANGUAGE_CODE, entry.object_repr)
    kind = entry.content_type  # selected with the row (the audit list's list_select_related)
    label = NAME_LABELS.get(f"{kind.app_label}.{kind.model}")
    return label(entry.object_repr) if label is not None else entry.object_repr


def value_text(model, field_name: str, value) -> str:
    """A changed field's stored value as the reader reads it: a choice's label in the reader's
    language for a field with choices, "—" for none; anything else as stored."""
    if value is None or value == "None":
        return "—"
    try:
        field = model._meta.get_field(field_name) if model is not None else None
    except FieldDoesNotExist:
        field = None
    choices = dict(field.flatchoices) if field is not None and field.choices else None
    if choices and value in choices:
        return str(choices[value])
    return str(value)


def reason_text(reason: str) -> str:
    """A stored reason in the active language when a registered label reads it; else as written."""
    for label in REASON_LABELS:
        text = label(reason)
        if text is not None:
            return text
    return reason


def names_localize(entries) -> None:
    """Each row's `object_repr` (in memory only: the audit pages never save) read in the reader's
    language, for everything that shows it (the row's title, its link, its selection box)."""
    for entry in entries:
        entry.object_repr = name_in_reader_language(entry)


# The object auditlog is about to log (its pre_log signal): LogEntry's pre_save sees only the row.
_logged = contextvars.ContextVar("audit_logged", default=None)


def object_logged(sender, instance, action, **kwargs):
    """auditlog's pre_log: remember the object whose row log_entry_complete completes next."""
    _logged.set((sender, str(instance.pk), instance))


def log_entry_complete(sender, instance, **kwargs):
    """pre_save of auditlog's LogEntry: the actor and its label, the object's names in each
    language, own columns only."""
    if instance.pk is not None:
        return
    user, label = actor_current()
    if instance.actor_id is None and user is not None:
        instance.actor = user
    model = instance.content_type.model_class()
    data = {"actor": label, **(instance.additional_data or {})}
    logged = _logged.get()
    if logged is not None and logged[0] is model and logged[1] == str(instance.object_pk):
        _logged.set(None)
        instance.object_repr, names = names_of(logged[2])
        if names:
            data["names"] = names
    instance.additional_data = data
    instance.changes = concrete_changes(model, instance.changes)


def _registered(model) -> bool:
    from auditlog.registry import auditlog

    return auditlog.contains(model)


def _log_entry():
    from auditlog.models import LogEntry

    return LogEntry


def _is_disabled() -> bool:
    from auditlog.context import auditlog_disabled

    return auditlog_disabled.get()


def _entries(model, pairs, action, fields=None) -> list:
    """Audit rows for (old, new) instance pairs, with auditlog's own diff (masking included),
    limited to `fields` when given."""
    from auditlog.diff import model_instance_diff
    from django.contrib.contenttypes.models import ContentType

    entry = _log_entry()
    content_type = ContentType.objects.get_for_model(model)
    user, label = actor_current()
    rid = request_id.request_id_get()
    rows = []
    for old, new in pairs:
        changes = concrete_changes(model, model_instance_diff(old, new, fields_to_check=fields))
        if not changes:
            continue
        obj = new if new is not None else old
        name, names = names_of(obj)
        rows.append(
            entry(
                content_type=content_type,
                object_pk=str(obj.pk),
                object_id=obj.pk if isinstance(obj.pk, int) else None,
                object_repr=name,
                action=action,
                changes=changes,
                actor=user,
                cid=rid,
                additional_data={"actor": label, "names": names} if names else {"actor": label},
            )
        )
    return rows


class AuditedQuerySet(models.QuerySet):
    """A queryset whose `update` and `bulk_create` leave audit rows like a `save` does."""

    def update(self, **kwargs):
        if _is_disabled() or not _registered(self.model):
            return super().update(**kwargs)
        from auditlog.registry import auditlog

        excluded = set(auditlog.get_model_fields(self.model)["exclude_fields"])
        if set(kwargs) <= excluded:
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            # The rows the UPDATE will change, locked first so that none changes in between
            # (PostgreSQL; SQLite has one writer at a time anyway).
            before = {
                obj.pk: obj
                for obj in self.order_by("pk").select_for_update(of=("self",)).select_related(None)
            }
            count = super().update(**kwargs)
            if before:
                after = self.model._base_manager.using(self.db).in_bulk(list(before))
                pairs = [(old, after[pk]) for pk, old in before.items() if pk in after]
                rows = _entries(self.model, pairs, ACTION_UPDATE, fields=list(kwargs))
                _log_entry().objects.using(self.db).bulk_create(rows)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if _is_disabled() or not _registered(self.model) or kwargs.get("ignore_conflicts"):
            return created
        rows = _entries(self.model, [(None, obj) for obj in created if obj.pk is not None], ACTION_CREATE)
        _log_entry().objects.using(self.db).bulk_create(rows, batch_size=2000)
        return created


class AuditedManager(models.Manager.from_queryset(AuditedQuerySet)):
    pass


def updates_record(model, pairs, *, fields) -> None:
    """The audit rows of UPDATEs a set-based statement stands for: (old, new) instance pairs, one
    row per pair, as AuditedQuerySet.update would have left one UPDATE at a time."""
    if _is_disabled() or not _registered(model):
        return
    _log_entry().objects.bulk_create(_entries(model, pairs, ACTION_UPDATE, fields=fields))


# --- balances moved by SQL (the ledger) -------------------------------------------------------

AUDIT_COLUMNS = (
    "content_type_id, object_pk, object_id, object_repr, action, changes_text, changes, actor_id, cid, "
    "timestamp, additional_data"
)


def balance_rows(model, moves, *, now) -> list[tuple]:
    """Audit rows for balances a statement moves, `moves` being [(pk, repr, before, after)]: the
    AUDIT_COLUMNS values but the last, then the actor's label, from which the caller makes
    `additional_data` (with the reason, which may name rows only its SQL knows). The ledger
    writes them in the statement or batch that moves the balances: a rolled-back or skipped entry
    leaves none."""
    from django.contrib.contenttypes.models import ContentType

    if not moves:
        return []
    content_type = ContentType.objects.get_for_model(model).pk
    user, label = actor_current()
    actor_id = getattr(user, "pk", None)
    cid = request_id.request_id_get()
    return [
        (
            content_type,
            str(pk),
            pk,
            str(name)[:500],
            ACTION_UPDATE,
            "",
            json.dumps({"balance_fen": [str(before), str(after)]}),
            actor_id,
            cid,
            now,
            label,
        )
        for pk, name, before, after in moves
    ]


def additional_data(label: str, reason: str) -> str:
    return json.dumps({"actor": label, "reason": reason[:200]}, ensure_ascii=False)
