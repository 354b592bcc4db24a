"""Sandbox runs: `sandbox_run_create` checks a risk manager's what-if and records it (nothing is
written when an input cannot be used); `sandbox_run_execute` plays it out on the current ratings
of the region or segment, a chunk of merchants at a time in ranking order, keeping its progress
and running sums on the row, so that a crashed or interrupted run resumes where it stopped and a
done run never changes."""

import contextlib
import copy
import logging
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from common import jobs
from common.errors import ApplicationError, NotFoundError
from lending.calculations import rate_to_ppb
from lending.models import Product
from lending.services import product_annual_cost
from lending.services.products import annual_cost_cap, rate_text
from merchants.models import Merchant, PartnerPlatform
from scoring import calculations as calc
from scoring.models import MerchantScore, SandboxRun, ScoringPolicy
from scoring.sandbox import simulate
from scoring.selectors import champion_get
from scoring.services.offers import funding_capacity_fen
from scoring.services.rating import rate_within_cap

logger = logging.getLogger(__name__)

CHUNK_SIZE = 5000
KINDS: tuple[str, ...] = tuple(PartnerPlatform.Kind.values)


class _Superseded(Exception):
    """Another execution of the same run has taken it over; this one stops quietly."""


def sandbox_choices() -> dict[str, list[str]]:
    """The regions, partner kinds and categories a run may be limited to."""
    merchants = Merchant.objects.order_by()
    return {
        "regions": sorted(merchants.values_list("region", flat=True).distinct()),
        "kinds": list(KINDS),
        "categories": sorted(merchants.values_list("category", flat=True).distinct()),
    }


def sandbox_today_policy() -> dict:
    """Today's policy as the run will compare against (read, never created here)."""
    policy = ScoringPolicy.objects.filter(pk=1).first() or ScoringPolicy()
    return {
        "cutoff_grade": policy.cutoff_grade,
        "acceptance_rate_target": str(policy.acceptance_rate_target),
        "capacity_share": str(policy.capacity_share),
        "grade_terms": dict(policy.grade_terms or {}),
    }


def _products(segment: str) -> list[Product]:
    products = Product.objects.filter(is_active=True).order_by("pk")
    return list(products.filter(segment=segment) if segment in KINDS else products)


def _rate_cap_error(daily_rate: Decimal, products: list[Product]) -> str | None:
    """Lending's all-in annual cost of each product at this rate against the legal cap."""
    cap = annual_cost_cap()
    for product in products:
        trial = copy.copy(product)
        trial.daily_rate = daily_rate
        cost = product_annual_cost(trial).nominal_apr
        if cost > cap:
            return _("%(rate)s costs %(cost)s a year on %(product)s, above the legal cap %(cap)s") % {
                "rate": rate_text(daily_rate),
                "cost": f"{cost:.2%}",
                "product": product.label,
                "cap": f"{cap:.2%}",
            }
    return None


