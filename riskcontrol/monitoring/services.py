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
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from common.errors import ApplicationError, ConflictError, NotFoundError
from lending import services as lending
from lending.models import CreditLine, Loan, LoanEvent
from merchants import services as merchants
from merchants.models import Merchant
from merchants.webhooks.models import EventType
from merchants.webhooks.services import merchant_events_emit
from riskcontrol.models import (
    MerchantRisk,
    MonitoringChunk,
    MonitoringRun,
    PartnerNotice,
    RiskAction,
    Warning,
)
from riskcontrol.monitoring import rules
from scoring.models import MerchantDay

log = logging.getLogger(__name__)

CHUNK_SIZE = 2_000
ACTOR = "post-loan monitoring"
OPEN_LOAN = (Loan.Status.ACTIVE, Loan.Status.OVERDUE)
# Who may reverse an action: the workbench and the service check the same permission.
REVERSE_PERMISSION = "riskcontrol.reverse_riskaction"


def thresholds() -> rules.Thresholds:
    return rules.thresholds_from(getattr(settings, "RISK_MONITORING", None))


# --- which merchants, in which chunks -----------------------------------------------------------


def _exposed_ids(*, low: int | None = None, high: int | None = None) -> list[int]:
    """Merchants with an open loan, a line not closed, or a written-off loan while still active."""
    loans = Loan.objects.filter(
        Q(status__in=OPEN_LOAN) | Q(status=Loan.Status.WRITTEN_OFF, merchant__status=Merchant.Status.ACTIVE)
    )
    lines = CreditLine.objects.exclude(status=CreditLine.Status.CLOSED)
    if low is not None:
        loans = loans.filter(merchant_id__gte=low, merchant_id__lte=high)
        lines = lines.filter(merchant_id__gte=low, merchant_id__lte=high)
    ids = set(loans.values_list("merchant_id", flat=True).distinct())
    ids.update(lines.values_list("merchant_id", flat=True).distinct())
    return sorted(ids)


def _bounds(ids: list[int], size: int) -> list[list[int]]:
    return [[ids[i], ids[min(i + size, len(ids)) - 1]] for i in range(0, len(ids), size)]


# --- the facts of one chunk, set-based ----------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    on: dt.date
    recent_from: dt.date
    baseline_from: dt.date
    diversion_from: dt.date

    @classmethod
    def of(cls, on: dt.date, t: rules.Thresholds) -> "Windows":
        recent_from = on - dt.timedelta(days=t.recent_days - 1)
        return cls(
            on=on,
            recent_from=recent_from,
            baseline_from=recent_from - dt.timedelta(days=t.baseline_days),
            diversion_from=on - dt.timedelta(days=t.diversion_days - 1),
        )


