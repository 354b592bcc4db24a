"""The credit pipeline engine: runs an application through the stages its product's pipeline
lists (settings.CREDIT_PIPELINE, by kind of product), the way Django runs MIDDLEWARE.

A stage is an object with a `version`, a `kind` (machine or human), for a person's stage the
`queue` that works it, and two steps:

- `facts(application, on=..., run=...)` reads what the stage needs from the database into
  plain, JSON-able values; `run` (a Run) holds what the stages of one run share, so a read two
  stages need (the active rule set, the merchant's loans, its related owners) is made once;
- `decide(facts)` is a pure function of those values that returns a Verdict: pass, refer to a
  person, or decline, with reasons in plain words and the terms it sets.

The engine records, per stage, when it started and ended, its version, the facts it read, its
verdict and reasons (ApplicationStage), so any decision can be explained and replayed later:
`stage_replay` runs the stage's rule again over the facts it recorded. Lending never imports
scoring or risk control: their stages are found by the dotted paths in settings."""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import get_language

from common.business_date import business_now
from common.errors import ApplicationError
from common.money import fen_to_yuan
from common.sql import columns_of, fixed_instances, rows_insert, update_with_insert
from common.texts import stored_reason, stored_words
from lending import lifecycle
from lending.models import Application, ApplicationStage, Product
from lending.services.products import product_kind
from merchants.models import Merchant, Owner, PartnerPlatform
from merchants.webhooks.models import EventType
from merchants.webhooks.services import event_emit

PASS, REFER, DECLINE = "pass", "refer", "decline"
MACHINE, HUMAN = ApplicationStage.Kind.MACHINE, ApplicationStage.Kind.HUMAN
# What a stage's verdict may set on the application.
TERMS = ("decided_limit_fen", "decided_rate", "decided_grade", "decided_term")


@dataclass(frozen=True)
class Reason:
    """Why, in plain words a merchant understands (not a score): a stable code, the text as an
    English msgid (marked with gettext_noop, placeholders `%(name)s`) and the placeholders'
    values. The row keeps all three (common.texts.stored_reason) and each reader gets the text in
    their own language (common.texts.stored_text)."""

    code: str
    text: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return stored_reason(self.code, self.text, self.params)


@dataclass(frozen=True)
class Words(Reason):
    """A reason bilingual by nature (a rating's reasons, worded in both languages when the model
    was trained): `text` the English, `zh` the Chinese; the row keeps both
    (common.texts.stored_words) and each reader gets their own."""

    zh: str = ""

    def as_dict(self) -> dict:
        return stored_words(self.code, zh=self.zh, en=self.text)


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reasons: tuple[Reason, ...] = ()
    terms: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)
    # A decline: how many days before the merchant may apply again (None: the configured days).
    reapply_after_days: int | None = None
    # A pass by a stage the application did not need (shown as "not needed").
    not_needed: bool = False
    # The version of what decided, when it is not the stage's own (a model's version).
    version: str = ""


def passed(*reasons: Reason, terms: Mapping | None = None, detail: Mapping | None = None, version: str = ""):
    return Verdict(PASS, tuple(reasons), terms or {}, detail or {}, version=version)


def not_needed(why: str) -> Verdict:
    return Verdict(PASS, (Reason("not_needed", why),), not_needed=True)


def referred(*reasons: Reason, detail: Mapping | None = None) -> Verdict:
    return Verdict(REFER, tuple(reasons), {}, detail or {})


def declined(
    *reasons: Reason, reapply_after_days: int | None = None, detail: Mapping | None = None, version=""
):
    return Verdict(DECLINE, tuple(reasons), {}, detail or {}, reapply_after_days, version=version)


