"""The nightly post-loan monitoring and the actions it takes, through lending's and merchants'
services only.

`monitoring_run(on=…)` looks at every merchant with exposure (an open loan or line, or a loan
written off while the shop still trades) on a closed business date. A run is one row per date
(`MonitoringRun`, unique); its chunks — ranges of merchant ids — are frozen when it starts, and
each chunk commits its rows together with its `MonitoringChunk` row, so running the date again
does nothing new and a run stopped half-way does only the chunks that are missing. A chunk reads
its merchants' facts in a fixed handful of set-based queries (daily trading aggregates, loans,
pledge refunds, lines, the previous levels, the open warnings), so the cost is linear in the
merchants with exposure. Actions follow a rise in level (an officer's reversal stays reversed
until the merchant gets worse again); lines are renewed at expiry while the merchant is green or
yellow, and raised at renewal after a clean record."""

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from common.errors import ApplicationError, ConflictError, NotFoundError
from common.texts import stored_reason
from lending import collections as collection_queue
from lending import services as lending
from lending.models import CollectionCase, CreditLine, Loan
from merchants import services as merchants
from merchants.models import Merchant
from merchants.webhooks.models import EventType
from merchants.webhooks.services import merchant_events_emit
from riskcontrol import notices
from riskcontrol.models import (
    MerchantRisk,
    MonitoringChunk,
    MonitoringRun,
    RiskAction,
    Warning,
)
from riskcontrol.monitoring import rules
from riskcontrol.monitoring.facts import _bounds, _exposed_ids, facts_of_range

log = logging.getLogger(__name__)

CHUNK_SIZE = 2_000
ACTOR = "post-loan monitoring"
OPEN_LOAN = (Loan.Status.ACTIVE, Loan.Status.OVERDUE)
# Who may reverse an action: the workbench and the service check the same permission.
REVERSE_PERMISSION = "riskcontrol.reverse_riskaction"


def thresholds() -> rules.Thresholds:
    return rules.thresholds_from(getattr(settings, "RISK_MONITORING", None))


# --- the run ------------------------------------------------------------------------------------


def monitoring_run_start(*, on: dt.date, chunk_size: int | None = None) -> MonitoringRun:
    """The run of `on`, created with its frozen chunks the first time; later calls get it back."""
    run = MonitoringRun.objects.filter(business_on=on).first()
    if run is not None:
        return run
    size = chunk_size or getattr(settings, "RISK_MONITORING_CHUNK_SIZE", CHUNK_SIZE)
    if size < 1:
        raise ApplicationError("chunk size must be at least 1", {"fields": {"chunk_size": ["must be ≥ 1"]}})
    bounds = _bounds(_exposed_ids(), size)
    try:
        with transaction.atomic():
            return MonitoringRun.objects.create(
                business_on=on, version=thresholds().version, chunk_bounds=bounds
            )
    except IntegrityError:
        return MonitoringRun.objects.get(business_on=on)


def monitoring_chunk(*, run_id: int, chunk: int, today: dt.date | None = None) -> int | None:
    """Monitor one chunk of a run, once: its warnings, levels, actions and its chunk row commit
    together. Returns the merchants looked at, or None when the chunk had been done. `today`: the
    business date as the caller (a command, a task) read it; a repayment demanded falls due on
    the first business date after the monitored one, and not before `today` (an on-demand run of
    an earlier date). None: the date after the monitored one, as when the run follows its close."""
    run = MonitoringRun.objects.get(pk=run_id)
    low, high = run.chunk_bounds[chunk]
    t = thresholds()
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = MonitoringChunk.objects.create(run=run, chunk=chunk)
        except IntegrityError:
            return None
        facts = facts_of_range(low=low, high=high, on=run.business_on, t=t)
        counts = _monitor(facts=facts, on=run.business_on, today=today, t=t, low=low, high=high)
        claim.merchants = len(facts)
        claim.counts = counts
        claim.save(update_fields=["merchants", "counts"])
    return len(facts)