def facts_of_range(*, low: int, high: int, on: dt.date, t: rules.Thresholds) -> dict[int, rules.Facts]:
    """The facts of every exposed merchant with an id in [low, high] on `on`: four queries."""
    ids = _exposed_ids(low=low, high=high)
    if not ids:
        return {}
    w = Windows.of(on, t)
    in_range = {"merchant_id__gte": low, "merchant_id__lte": high}
    recent = Q(business_on__gte=w.recent_from)
    baseline = Q(business_on__lt=w.recent_from)
    diversion = Q(business_on__gte=w.diversion_from)
    days = {
        row["merchant_id"]: row
        for row in MerchantDay.objects.filter(
            **in_range, business_on__gte=w.baseline_from, business_on__lte=on
        )
        .values("merchant_id")
        .annotate(
            sales_recent=Sum("paid_fen", filter=recent),
            sales_baseline=Sum("paid_fen", filter=baseline),
            orders_recent=Sum("paid_count", filter=recent),
            orders_baseline=Sum("paid_count", filter=baseline),
            refunds_recent=Sum("refund_count", filter=recent),
            refunds_baseline=Sum("refund_count", filter=baseline),
            complaints_recent=Sum("complaint_count", filter=recent),
            complaints_baseline=Sum("complaint_count", filter=baseline),
            withdrawn=Sum(F("wallet_out_fen") - F("loan_out_fen"), filter=diversion),
            last_order_on=Max("business_on", filter=Q(placed_count__gt=0)),
        )
    }
    loans = {
        row["merchant_id"]: row
        for row in Loan.objects.filter(**in_range)
        .filter(
            Q(status__in=OPEN_LOAN)
            | Q(status=Loan.Status.WRITTEN_OFF)
            | Q(disbursed_on__gte=w.diversion_from)
        )
        .values("merchant_id")
        .annotate(
            dpd=Max("days_past_due", filter=Q(status__in=OPEN_LOAN)),
            written_off=Count("pk", filter=Q(status=Loan.Status.WRITTEN_OFF)),
            drawn=Sum("principal_fen", filter=Q(disbursed_on__gte=w.diversion_from, disbursed_on__lte=on)),
        )
    }
    pledges = dict(
        LoanEvent.objects.filter(
            loan__merchant_id__gte=low,
            loan__merchant_id__lte=high,
            kind=LoanEvent.Kind.PLEDGE_REFUNDED,
            business_on__gte=w.diversion_from,
            business_on__lte=on,
        )
        .values("loan__merchant_id")
        .annotate(n=Count("pk"))
        .values_list("loan__merchant_id", "n")
    )
    opened = dict(Merchant.objects.filter(pk__in=ids).values_list("pk", "opened_on"))
    out = {}
    for merchant_id in ids:
        day = days.get(merchant_id, {})
        loan = loans.get(merchant_id, {})
        last = day.get("last_order_on")
        out[merchant_id] = rules.Facts(
            drawn_recent_fen=loan.get("drawn") or 0,
            withdrawn_recent_fen=max(day.get("withdrawn") or 0, 0),
            sales_recent_fen=day.get("sales_recent") or 0,
            sales_baseline_fen=day.get("sales_baseline") or 0,
            orders_recent=day.get("orders_recent") or 0,
            orders_baseline=day.get("orders_baseline") or 0,
            refunds_recent=day.get("refunds_recent") or 0,
            refunds_baseline=day.get("refunds_baseline") or 0,
            complaints_recent=day.get("complaints_recent") or 0,
            complaints_baseline=day.get("complaints_baseline") or 0,
            days_since_last_order=(on - last).days if last else None,
            history_days=(on - opened[merchant_id]).days + 1,
            pledges_refunded_recent=pledges.get(merchant_id, 0),
            days_past_due=loan.get("dpd") or 0,
            is_written_off=bool(loan.get("written_off")),
        )
    return out


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


def monitoring_chunk(*, run_id: int, chunk: int) -> int | None:
    """Monitor one chunk of a run, once: its warnings, levels, actions and its chunk row commit
    together. Returns the merchants looked at, or None when the chunk had been done."""
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
        counts = _monitor(facts=facts, on=run.business_on, t=t, low=low, high=high)
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


def monitoring_run(*, on: dt.date, chunk_size: int | None = None) -> MonitoringRun:
    """Monitor every merchant with exposure on the closed business date `on`, in this process.
    Idempotent per date; a run stopped half-way is finished by calling it again."""
    run = monitoring_run_start(on=on, chunk_size=chunk_size)
    if run.status == MonitoringRun.Status.DONE:
        return run
    for chunk in monitoring_missing_chunks(run=run):
        monitoring_chunk(run_id=run.pk, chunk=chunk)
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
                    "reasons": w.reasons,
                },
            )
            for w in warnings
        ],
    )