def sandbox_run_create(
    *,
    created_by: AbstractBaseUser | None,
    name: str,
    region: str,
    segment: str,
    policy: Mapping[str, object],
    horizon_days: int | str,
) -> SandboxRun:
    """Record a what-if to run: a region (blank: all), a segment (a partner kind, b2c or b2b, or a
    merchant category; blank: all), a candidate policy (what it leaves out is today's) and a horizon
    of 1..720 days. Every input that cannot be used is named in one error, and nothing is written."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("required")]
    elif len(name) > SandboxRun._meta.get_field("name").max_length:
        errors["name"] = [_("at most %(count)d characters") % {"count": 100}]
    region = (region or "").strip()
    segment = (segment or "").strip()
    if region and not Merchant.objects.filter(region=region).exists():
        errors["region"] = [_("unknown region “%(region)s”") % {"region": region}]
    if segment and segment not in KINDS and not Merchant.objects.filter(category=segment).exists():
        errors["segment"] = [
            _("unknown segment “%(segment)s”: a partner kind (%(kinds)s) or a category")
            % {"segment": segment, "kinds": ", ".join(KINDS)}
        ]
    horizon = None
    try:
        horizon = simulate.horizon_parse(horizon_days)
    except simulate.InputError as exc:
        errors.update(exc.fields)
    today = sandbox_today_policy()
    candidate = assumptions = None
    if not isinstance(policy, Mapping):
        errors["policy"] = [_("must give each policy input its value")]
    else:
        try:
            candidate, assumptions = simulate.policy_parse(policy, today=today)
        except simulate.InputError as exc:
            errors.update(exc.fields)
        else:
            if candidate.daily_rate is not None:
                problem = _rate_cap_error(candidate.daily_rate, _products(segment))
                if problem:
                    errors["daily_rate"] = [problem]
    if errors:
        detail = "; ".join(f"{field}: {messages[0]}" for field, messages in errors.items())
        raise ApplicationError(
            _("the sandbox run cannot start: %(detail)s") % {"detail": detail}, {"fields": errors}
        )
    assert candidate is not None and assumptions is not None and horizon is not None
    return SandboxRun.objects.create(
        created_by=created_by,
        name=name,
        region=region,
        segment=segment,
        policy={**candidate.as_json(), "assumptions": assumptions.as_json()},
        baseline=today,
        horizon_days=horizon,
    )


def sandbox_population(*, region: str, segment: str) -> QuerySet[MerchantScore]:
    """The current, ranked ratings of the active merchants of a region and segment."""
    scores = MerchantScore.objects.filter(
        is_current=True, rank__isnull=False, merchant__status=Merchant.Status.ACTIVE
    )
    if region:
        scores = scores.filter(merchant__region=region)
    if segment in KINDS:
        scores = scores.filter(merchant__partner__kind=segment)
    elif segment:
        scores = scores.filter(merchant__category=segment)
    return scores


def _signature(population: QuerySet[MerchantScore]) -> dict:
    """What the run's ratings were: a resumed run whose ratings changed since starts again."""
    stats = population.aggregate(n=Count("pk"), as_of=Max("as_of"), at=Max("created_at"))
    return {
        "population": stats["n"],
        "scores_as_of": stats["as_of"].isoformat() if stats["as_of"] else None,
        "scored_at": stats["at"].isoformat() if stats["at"] else None,
    }


_FIELDS = (
    "merchant_id",
    "rank",
    "probability",
    "points",
    "grade",
    "line_fen",
    "daily_rate",
    "product_id",
    "components__settled_sales_90d_fen",
)


def _chunk(
    population: QuerySet[MerchantScore], after: list[int] | None, size: int, start: int
) -> pd.DataFrame:
    """The next merchants in ranking order after (rank, merchant id), as simulate.COLUMNS."""
    rows = population
    if after:
        rank, merchant_id = after
        # rank ≥ r starts the walk of the ranking index at r; the exclusion skips the rank's
        # merchants already seen (with an OR of the two, PostgreSQL walks it from the top each time).
        rows = rows.filter(rank__gte=rank).exclude(rank=rank, merchant_id__lte=merchant_id)
    records = list(rows.order_by("rank", "merchant_id").values_list(*_FIELDS)[:size])
    frame = pd.DataFrame.from_records(records, columns=list(_FIELDS))
    frame["position"] = range(start + 1, start + 1 + len(frame))
    frame["rate_ppb"] = [0 if r is None else rate_to_ppb(Decimal(r)) for r in frame["daily_rate"]]
    frame["product_id"] = frame["product_id"].fillna(simulate.NO_PRODUCT).astype("int64")
    sales = frame.pop("components__settled_sales_90d_fen")
    frame["settled_sales_fen"] = pd.to_numeric(sales, errors="coerce").fillna(0).astype("int64")
    return frame