class Run:
    """What the stages of one run share: the application (its merchant, owner, partner and product
    read with it), the business date, and the reads more than one stage needs, each made once
    (`shared`). The stages of one run therefore decide by the same rule set and the same rows;
    a stage called on its own (tests, a preview) gets a Run of its own."""

    __slots__ = ("_ahead", "_shared", "application", "on")

    def __init__(self, application: Application, on: dt.date):
        self.application = application
        self.on = on
        self._shared: dict[str, Any] = {}
        self._ahead: list[tuple] = []

    def shared(self, key: str, load: Callable[[], Any]) -> Any:
        """`load()`'s value, read once per run under `key`."""
        try:
            return self._shared[key]
        except KeyError:
            value = self._shared[key] = load()
            return value

    def holds(self, key: str) -> bool:
        """Whether `key`'s value has been read in this run."""
        return key in self._shared

    def keep(self, key: str, value: Any) -> None:
        """`value` kept under `key`, read together with another of the run's reads (one round
        trip for several): `shared(key, …)` then gives it without reading."""
        self._shared[key] = value

    def ahead(self, key: str, sql: str, params: list, width: int, decode: Callable[[tuple], Any]) -> None:
        """A read a later stage makes (`sql`, at most one row of `width` columns, standing alone:
        it reads nothing the run writes), made ahead in the statement of an earlier read that
        takes reads ahead (`with_ahead`); `decode(its columns, NULL when it found no row)` is
        then kept under `key`. A stage says what it will read in its `ahead` (`_stages_run`)."""
        if key not in self._shared:
            self._ahead.append((key, sql, list(params), width, decode))

    def with_ahead(self, sql: str, params: list) -> tuple[str, list, Callable[[tuple], tuple]]:
        """`sql` (exactly one row) with the reads waiting ahead joined to it (`ahead`): the
        statement, its values, and `take(row)`, which keeps each read's value and gives back the
        row of `sql`'s own columns."""
        waiting = [entry for entry in self._ahead if entry[0] not in self._shared]
        self._ahead = []
        if not waiting:
            return sql, params, lambda row: row
        joined, values = [f"SELECT * FROM ({sql}) own"], list(params)  # noqa: S608 - the callers' SQL
        for n, (_key, ahead_sql, ahead_params, _width, _decode) in enumerate(waiting):
            joined.append(f"LEFT JOIN ({ahead_sql}) ahead_{n} ON 1 = 1")
            values += ahead_params
        width = sum(entry[3] for entry in waiting)

        def take(row: tuple) -> tuple:
            at = len(row) - width
            own = row[:at]
            for key, _sql, _params, columns, decode in waiting:
                if key not in self._shared:
                    self._shared[key] = decode(tuple(row[at : at + columns]))
                at += columns
            return own

        return " ".join(joined), values, take


def run_of(application: Application, on: dt.date, run: "Run | None") -> Run:
    """The run a stage's read belongs to: the engine's, or a new one for a stage called alone."""
    return run if run is not None else Run(application, on)


class Stage(Protocol):
    version: str
    kind: str
    queue: str
    title: str

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict: ...

    def decide(self, facts: dict) -> Verdict: ...


@cache
def stage_load(name: str) -> Stage:
    stage = import_string(name)
    for attribute in ("version", "kind", "facts", "decide"):
        if not hasattr(stage, attribute):
            raise TypeError(f"{name} is not a pipeline stage: it has no {attribute}")
    return stage


# Stage titles by (language, name): every reply names each stage, and translating a lazy title
# is a walk through the translation machinery each time. Emptied when a setting changes (tests
# switching languages, catalogs or pipelines).
_titles: dict[tuple[str | None, str], str] = {}


def _titles_forget(**kwargs) -> None:
    _titles.clear()


setting_changed.connect(_titles_forget, dispatch_uid="lending_stage_titles")


def stage_title(name: str, language: str | None = None) -> str:
    """A stage's title in the reader's language, by its dotted name (the name's last part when
    the stage gives no title or is no longer configured). `language`: the active one, when the
    caller has looked it up once for several titles."""
    key = (language if language is not None else get_language(), name)
    try:
        return _titles[key]
    except KeyError:
        pass
    try:
        title = getattr(stage_load(name), "title", "")
    except (ImportError, TypeError):
        title = ""
    text = _titles[key] = str(title) if title else name.rsplit(".", 1)[-1]
    return text


def pipeline_of(product) -> list[str]:
    """The stage names of a product's pipeline (by its kind: order_loan, credit_loan, revolving,
    fixed_loan)."""
    kind = product_kind(product)
    try:
        return list(settings.CREDIT_PIPELINE[kind])
    except KeyError as exc:
        raise ApplicationError(
            f"no credit pipeline is configured for {kind} products", {"fields": {"product": ["no pipeline"]}}
        ) from exc