def monitoring_run_finish(*, run: MonitoringRun) -> MonitoringRun:
    totals: dict[str, int] = defaultdict(int)
    for counts, merchants_seen in run.chunks.values_list("counts", "merchants"):
        totals["merchants"] += merchants_seen
        for key, value in counts.items():
            totals[key] += value
    MonitoringRun.objects.filter(pk=run.pk, status=MonitoringRun.Status.RUNNING).update(
        status=MonitoringRun.Status.DONE, summary=dict(totals), finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def monitoring_missing_chunks(*, run: MonitoringRun) -> list[int]:
    done = set(run.chunks.values_list("chunk", flat=True))
    return [n for n in range(len(run.chunk_bounds)) if n not in done]


def monitoring_run(
    *, on: dt.date, chunk_size: int | None = None, today: dt.date | None = None
) -> MonitoringRun:
    """Monitor every merchant with exposure on the closed business date `on`, in this process.
    Idempotent per date; a run stopped half-way is finished by calling it again. `today`: as
    monitoring_chunk's."""
    run = monitoring_run_start(on=on, chunk_size=chunk_size)
    if run.status == MonitoringRun.Status.DONE:
        return run
    for chunk in monitoring_missing_chunks(run=run):
        monitoring_chunk(run_id=run.pk, chunk=chunk, today=today)
    return monitoring_run_finish(run=run)


# --- one chunk's decisions ----------------------------------------------------------------------


def _warnings_emit(warnings: list[Warning]) -> None:
    """warning.raised to each merchant's partner, in bulk, in the chunk's transaction."""
    merchant_events_emit(
        type=EventType.WARNING_RAISED,
        items=[
            (
                w.merchant_id,
                w.raised_on,
                {
                    "warning": w.pk,
                    "kind": w.kind,
                    "severity": w.severity,
                    "raised_on": w.raised_on.isoformat(),
                    # A stable code per reason, its words in English (the partner API's language).
                    "reasons": [rules.in_english(r) for r in w.reasons],
                },
            )
            for w in warnings
        ],
    )


def _monitor(
    *,
    facts: dict[int, rules.Facts],
    on: dt.date,
    today: dt.date | None,
    t: rules.Thresholds,
    low: int,
    high: int,
) -> dict:
    counts: dict[str, int] = defaultdict(int)
    if not facts:
        return counts
    version = t.version
    # Plain tuples, not model instances: most merchants change nothing on most nights.
    previous = {
        row[0]: row[1:]
        for row in MerchantRisk.objects.filter(merchant_id__gte=low, merchant_id__lte=high).values_list(
            "merchant_id", "level_rank", "score", "reasons", "version", "is_defaulter"
        )
    }
    open_warnings: dict[int, dict[str, int]] = defaultdict(dict)
    for warning_id, merchant_id, kind in Warning.objects.filter(
        merchant_id__gte=low, merchant_id__lte=high, status=Warning.Status.OPEN
    ).values_list("pk", "merchant_id", "kind"):
        open_warnings[merchant_id][kind] = warning_id
    expiring = set(
        CreditLine.objects.filter(
            merchant_id__gte=low, merchant_id__lte=high, status=CreditLine.Status.ACTIVE, expires_on__lte=on
        ).values_list("merchant_id", flat=True)
    )
    clean = set(
        Loan.objects.filter(merchant_id__in=expiring)
        .values("merchant_id")
        .annotate(worst=Max("max_days_past_due"))
        .filter(worst=0)
        .values_list("merchant_id", flat=True)
    )
    statuses = dict(Merchant.objects.filter(pk__in=facts).values_list("pk", "status"))

    new_warnings, closing, risks = [], [], []
    for merchant_id, f in facts.items():
        a = rules.assess(f, t)
        held = {s.kind for s in a.signals}
        for s in a.signals:
            if s.kind not in open_warnings[merchant_id]:
                new_warnings.append(
                    Warning(
                        merchant_id=merchant_id,
                        kind=s.kind,
                        raised_on=on,
                        severity=s.severity,
                        reasons=[s.as_dict()],
                        facts=_plain(f),
                        version=version,
                    )
                )
        closing.extend(pk for kind, pk in open_warnings[merchant_id].items() if kind not in held)
        before = previous.get(merchant_id)
        rank = rules.level_rank(a.level)
        if before != (rank, a.score, a.reasons, version, a.is_defaulter):
            risks.append(
                MerchantRisk(
                    merchant_id=merchant_id,
                    level=a.level,
                    level_rank=rank,
                    score=a.score,
                    as_of=on,
                    reasons=a.reasons,
                    version=version,
                    is_defaulter=a.is_defaulter,
                )
            )
        counts[a.level] += 1
        rose = rank > (before[0] if before is not None else 0)
        newly_defaulted = a.is_defaulter and (before is None or not before[4])
        if rose or newly_defaulted:
            kinds = rules.actions_for(a.level, defaulter=a.is_defaulter)
            if not rose:
                kinds = [k for k in kinds if k == rules.RESTRICT_SHOP]
            # The shop before its lines: the order a drawdown locks them in (merchant, then line).
            kinds = sorted(kinds, key=lambda k: k != rules.RESTRICT_SHOP)
            for kind in kinds:
                if kind == rules.RESTRICT_SHOP and statuses[merchant_id] != Merchant.Status.ACTIVE:
                    continue
                _act(
                    kind=kind,
                    merchant_id=merchant_id,
                    lines=_lines_of(merchant_id),
                    level=a.level,
                    reason="; ".join(r["text"] for r in a.reasons)[:300] or f"level {a.level}",
                    reasons=a.reasons,
                    on=on,
                    today=today,
                    version=version,
                )
                counts[f"action_{kind}"] += 1
        if (
            merchant_id in expiring
            and a.level in (rules.GREEN, rules.YELLOW)
            and statuses[merchant_id] == Merchant.Status.ACTIVE
        ):
            for line in _lines_of(merchant_id):
                if line.status == CreditLine.Status.ACTIVE and line.expires_on <= on:
                    kind = _renew(
                        line=line,
                        is_good=a.level == rules.GREEN and merchant_id in clean,
                        on=on,
                        version=version,
                    )
                    counts[f"action_{kind}"] += 1
    Warning.objects.bulk_create(new_warnings)
    _warnings_emit(new_warnings)
    if closing:
        Warning.objects.filter(pk__in=closing, status=Warning.Status.OPEN).update(
            status=Warning.Status.CLOSED, closed_on=on
        )
    # Unchanged levels only move their date on: one statement for the chunk.
    MerchantRisk.objects.filter(merchant_id__in=list(facts)).exclude(as_of=on).update(as_of=on)
    MerchantRisk.objects.bulk_create(
        risks,
        update_conflicts=True,
        unique_fields=["merchant"],
        update_fields=["level", "level_rank", "score", "as_of", "reasons", "version", "is_defaulter"],
    )
    counts["warnings_raised"] += len(new_warnings)
    counts["warnings_closed"] += len(closing)
    return counts


def _lines_of(merchant_id: int) -> list[CreditLine]:
    """A merchant's lines not closed, read only for the few merchants acted on tonight."""
    return list(
        CreditLine.objects.filter(merchant_id=merchant_id)
        .exclude(status=CreditLine.Status.CLOSED)
        .select_related("product")
        .order_by("pk")
    )


def _plain(f: rules.Facts) -> dict:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}