def _context(run: SandboxRun) -> dict:
    """What every chunk needs: products, today's and the candidate's policy, the rates per product
    and grade within the legal cap, the assumptions (with the champion's PD window and PDO)."""
    candidate = simulate.policy_from_json(run.policy)
    baseline = simulate.policy_from_json(run.baseline, stored=True)
    assumptions = simulate.assumptions_from_json(run.policy.get("assumptions", {}))
    champion = champion_get()
    model = None
    if champion is not None:
        model = champion.version
        outcome_days = (champion.report or {}).get("outcome", {}).get("outcome_days")
        pdo = (champion.points_table or {}).get("scaling", {}).get("pdo")
        assumptions = simulate.Assumptions(
            draw_rate=assumptions.draw_rate,
            lgd=assumptions.lgd,
            funding_cost_rate=assumptions.funding_cost_rate,
            pd_window_days=int(outcome_days or simulate.PD_WINDOW_DAYS),
            pdo=float(pdo or simulate.PDO),
        )
    products = list(Product.objects.filter(is_active=True))
    rates = {
        (product.pk, grade): rate_to_ppb(
            rate_within_cap(
                product=product,
                daily_rate=calc.rate_for(
                    grade=grade, product_rate=product.daily_rate, grade_terms=candidate.grade_terms
                ),
            )
        )
        for product in products
        for grade in calc.GRADES
    }
    return {
        "candidate": candidate,
        "baseline": baseline,
        "assumptions": assumptions,
        "model": model,
        "products": {p.pk: (p.amount_min_fen, p.amount_max_fen) for p in products},
        "rates": rates,
    }


def sandbox_job_subject(run_id: int) -> str:
    """The subject of the page's job (common/jobs.py) that follows a run."""
    return f"sandbox:{run_id}"


def _claim(run_id: int) -> tuple[SandboxRun, str | None]:
    """Take the run for this execution (a token on the row); None when it is already done."""
    with transaction.atomic():
        run = SandboxRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFoundError(
                _("no sandbox run %(id)s") % {"id": run_id}, {"fields": {"run": [_("not found")]}}
            )
        if run.status == SandboxRun.Status.DONE:
            return run, None
        token = uuid.uuid4().hex
        resumable = run.status in (SandboxRun.Status.RUNNING, SandboxRun.Status.FAILED)
        partial = (run.result or {}).get("partial") if resumable else None
        run.status = SandboxRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.error = ""
        run.result = {"worker": token, "partial": partial}
        run.save(update_fields=["status", "started_at", "error", "result"])
    for job_id in jobs.jobs_of(sandbox_job_subject(run_id)):
        jobs.job_start(job_id=job_id)
    return run, token


def _save(run_id: int, token: str, **fields: object) -> None:
    """Write the run's progress (or its end) only while this execution still holds it."""
    with transaction.atomic():
        run = SandboxRun.objects.select_for_update().filter(pk=run_id).first()
        if (
            run is None
            or (run.result or {}).get("worker") != token
            or run.status != SandboxRun.Status.RUNNING
        ):
            raise _Superseded
        for name, value in fields.items():
            setattr(run, name, value)
        run.save(update_fields=list(fields))