def queue_time_limit(queue: str) -> dt.timedelta:
    hours = settings.LENDING_QUEUE_TIME_LIMITS_HOURS.get(queue, 24)
    return dt.timedelta(hours=hours)


def _apply_terms(application: Application, verdict: Verdict) -> list[str]:
    changed = []
    for name, value in verdict.terms.items():
        if name not in TERMS:
            raise TypeError(f"a stage may set {', '.join(TERMS)}, not {name}")
        setattr(application, name, value)
        changed.append(name)
    return changed


def _reapply_on(on: dt.date, verdict: Verdict) -> dt.date:
    days = (
        settings.LENDING_REAPPLY_AFTER_DAYS
        if verdict.reapply_after_days is None
        else verdict.reapply_after_days
    )
    return on + dt.timedelta(days=days)


@dataclass
class Preview:
    """What the machine stages would decide now, without recording anything: the portal shows
    the terms (and the agreement) before the merchant applies."""

    outcome: str
    reasons: list[dict]
    application: Application
    stopped_at: str = ""


def pipeline_preview(application: Application, *, on: dt.date) -> Preview:
    """Run the machine stages over an unsaved application, as `pipeline_run` would, up to the
    first person's stage; nothing is written except a stale rating a stage refreshes."""
    run = Run(application, on)
    for name in pipeline_of(application.product):
        stage = stage_load(name)
        if stage.kind == HUMAN:
            return Preview(REFER, [], application, stopped_at=name)
        verdict = stage.decide(stage.facts(application, on=on, run=run))
        _apply_terms(application, verdict)
        if verdict.outcome != PASS:
            return Preview(
                verdict.outcome, [r.as_dict() for r in verdict.reasons], application, stopped_at=name
            )
    return Preview(PASS, [], application)


# The owner's encrypted fields no stage reads: left deferred by the locking read (not decrypted;
# read when first used). The verification stage reads the name, national id and phone.
OWNER_DEFERRED = ("address", "bank_card")


def _locking_sql() -> str:
    """The statement of `_application_locked`; in SQL what this ORM read said:
    Application.objects.select_for_update(of=("self", "merchant"), no_key=True)
        .select_related("product", "merchant__partner", "merchant__owner")
        .defer("merchant__owner__address", "merchant__owner__bank_card")
        .annotate(stages_recorded=<the count of its ApplicationStage rows>).get(pk=…)"""
    lock = " FOR NO KEY UPDATE OF a, m" if connection.features.has_select_for_update_of else ""
    return (
        f"SELECT {columns_of(Application, 'a')}, {columns_of(Product, 'p')}, {columns_of(Merchant, 'm')},"  # noqa: S608
        f" {columns_of(PartnerPlatform, 'pp')}, {columns_of(Owner, 'o', OWNER_DEFERRED)},"
        " (SELECT COUNT(*) FROM lending_applicationstage s WHERE s.application_id = a.id)"
        " FROM lending_application a JOIN lending_product p ON p.id = a.product_id"
        " JOIN merchants_merchant m ON m.id = a.merchant_id"
        " JOIN merchants_partnerplatform pp ON pp.id = m.partner_id"
        f" JOIN merchants_owner o ON o.id = m.owner_id WHERE a.id = %s{lock}"
    )


def _application_locked(application_id: int) -> Application:
    """The application, locked with its merchant, and its product, merchant, partner and owner
    (linked as select_related links them; the owner's OWNER_DEFERRED fields deferred), and how
    many stages it has recorded
    (`stages_recorded`): one statement, written in SQL (`_locking_sql`), as building it through
    the ORM cost a decision more than sending it."""
    found = fixed_instances(
        _locking_sql(),
        [application_id],
        (Application, Product, Merchant, PartnerPlatform, (Owner, OWNER_DEFERRED)),
    )
    if not found:
        raise Application.DoesNotExist("Application matching query does not exist.")
    application, product, merchant, partner, owner, recorded = found[0]
    Merchant._meta.get_field("partner").set_cached_value(merchant, partner)
    Merchant._meta.get_field("owner").set_cached_value(merchant, owner)
    Application._meta.get_field("merchant").set_cached_value(application, merchant)
    Application._meta.get_field("product").set_cached_value(application, product)
    application.stages_recorded = recorded
    return application