def _monitor(*, facts: dict[int, rules.Facts], on: dt.date, t: rules.Thresholds, low: int, high: int) -> dict:
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
                        reasons=[{"code": s.code, "text": s.text}],
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
                    on=on,
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
    reason = "renewed at expiry 额度到期续期" + (
        " and raised for a clean record 按时还款提额" if limit > line.limit_fen else ""
    )
    lending.credit_line_change_terms(
        line=line,
        limit_fen=limit,
        daily_rate=line.daily_rate,
        grade=line.grade,
        actor=ACTOR,
        reason=reason,
        on=on,
        expires_on=on + dt.timedelta(days=365),
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
            ]
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
    version: str,
):
    result: dict = {}
    if kind == rules.CUT_UNUSED_LINE:
        cut = []
        for line in lines:
            current = CreditLine.objects.get(pk=line.pk)
            target = rules.line_cut_to_fen(
                used_fen=current.used_fen, product_min_fen=line.product.amount_min_fen
            )
            if target < current.limit_fen:
                lending.credit_line_change_terms(
                    line=current,
                    limit_fen=target,
                    daily_rate=current.daily_rate,
                    grade=current.grade,
                    actor=ACTOR,
                    reason=f"unused line cut 压降未用额度: {reason}"[:200],
                    on=on,
                )
                cut.append({"id": line.pk, "limit_before": current.limit_fen, "limit_after": target})
        result = {"lines": cut}
    elif kind == rules.FREEZE_LINE:
        frozen = []
        for line in lines:
            if CreditLine.objects.filter(pk=line.pk, status=CreditLine.Status.ACTIVE).exists():
                lending.credit_line_freeze(
                    line=line, actor=ACTOR, reason=f"frozen 冻结: {reason}"[:200], on=on
                )
                frozen.append(line.pk)
        result = {"lines": frozen}
    elif kind in (rules.DEMAND_REPAYMENT, rules.SEND_TO_COLLECTIONS):
        # No acceleration or collections service in lending yet: the action is the record the
        # collections queue reads (loans and what they owe as of the date).
        result = {
            "loans": [
                {"id": pk, "reference": ref, "owed_fen": p + i + pen + fee, "days_past_due": dpd}
                for pk, ref, p, i, pen, fee, dpd in Loan.objects.filter(
                    merchant_id=merchant_id, status__in=OPEN_LOAN
                )
                .order_by("pk")
                .values_list(
                    "pk",
                    "reference",
                    "principal_outstanding_fen",
                    "interest_outstanding_fen",
                    "penalty_outstanding_fen",
                    "fee_outstanding_fen",
                    "days_past_due",
                )
            ]
        }
    elif kind == rules.RESTRICT_SHOP:
        merchant = Merchant.objects.get(pk=merchant_id)
        merchants.merchant_restrict(merchant=merchant, reason=f"defaulter 违约: {reason}"[:200], actor=ACTOR)
        result = {"status_before": Merchant.Status.ACTIVE}
    action = RiskAction.objects.create(
        merchant_id=merchant_id,
        kind=kind,
        level=level,
        reason=reason,
        business_on=on,
        actor=ACTOR,
        version=version,
        result=result,
    )
    if kind == rules.RESTRICT_SHOP:
        _notify_partner(
            action=action,
            kind="shop_restricted",
            message=f"shop restricted for default 店铺因违约被限制: {reason}"[:300],
            on=on,
        )
    return action


def _notify_partner(*, action: RiskAction, kind: str, message: str, on: dt.date) -> PartnerNotice:
    merchant = Merchant.objects.only("partner_id").get(pk=action.merchant_id)
    return PartnerNotice.objects.create(
        partner_id=merchant.partner_id,
        merchant_id=action.merchant_id,
        action=action,
        kind=kind,
        message=message,
        business_on=on,
    )


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
        raise ApplicationError(
            "a reversal needs a reason 请填写撤销原因", {"fields": {"reason": ["required"]}}
        )
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
    note = f"reversal of {action.get_kind_display()}: {reason}"[:200]
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
    elif action.kind == RiskAction.Kind.RESTRICT_SHOP:
        merchant = Merchant.objects.get(pk=action.merchant_id)
        if merchant.status == Merchant.Status.RESTRICTED:
            merchants.merchant_reinstate(merchant=merchant, reason=note, actor=actor)
            done = {"status": Merchant.Status.ACTIVE}
            _notify_partner(
                action=action,
                kind="shop_reinstated",
                message=f"restriction lifted 店铺限制解除: {reason}"[:300],
                on=on,
            )
    action.reversed_at = timezone.now()
    action.reversed_by = user
    action.reversed_reason = reason[:300]
    action.reversal_result = done
    action.save(update_fields=["reversed_at", "reversed_by", "reversed_reason", "reversal_result"])
    return action