def sandbox_run_execute(
    *, run_id: int, chunk_size: int = CHUNK_SIZE, stop_after_chunks: int | None = None
) -> SandboxRun:
    """Play the run's candidate policy and today's policy out on the current ratings of its region
    and segment, side by side, over its horizon. Merchants are read a chunk at a time in ranking
    order; after each chunk the running sums, where it got to and `progress` (0–100) are saved, so
    a rerun of a running or failed run resumes there (or starts again if the ratings changed
    meanwhile) and a rerun of a done run changes nothing. `stop_after_chunks` leaves the run
    running and resumable after that many chunks (time-sliced execution)."""
    run, token = _claim(run_id)
    if token is None:
        return run
    started = time.perf_counter()
    try:
        context = _context(run)
        population = sandbox_population(region=run.region, segment=run.segment)
        signature = _signature(population)
        partial = run.result.get("partial")
        if not partial or partial.get("signature") != signature:
            partial = {"signature": signature, "after": None, "seen": 0, "chunks": 0, "seconds": 0.0}
            partial["baseline"] = simulate.Totals().as_json()
            partial["candidate"] = simulate.Totals().as_json()
        base_seconds = float(partial["seconds"])
        n = signature["population"]
        quotas = {
            "baseline": simulate.quota_for(n, context["baseline"].acceptance_rate_target),
            "candidate": simulate.quota_for(n, context["candidate"].acceptance_rate_target),
        }
        done_now = 0
        while True:
            if stop_after_chunks is not None and done_now >= stop_after_chunks:
                return SandboxRun.objects.get(pk=run_id)
            frame = _chunk(population, partial["after"], chunk_size, partial["seen"])
            if frame.empty:
                break
            for side in ("baseline", "candidate"):
                totals = simulate.play(
                    frame,
                    context[side],
                    quota=quotas[side],
                    products=context["products"],
                    rates=context["rates"],
                    assumptions=context["assumptions"],
                    horizon_days=run.horizon_days,
                )
                partial[side] = simulate.Totals.from_json(partial[side]).add(totals).as_json()
            last = frame.iloc[-1]
            partial["after"] = [int(last["rank"]), int(last["merchant_id"])]
            partial["seen"] += len(frame)
            partial["chunks"] += 1
            done_now += 1
            partial["seconds"] = round(base_seconds + time.perf_counter() - started, 3)
            progress = min(99, partial["seen"] * 100 // max(n, 1))
            _save(run_id, token, progress=progress, result={"worker": token, "partial": partial})
            for job_id in jobs.jobs_of(sandbox_job_subject(run_id)):
                jobs.job_progress(
                    job_id=job_id,
                    done=partial["seen"],
                    total=n,
                    message=gettext_noop("%(seen)s of %(population)s merchants played out"),
                    params={"seen": partial["seen"], "population": n},
                )
            if len(frame) < chunk_size:
                break
        result = _result(run, context, partial, n, seconds=base_seconds + time.perf_counter() - started)
        _save(
            run_id,
            token,
            status=SandboxRun.Status.DONE,
            progress=100,
            result=result,
            finished_at=timezone.now(),
        )
        for job_id in jobs.jobs_of(sandbox_job_subject(run_id)):
            jobs.job_finish(job_id=job_id, result={"run": run_id})
    except _Superseded:
        logger.info("sandbox run %s was taken over by another execution", run_id)
    except Exception as exc:
        logger.exception("sandbox run %s failed", run_id)
        with contextlib.suppress(_Superseded):
            _save(run_id, token, status=SandboxRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        for job_id in jobs.jobs_of(sandbox_job_subject(run_id)):
            jobs.job_fail(job_id=job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return SandboxRun.objects.get(pk=run_id)


def _result(run: SandboxRun, context: dict, partial: dict, n: int, *, seconds: float) -> dict:
    assumptions = context["assumptions"]
    side = {
        name: simulate.figures(
            simulate.Totals.from_json(partial[name]),
            assumptions=assumptions,
            horizon_days=run.horizon_days,
            population=n,
        )
        for name in ("baseline", "candidate")
    }
    capacity = int(
        (
            Decimal(funding_capacity_fen()) * Decimal(str(run.baseline.get("capacity_share", "1")))
        ).to_integral_value()
    )
    return {
        "population": n,
        "scores_as_of": partial["signature"]["scores_as_of"],
        "model": context["model"],
        "horizon_days": run.horizon_days,
        "assumptions": assumptions.as_json(),
        "capacity_fen": capacity,
        "baseline": side["baseline"],
        "candidate": side["candidate"],
        "difference": simulate.difference(side["candidate"], side["baseline"]),
        "chunks": partial["chunks"],
        "seconds": round(seconds, 3),
    }
