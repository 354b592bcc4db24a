"""The audit log: who changed what, from what to what, in which request, when.

django-auditlog records every save and delete of the registered models (settings.AUDITLOG_…),
into common.models.AuditEntry, which adds the actor's label (a person, a partner's API key, a
Celery task, a command) and takes the request id from common.request_id. This codebase also
writes with conditional `UPDATE`s (a line's drawdown, a loan's status compare-and-set, a key's
revocation) and `bulk_create`, which send no signals: `AuditedQuerySet` records those too, in
bulk, with the rows' values read under the same row locks the UPDATE takes. Close of business's
set-based statements are recorded per run (its CobRun row, itself audited) — see
docs/architecture.md, "Audit log".
"""

from django.db import models, transaction

from common import request_id


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


def concrete_changes(model, changes: dict | None) -> dict | None:
    """The changes of the row's own columns: auditlog's diff of a new row also lists reverse
    relations ("events: None -> lending.LoanEvent.None"), which say nothing."""
    if not changes:
        return changes
    names = {f.name for f in model._meta.concrete_fields}
    return {k: v for k, v in changes.items() if k in names}


def _registered(model) -> bool:
    from auditlog.registry import auditlog

    return auditlog.contains(model)


def _entry_model():
    from auditlog import get_logentry_model

    return get_logentry_model()


def _is_disabled() -> bool:
    from auditlog.context import auditlog_disabled

    return auditlog_disabled.get()


def _entries(model, pairs, action, fields=None) -> list:
    """Audit rows for (old, new) instance pairs, with auditlog's own diff (masking included),
    limited to `fields` when given."""
    from auditlog.diff import model_instance_diff
    from django.contrib.contenttypes.models import ContentType

    entry = _entry_model()
    content_type = ContentType.objects.get_for_model(model)
    user, label = actor_current()
    rid = request_id.request_id_get()
    rows = []
    for old, new in pairs:
        changes = concrete_changes(model, model_instance_diff(old, new, fields_to_check=fields))
        if not changes:
            continue
        obj = new if new is not None else old
        rows.append(
            entry(
                content_type=content_type,
                object_pk=str(obj.pk),
                object_id=obj.pk if isinstance(obj.pk, int) else None,
                object_repr=str(obj)[:500],
                action=action,
                changes=changes,
                actor=user,
                actor_label=label,
                cid=rid,
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
                rows = _entries(self.model, pairs, 1, fields=list(kwargs))
                _entry_model().objects.using(self.db).bulk_create(rows)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if _is_disabled() or not _registered(self.model) or kwargs.get("ignore_conflicts"):
            return created
        rows = _entries(self.model, [(None, obj) for obj in created if obj.pk is not None], 0)
        _entry_model().objects.using(self.db).bulk_create(rows, batch_size=2000)
        return created


class AuditedManager(models.Manager.from_queryset(AuditedQuerySet)):
    pass


def audit_record(*, instance, reason: str, changes: dict | None = None) -> None:
    """An audit row written on purpose: an action on an object that changed no audited column
    (a bulk run's summary, a revealed value)."""
    from django.contrib.contenttypes.models import ContentType

    user, label = actor_current()
    _entry_model().objects.create(
        content_type=ContentType.objects.get_for_model(instance),
        object_pk=str(instance.pk),
        object_id=instance.pk if isinstance(instance.pk, int) else None,
        object_repr=str(instance)[:500],
        action=3,
        changes=changes or {},
        actor=user,
        actor_label=label,
        cid=request_id.request_id_get(),
        reason=reason[:200],
    )


# --- balances moved by SQL (the ledger) -------------------------------------------------------

AUDIT_COLUMNS = (
    "content_type_id, object_pk, object_id, object_repr, action, changes_text, changes, actor_id, cid, "
    "timestamp, actor_label, reason"
)


def balance_rows(model, moves, *, now) -> list[tuple]:
    """Audit rows, as AUDIT_COLUMNS values (`changes` as JSON text, reason filled by the caller's
    SQL), for balances a statement moves: `moves` is [(pk, repr, before, after)]. The ledger
    writes them in the statement (or the batch) that moves the balances, so a rolled-back or
    skipped entry leaves none."""
    import json

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
            1,
            "",
            json.dumps({"balance_fen": [str(before), str(after)]}),
            actor_id,
            cid,
            now,
            label,
        )
        for pk, name, before, after in moves
    ]