def pipeline_run(
    *, application_id: int, on: dt.date, actor: str, savepoint: bool = True, now: dt.datetime | None = None
) -> Application:
    """Run an application's stages from where it stands until one refers it to a person, one
    declines it, or all have passed (then it is approved). Safe to call again at any time: the
    application's row lock serialises runs, and stages already recorded are not run twice.

    One transaction: the application read and locked with what every stage reads of it (merchant,
    owner, partner, product, how many stages it has recorded), the stages' reads shared through
    one Run, then the stage rows in one insert and the decision in one compare-and-set UPDATE with
    its history row. The application returned is current without being read again, its stage
    rows attached (a reply shows them). `savepoint=False`: the caller's transaction is rolled
    back whole if this raises, so the run makes no savepoint of its own."""
    with transaction.atomic(savepoint=savepoint):
        # The application and its merchant are locked (one merchant's applications are decided
        # one at a time: the exposure stage reads all its lines), not the product or the partner,
        # which every application of that product or partner shares. NO KEY UPDATE: it excludes
        # another run or a drawdown on the merchant all the same, and does not wait for the key
        # share that inserting a row referring to the merchant takes (an application recorded in
        # the same transaction as its run, another one recorded beside it).
        application = _application_locked(application_id)
        return _stages_run(application, on=on, actor=actor, now=now)


def pipeline_run_recorded(
    *, application: Application, on: dt.date, actor: str, now: dt.datetime | None = None
) -> Application:
    """`pipeline_run` for an application recorded in the caller's transaction (nobody else sees
    it, so no run can be under way), whose merchant the caller has locked as `pipeline_run`
    locks it, its owner (OWNER_DEFERRED deferred) and partner linked: nothing is read again. No
    savepoint: the caller's transaction is rolled back whole if this raises."""
    application.stages_recorded = 0
    return _stages_run(application, on=on, actor=actor, now=now)


def _stages_run(
    application: Application, *, on: dt.date, actor: str, now: dt.datetime | None = None
) -> Application:
    """The run's stages, their rows and the decision, for an application read (or recorded) and
    locked in this transaction. A stage's start and end are on the business clock
    (`common.business_date.business_now`, or `now` when the caller has read it), as the assembly
    line's dwell times and time limits read them."""
    if application.status != Application.Status.SUBMITTED:
        return application
    names = pipeline_of(application.product)
    recorded: list[ApplicationStage] = []
    if application.stages_recorded:
        # Resumed after a person's stage (or a crash): what it has passed is not run again.
        recorded = list(application.stages.order_by("position"))
        if recorded[-1].status in (ApplicationStage.Status.WAITING, ApplicationStage.Status.DECLINED):
            return application
    run = Run(application, on)
    # The business clock: what the caller read (`now`) or read here, then run on by the wall clock.
    ahead_of_wall = (now or business_now()) - timezone.now()
    for name in names[len(recorded) :]:
        # What later stages will read, made ahead with an earlier stage's read (Run.ahead).
        ahead = getattr(stage_load(name), "ahead", None)
        if ahead is not None:
            ahead(application, on=on, run=run)
    rows: list[ApplicationStage] = []
    changed: set[str] = set()
    outcome, last = PASS, None
    for position in range(len(recorded), len(names)):
        name = names[position]
        stage = stage_load(name)
        started = timezone.now() + ahead_of_wall
        facts = stage.facts(application, on=on, run=run)
        verdict = stage.decide(facts)
        changed.update(_apply_terms(application, verdict))
        ended = timezone.now() + ahead_of_wall
        is_waiting = verdict.outcome == REFER
        row = _stage_row(
            application,
            position=position,
            name=name,
            kind=stage.kind,
            queue=getattr(stage, "queue", "") if is_waiting else "",
            status=(
                ApplicationStage.Status.WAITING
                if is_waiting
                else ApplicationStage.Status.DECLINED
                if verdict.outcome == DECLINE
                else ApplicationStage.Status.SKIPPED
                if verdict.not_needed
                else ApplicationStage.Status.PASSED
            ),
            version=verdict.version or stage.version,
            reasons=[r.as_dict() for r in verdict.reasons],
            detail={"facts": facts, **verdict.detail},
            started_at=started,
            ended_at=None if is_waiting else ended,
            due_at=started + queue_time_limit(stage.queue) if is_waiting else None,
            decided_by="" if is_waiting else f"machine:{verdict.version or stage.version}",
        )
        rows.append(row)
        application.current_stage = name
        outcome, last = verdict.outcome, verdict
        if verdict.outcome != PASS:
            break
    # The stage rows go in with the decision: one multi-row insert, as bulk_create would make it,
    # without the ORM's compiler, in the decision's statement on PostgreSQL (common.sql).
    # What the stages set goes into the decision's own UPDATE.
    terms = {name: getattr(application, name) for name in sorted(changed)}
    terms["current_stage"] = application.current_stage
    if outcome == REFER:
        _move(
            application,
            "referred",
            on=on,
            actor=actor,
            reason=f"waiting in the {rows[-1].queue or 'officers'} queue",
            also=terms,
            rows=rows,
        )
    elif outcome == DECLINE:
        _decline(application, last, on=on, actor=actor, also=terms, rows=rows)
    else:
        _approve(application, on=on, actor=actor, also=terms, rows=rows)
    # As prefetch_related would leave them: `application.stages.all()` reads nothing.
    stages = application.stages.all()
    stages._result_cache, stages._prefetch_done = [*recorded, *rows], True
    application._prefetched_objects_cache = {"stages": stages}
    return application