def _renew(*, line: CreditLine, is_good: bool, on: dt.date, version: str) -> str:
    """Renew an expired line for a year; a clean record (green, never past due) raises it too."""
    limit = line.limit_fen
    kind = RiskAction.Kind.RENEW_LINE
    if is_good:
        raised = rules.line_raise_to_fen(limit_fen=limit, product_max_fen=line.product.amount_max_fen)
        if raised > limit:
            limit, kind = raised, RiskAction.Kind.RAISE_LINE
    if limit > line.limit_fen:
        why = stored_reason(
            "raised_at_expiry", gettext_noop("renewed at expiry and raised for a clean record")
        )
    else:
        why = stored_reason("renewed_at_expiry", gettext_noop("renewed at expiry"))
    reason = why["text"]
    lending.credit_line_change_terms(
        line=line,
        limit_fen=limit,
        daily_rate=line.daily_rate,
        grade=line.grade,
        actor=ACTOR,
        reason=reason,
        on=on,
        expires_on=on + dt.timedelta(days=365),
        reasons=[why],
    )
    RiskAction.objects.create(
        merchant_id=line.merchant_id,
        kind=kind,
        reason=reason,
        business_on=on,
        actor=ACTOR,
        version=version,
        result={
            "lines": [
                {
                    "id": line.pk,
                    "limit_before": line.limit_fen,
                    "limit_after": limit,
                    "expires_before": line.expires_on.isoformat(),
                }
            ],
            "reasons": [why],
        },
    )
    return kind