@cache
def _stage_columns() -> tuple:
    """ApplicationStage's concrete fields in order: (attname, the field)."""
    return tuple((field.attname, field) for field in ApplicationStage._meta.concrete_fields)


_APPLICATION_LINK = ApplicationStage._meta.get_field("application")


def _stage_row(application: Application, **values) -> ApplicationStage:
    """`ApplicationStage(application=application, **values)`, built as Django builds an instance
    from its fields in order (every field given, the others their default), linked to
    `application` as the keyword would link it: a run makes a row per stage, and the keyword
    path (a descriptor per related field, a lookup per field in the keywords) cost more than
    the row's insert. With nobody listening for the model's pre_init or post_init signals, the
    instance's attributes are set as the constructor sets them (its state, then each field's
    attribute), without the constructor's signals and calls per field."""
    values["application_id"] = application.pk
    given = [values[name] if name in values else field.get_default() for name, field in _stage_columns()]
    if signals.pre_init.has_listeners(ApplicationStage) or signals.post_init.has_listeners(ApplicationStage):
        row = ApplicationStage(*given)
    else:
        row = ApplicationStage.__new__(ApplicationStage)
        state = row.__dict__
        state["_state"] = ModelState()
        state.update(zip(_stage_attnames(), given, strict=True))
    _APPLICATION_LINK.set_cached_value(row, application)
    return row


@cache
def _stage_attnames() -> tuple:
    return tuple(name for name, _field in _stage_columns())


def _move(
    application: Application,
    event: str,
    *,
    on: dt.date,
    actor: str,
    reason: str,
    also: Mapping,
    reasons: list | None = None,
    rows: list | tuple = (),
) -> None:
    """The application's status moved by `event` (compare-and-set from the status it was read
    with under its lock), `also` written in the same UPDATE, and the object in memory made what
    the row now holds, so nothing reads it again. `rows`: the run's new stage rows, inserted
    first (in the same statement where the database allows it)."""
    changes = {**also, "updated_at": timezone.now()}
    if lifecycle.APPLICATION.snapshot is None:
        _moved(
            application, event, on=on, actor=actor, reason=reason, changes=changes, reasons=reasons, rows=rows
        )
    else:
        rows_insert(ApplicationStage, rows)
        lifecycle.transition(
            lifecycle.APPLICATION,
            pk=application.pk,
            event=event,
            business_on=on,
            actor=actor,
            reason=reason,
            also=changes,
            current=application.status,
            reasons=reasons,
        )
    application.status = lifecycle.APPLICATION.transitions[event].target
    for name, value in changes.items():
        setattr(application, name, value)
    if application.decided_rate is not None:
        # As the column holds it (and a read gives it back): to its decimal places.
        places = Application._meta.get_field("decided_rate").decimal_places
        application.decided_rate = Decimal(application.decided_rate).quantize(Decimal(1).scaleb(-places))