def _act(
    *,
    kind: str,
    merchant_id: int,
    lines: list[CreditLine],
    level: str,
    reason: str,
    on: dt.date,
    today: dt.date | None,
    version: str,
    reasons: list[dict] | None = None,
):
    result: dict = {}
    # Why, as the rows below risk control keep it (common.texts): each sentence is read in its
    # reader's language, `reason` stays for the record as written.
    why = [rules.stored(r) for r in reasons or []] or [
        stored_reason("level", gettext_noop("level %(level)s"), {"level": level})
    ]

    def said(code: str, msgid: str) -> dict:
        return stored_reason(code, msgid, {"reason": why})

    if kind == rules.CUT_UNUSED_LINE:
        cut = []
        for line in lines:
            current = CreditLine.objects.get(pk=line.pk)
            target = rules.line_cut_to_fen(
                used_fen=current.used_fen, product_min_fen=line.product.amount_min_fen
            )
            if target < current.limit_fen:
                cut_why = said("unused_line_cut", gettext_noop("unused line cut: %(reason)s"))
                lending.credit_line_change_terms(
                    line=current,
                    limit_fen=target,
                    daily_rate=current.daily_rate,
                    grade=current.grade,
                    actor=ACTOR,
                    reason=cut_why["text"][:200],
                    on=on,
                    reasons=[cut_why],
                )
                cut.append({"id": line.pk, "limit_before": current.limit_fen, "limit_after": target})
        result = {"lines": cut}
    elif kind == rules.FREEZE_LINE:
        frozen = []
        frozen_why = said("frozen", gettext_noop("frozen: %(reason)s"))
        for line in lines:
            if CreditLine.objects.filter(pk=line.pk, status=CreditLine.Status.ACTIVE).exists():
                lending.credit_line_freeze(
                    line=line,
                    actor=ACTOR,
                    reason=frozen_why["text"][:200],
                    on=on,
                    reasons=[frozen_why],
                )
                frozen.append(line.pk)
        result = {"lines": frozen}
    elif kind in (rules.DEMAND_REPAYMENT, rules.SEND_TO_COLLECTIONS):
        # The first business date after the monitored (closed) one: the demand falls due then.
        due_on = max(on + dt.timedelta(days=1), today or on)
        loans = []
        for loan in Loan.objects.filter(merchant_id=merchant_id, status__in=OPEN_LOAN).order_by("pk"):
            item = {
                "id": loan.pk,
                "reference": loan.reference,
                "owed_fen": loan.total_outstanding_fen,
                "days_past_due": loan.days_past_due,
            }
            if kind == rules.DEMAND_REPAYMENT:
                before = collection_queue.loan_accelerate(
                    loan=loan, on=due_on, actor=ACTOR, reason=reason, reasons=why
                )
                if before is not None:
                    item.update(due_on=due_on.isoformat(), before=before)
            else:
                sent_why = said("sent_by_risk_control", gettext_noop("sent by risk control: %(reason)s"))
                case, created = collection_queue.case_open(
                    loan=loan, on=due_on, actor=ACTOR, reason=sent_why["text"], reasons=[sent_why]
                )
                item.update(case=case.pk, case_opened=created)
            loans.append(item)
        result = {"loans": loans}
    elif kind == rules.RESTRICT_SHOP:
        merchant = Merchant.objects.get(pk=merchant_id)
        restrict_why = said("defaulter", gettext_noop("defaulter: %(reason)s"))
        merchants.merchant_restrict(
            merchant=merchant, reason=restrict_why["text"][:200], actor=ACTOR, reasons=[restrict_why]
        )
        result = {"status_before": Merchant.Status.ACTIVE}
    action = RiskAction.objects.create(
        merchant_id=merchant_id,
        kind=kind,
        level=level,
        reason=reason,
        business_on=on,
        actor=ACTOR,
        version=version,
        # The reasons by code and parameters, so a page reads them in its reader's language
        # (`reason` holds them in the language of the night that wrote it); the level, when no
        # signal said why.
        result={**result, "reasons": reasons or why},
    )
    if kind == rules.RESTRICT_SHOP:
        notices.partner_notice_record(
            action=action,
            kind=notices.SHOP_RESTRICTED,
            reasons=[
                said("shop_restricted_for_default", gettext_noop("shop restricted for default: %(reason)s"))
            ],
            on=on,
        )
    return action


# --- reversal -----------------------------------------------------------------------------------


def user_may_reverse(user) -> bool:
    """Loan officers and risk managers hold the permission (common/roles.py)."""
    return bool(user is not None and user.is_authenticated and user.has_perm(REVERSE_PERMISSION))