def _moved(application, event, *, on, actor, reason, changes, reasons, rows=()) -> None:
    """`lifecycle.transition` for the application held under its lock: the compare-and-set
    UPDATE from the status it was read with and its history row, in one statement on PostgreSQL
    (common.sql.update_with_insert); the same refusal when the status is not one the event
    starts from or the row changed meanwhile."""
    current = application.status
    step = lifecycle.step_from(lifecycle.APPLICATION, event, current)
    history = lifecycle.history_row(
        lifecycle.APPLICATION,
        application.pk,
        event=event,
        current=current,
        business_on=on,
        actor=actor,
        cob_run_id=None,
        reason=reason,
        reasons=reasons,
    )
    if not update_with_insert(
        Application,
        application.pk,
        {"status": current},
        {"status": step.target, **changes},
        history,
        "application",
        rows=(ApplicationStage, rows),
    ):
        raise lifecycle.changed_meanwhile(lifecycle.APPLICATION)


def _decline(
    application: Application,
    verdict: Verdict,
    *,
    on: dt.date,
    actor: str,
    also: Mapping | None = None,
    rows: list | tuple = (),
) -> None:
    reasons = [r.as_dict() for r in verdict.reasons]
    decided = {
        "reasons": reasons,
        "reapply_on": _reapply_on(on, verdict),
        "decided_on": on,
        "decided_at": timezone.now(),
        "decided_by": actor[:100],
    }
    _move(
        application,
        "declined",
        on=on,
        actor=actor,
        reason="; ".join(r["text"] for r in reasons)[:200],
        also={**(also or {}), **decided},
        reasons=reasons,
        rows=rows,
    )
    _decided_emit(application, outcome="declined", on=on, decided=decided)


def _approve(
    application: Application,
    *,
    on: dt.date,
    actor: str,
    also: Mapping | None = None,
    rows: list | tuple = (),
) -> None:
    decided = {"decided_on": on, "decided_at": timezone.now(), "decided_by": actor[:100], "reasons": []}
    _move(
        application,
        "approved",
        on=on,
        actor=actor,
        reason="every stage passed",
        also={**(also or {}), **decided},
        rows=rows,
    )
    _decided_emit(application, outcome="approved", on=on, decided=decided)


def _decided_emit(application: Application, *, outcome: str, on: dt.date, decided: Mapping) -> None:
    """application.decided to the partner, in the transaction of the decision (from the row in
    hand: the stages' terms are on it, the decision's own fields in `decided`)."""
    limit, rate = application.decided_limit_fen, application.decided_rate
    event_emit(
        partner=application.merchant.partner_id,
        type=EventType.APPLICATION_DECIDED,
        business_on=on,
        payload={
            "application": application.reference,
            "merchant": application.merchant.external_id,
            "product": application.product.code,
            "outcome": outcome,
            "amount": str(fen_to_yuan(application.amount_fen)),
            "limit": str(fen_to_yuan(limit)) if limit is not None else None,
            "daily_rate": str(rate) if rate is not None else None,
            "grade": application.decided_grade or None,
            "term": application.decided_term,
            # The partner's own screens pick the words by code; the text is the English one.
            "reasons": [{"code": r["code"], "text": r["text"]} for r in decided["reasons"]],
            "reapply_on": decided["reapply_on"].isoformat() if decided.get("reapply_on") else None,
            "decided_on": decided["decided_on"].isoformat(),
            "decided_at": decided["decided_at"].isoformat(),
        },
    )


def application_decline_by_person(application: Application, verdict: Verdict, *, on: dt.date, actor: str):
    """A person's decline at a stage they worked: the same record as a machine's."""
    _decline(application, verdict, on=on, actor=actor)


def stage_replay(row: ApplicationStage) -> Verdict:
    """The stage's rule run again over the facts it recorded: a machine decision explained. The
    verdict equals the recorded one while the stage's version is the one that decided."""
    stage = stage_load(row.name)
    return stage.decide(row.detail.get("facts", {}))