@transaction.atomic
def risk_action_reverse(*, action_id: int, user, reason: str, on: dt.date) -> RiskAction:
    """An officer undoes an action, with a reason: the opposite service runs (unfreeze, restore
    the cut limit, reinstate the shop, telling the partner); a record-only action is closed."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(gettext("a reversal needs a reason"), {"fields": {"reason": ["required"]}})
    if not user_may_reverse(user):
        raise ApplicationError(
            "only a loan officer or risk manager may reverse an action",
            {"fields": {"user": ["not a loan officer or risk manager"]}},
        )
    action = RiskAction.objects.select_for_update().filter(pk=action_id).first()
    if action is None:
        raise NotFoundError("no such action", {"fields": {"action": [f"{action_id} does not exist"]}})
    if action.reversed_at is not None:
        raise ConflictError("the action was reversed before", {"fields": {"action": ["already reversed"]}})
    actor = f"{user.get_username()} (reversal)"
    with translation.override(None):  # the kind's msgid, read in each reader's language
        kind = stored_reason(action.kind, str(RiskAction.Kind(action.kind).label))
    undone = stored_reason(
        "reversal", gettext_noop("reversal of %(action)s: %(reason)s"), {"action": kind, "reason": reason}
    )
    note = undone["text"][:200]
    done: dict = {}
    if action.kind in (
        RiskAction.Kind.CUT_UNUSED_LINE,
        RiskAction.Kind.RAISE_LINE,
        RiskAction.Kind.RENEW_LINE,
    ):
        restored = []
        for item in action.result.get("lines", []):
            line = CreditLine.objects.filter(pk=item["id"]).exclude(status=CreditLine.Status.CLOSED).first()
            if line is None:
                continue
            expires = None
            if "expires_before" in item:
                expires = max(dt.date.fromisoformat(item["expires_before"]), on)
            lending.credit_line_change_terms(
                line=line,
                limit_fen=item["limit_before"],
                daily_rate=line.daily_rate,
                grade=line.grade,
                actor=actor,
                reason=note,
                on=on,
                expires_on=expires,
                reasons=[undone],
            )
            restored.append({"id": line.pk, "limit_fen": item["limit_before"]})
        done = {"lines": restored}
    elif action.kind == RiskAction.Kind.FREEZE_LINE:
        unfrozen = []
        for line in CreditLine.objects.filter(
            pk__in=action.result.get("lines", []), status=CreditLine.Status.FROZEN
        ):
            lending.credit_line_unfreeze(line=line, actor=actor, reason=note, on=on)
            unfrozen.append(line.pk)
        done = {"lines": unfrozen}
    elif action.kind == RiskAction.Kind.DEMAND_REPAYMENT:
        withdrawn = []
        for item in action.result.get("loans", []):
            if "before" in item:
                loan = Loan.objects.get(pk=item["id"])
                collection_queue.loan_acceleration_withdraw(
                    loan=loan, before=item["before"], on=on, actor=actor, reason=note, reasons=[undone]
                )
                withdrawn.append(loan.pk)
        done = {"loans": withdrawn}
    elif action.kind == RiskAction.Kind.SEND_TO_COLLECTIONS:
        closed = []
        for item in action.result.get("loans", []):
            if item.get("case_opened"):
                case = CollectionCase.objects.filter(
                    pk=item["case"], status=CollectionCase.Status.OPEN
                ).first()
                if case is not None:
                    collection_queue.case_withdraw(case=case, on=on, actor=actor, reason=note)
                    closed.append(case.pk)
        done = {"cases": closed}
    elif action.kind == RiskAction.Kind.RESTRICT_SHOP:
        merchant = Merchant.objects.get(pk=action.merchant_id)
        if merchant.status == Merchant.Status.RESTRICTED:
            # The officer's own words inside a sentence read in the reader's language.
            lifted = stored_reason(
                "restriction_lifted", gettext_noop("restriction lifted: %(reason)s"), {"reason": reason}
            )
            merchants.merchant_reinstate(merchant=merchant, reason=note, actor=actor, reasons=[lifted])
            done = {"status": Merchant.Status.ACTIVE}
            notices.partner_notice_record(
                action=action, kind=notices.SHOP_REINSTATED, reasons=[lifted], on=on
            )
    action.reversed_at = timezone.now()
    action.reversed_by = user
    action.reversed_reason = reason[:300]
    action.reversal_result = done
    action.save(update_fields=["reversed_at", "reversed_by", "reversed_reason", "reversal_result"])
    return action
