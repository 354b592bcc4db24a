"""The 360° rating: the champion's default probability from trading data, moved by the owner's
questionnaire, third-party verifications, officers' findings and the risk manager's adjustment
factors (scoring.calculations), turned into a grade, a line and a daily rate for each of the
merchant's products. `merchant_rate` rates one merchant; `scores_refresh_all` rescores every
active merchant from its feature snapshot, a chunk at a time, and ranks them.

Rates: the product's rate plus the grade's markup, brought down (never below the product's own
rate, which `product_save` has already checked) until lending's all-in annual cost of the
product at that rate is within the legal cap — lending's own calculation, not a copy of it."""

import copy
import datetime as dt
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from lending.models import Product
from lending.services import product_annual_cost
from lending.services.products import annual_cost_cap
from merchants.models import Merchant, Verification
from scoring import calculations as calc
from scoring.expert import expert_model_get_or_create
from scoring.features import FEATURES_VERSION, features_for
from scoring.modeling import PointsTable
from scoring.models import MerchantScore, OfficerFinding, RatingAdjustment, ScoringModel
from scoring.selectors import merchant_id_ranges, policy_get
from scoring.services.registry import table_of

FINDINGS_LOOKBACK_DAYS = 365
RATE_STEP = Decimal("0.00001")
CHUNK_SIZE = 5000

_RATE_CAP_CACHE: dict[tuple, Decimal] = {}


def rate_within_cap(*, product: Product, daily_rate: Decimal) -> Decimal:
    """The highest rate at most `daily_rate` at which the product's all-in annual cost (lending's
    `product_annual_cost`) is within the legal cap; never below the product's own rate."""
    if daily_rate <= product.daily_rate:
        return product.daily_rate
    key = (product.pk, product.updated_at, product.daily_rate, daily_rate)
    cached = _RATE_CAP_CACHE.get(key)
    if cached is not None:
        return cached
    cap = annual_cost_cap()
    candidate = daily_rate
    trial = copy.copy(product)
    while candidate > product.daily_rate:
        trial.daily_rate = candidate
        if product_annual_cost(trial).nominal_apr <= cap:
            break
        candidate -= RATE_STEP
    candidate = max(candidate, product.daily_rate)
    if len(_RATE_CAP_CACHE) > 1000:
        _RATE_CAP_CACHE.clear()
    _RATE_CAP_CACHE[key] = candidate
    return candidate


@dataclass
class RatingContext:
    """What rating a batch of merchants needs besides each one's own records."""

    model: ScoringModel
    table: PointsTable
    pdo: float
    grade_terms: dict
    cutoff: str
    products_by_kind: dict[str, list[Product]]
    rates: dict[tuple[int, str], Decimal]
    adjustments: dict[tuple[str, str], Decimal]


def rating_context(*, model: ScoringModel | None = None) -> RatingContext:
    """What rating needs besides each merchant's records, with the champion (or, in a nightly
    run, the model the run started with, so every chunk rates with the same one). Before any
    model has been promoted, a book with no loan history rates with the expert scorecard."""
    if model is None:
        model = rating_model()
    table = table_of(model)
    policy = policy_get()
    grade_terms = policy.grade_terms or {}
    products_by_kind: dict[str, list[Product]] = {}
    for product in Product.objects.filter(is_active=True).order_by("is_pledged", "pk"):
        products_by_kind.setdefault(product.segment, []).append(product)
    rates = {
        (product.pk, grade): rate_within_cap(
            product=product,
            daily_rate=calc.rate_for(grade=grade, product_rate=product.daily_rate, grade_terms=grade_terms),
        )
        for products in products_by_kind.values()
        for product in products
        for grade in calc.GRADES
    }
    adjustments = {
        (dimension, key): factor
        for dimension, key, factor in RatingAdjustment.objects.values_list("dimension", "key", "factor")
    }
    return RatingContext(
        model=model,
        table=table,
        pdo=table.scaling.pdo,
        grade_terms=grade_terms,
        cutoff=policy.cutoff_grade,
        products_by_kind=products_by_kind,
        rates=rates,
        adjustments=adjustments,
    )


def rating_model() -> ScoringModel:
    champion = (
        ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION)
        .only("pk", "version", "status")
        .first()
    )
    return champion if champion is not None else expert_model_get_or_create()


def _factors(ctx: RatingContext, *, category: str, region: str, kind: str) -> list[tuple[str, str, Decimal]]:
    wanted = [
        (RatingAdjustment.Dimension.INDUSTRY, category),
        (RatingAdjustment.Dimension.REGION, region),
        (RatingAdjustment.Dimension.POLICY, "*"),
        (RatingAdjustment.Dimension.POLICY, kind),
    ]
    return [(str(d), k, ctx.adjustments[(d, k)]) for d, k in wanted if (d, k) in ctx.adjustments]


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def rate_row(
    ctx: RatingContext,
    *,
    features: Mapping[str, object],
    category: str,
    region: str,
    kind: str,
    verifications: Mapping[str, str],
    findings: Sequence[tuple[str, int]],
) -> dict:
    """One merchant's rating from its features and 360° records: the MerchantScore's fields."""
    scored = ctx.table.score(features)
    questionnaire = _number(features.get("questionnaire_score"))
    terms = [
        calc.questionnaire_component(None if questionnaire is None else round(questionnaire)),
        *calc.verification_components(verifications),
        *calc.officer_components(findings, pdo=ctx.pdo),
        *calc.adjustment_components(_factors(ctx, category=category, region=region, kind=kind)),
    ]
    combined = calc.combine(
        model_probability=scored.probability, model_points=scored.points, components=terms, pdo=ctx.pdo
    )
    grade = calc.grade_for(combined.probability, ctx.grade_terms)
    within = calc.grade_within_cutoff(grade, ctx.cutoff)
    sales = calc.settled_sales_fen(features)  # type: ignore[arg-type]
    lines = {}
    for product in ctx.products_by_kind.get(kind, []):
        line = (
            calc.line_for(
                grade=grade,
                settled_sales_fen=sales,
                amount_min_fen=product.amount_min_fen,
                amount_max_fen=product.amount_max_fen,
                grade_terms=ctx.grade_terms,
            )
            if within
            else 0
        )
        lines[product.code] = {
            "product_id": product.pk,
            "line_fen": line,
            "daily_rate": str(ctx.rates[(product.pk, grade)]),
        }
    main = next(iter(ctx.products_by_kind.get(kind, [])), None)
    model_reasons = [
        {
            "feature": r.feature,
            "points_lost": r.points_lost,
            "zh": r.label_zh,
            "en": r.label_en,
            "value": _json_value(r.value),
        }
        for r in scored.reasons
    ]
    return {
        "points": combined.points,
        "probability": combined.probability,
        "grade": grade,
        "components": {
            "model": {
                "version": ctx.model.version,
                "probability": scored.probability,
                "points": scored.points,
            },
            "terms": [t.as_dict() for t in terms],
            "log_odds_shift": round(combined.log_odds_shift, 6),
            "settled_sales_90d_fen": sales,
            "within_cutoff": within,
            "products": lines,
        },
        "reasons": calc.reasons_merge(model_reasons, terms, pdo=ctx.pdo),
        "product_id": main.pk if main else None,
        "line_fen": lines[main.code]["line_fen"] if main else 0,
        "daily_rate": ctx.rates[(main.pk, grade)] if main else None,
    }


def _json_value(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if value is None or isinstance(value, int | str | bool):
        return value
    return str(value)


def _verifications(lo: int, hi: int) -> dict[int, dict[str, str]]:
    """Each merchant's latest final result per verification kind (merchant ids lo..hi)."""
    out: dict[int, dict[str, str]] = {}
    rows = (
        Verification.objects.filter(merchant_id__gte=lo, merchant_id__lte=hi)
        .exclude(result=Verification.Result.PENDING)
        .order_by("merchant_id", "kind", "checked_on", "pk")
        .values_list("merchant_id", "kind", "result")
    )
    for merchant_id, kind, result in rows:
        out.setdefault(merchant_id, {})[kind] = result
    return out


def _findings(lo: int, hi: int, as_of: dt.date) -> dict[int, list[tuple[str, int]]]:
    """Each merchant's latest finding per kind within the last year (merchant ids lo..hi)."""
    latest: dict[int, dict[str, int]] = {}
    rows = (
        OfficerFinding.objects.filter(
            merchant_id__gte=lo,
            merchant_id__lte=hi,
            found_on__lte=as_of,
            found_on__gt=as_of - dt.timedelta(days=FINDINGS_LOOKBACK_DAYS),
        )
        .order_by("merchant_id", "found_on", "pk")
        .values_list("merchant_id", "kind", "points")
    )
    for merchant_id, kind, points in rows:
        latest.setdefault(merchant_id, {})[kind] = points
    return {m: sorted(kinds.items()) for m, kinds in latest.items()}


def records_360(merchant_id: int, as_of: dt.date) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """One merchant's latest final verification per kind and latest finding per kind within the
    last year, in one statement (a decision's path: one round trip, not two)."""
    verification, finding = Verification._meta.db_table, OfficerFinding._meta.db_table
    since = as_of - dt.timedelta(days=FINDINGS_LOOKBACK_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT 'v', kind, result, checked_on, id FROM {verification}
            WHERE merchant_id = %s AND result <> %s
            UNION ALL
            SELECT 'f', kind, CAST(points AS VARCHAR(8)), found_on, id FROM {finding}
            WHERE merchant_id = %s AND found_on > %s AND found_on <= %s
            """,  # noqa: S608 - table names from the models, values bound
            [merchant_id, Verification.Result.PENDING, merchant_id, since, as_of],
        )
        rows = cursor.fetchall()
    latest_result: dict[str, str] = {}
    latest_points: dict[str, int] = {}
    # Oldest first, so the latest of each kind wins (an undated check counts as the oldest).
    for source, kind, answer, _on, _pk in sorted(rows, key=lambda r: (str(r[3] or ""), r[4])):
        if source == "v":
            latest_result[kind] = answer
        else:
            latest_points[kind] = int(answer)
    return latest_result, sorted(latest_points.items())


def _score_fields(row: dict) -> dict:
    return {
        "points": row["points"],
        "probability": row["probability"],
        "grade": row["grade"],
        "components": row["components"],
        "reasons": row["reasons"],
        "product_id": row["product_id"],
        "line_fen": row["line_fen"],
        "daily_rate": row["daily_rate"],
    }


def merchant_rate(*, merchant: Merchant, as_of: dt.date) -> MerchantScore:
    """Rate one merchant now (its current features, the champion, its 360° records) and make it
    the merchant's current score; its rank is where it would stand in the last ranking."""
    ctx = rating_context()
    merchant = Merchant.objects.select_related("partner").get(pk=merchant.pk)
    features = features_for(merchant.pk, as_of=as_of)
    verifications, findings = records_360(merchant.pk, as_of)
    row = rate_row(
        ctx,
        features=features,
        category=merchant.category,
        region=merchant.region,
        kind=merchant.partner.kind,
        verifications=verifications,
        findings=findings,
    )
    with transaction.atomic():
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        MerchantScore.objects.filter(merchant=merchant, is_current=True).exclude(as_of=as_of).update(
            is_current=False
        )
        # Where it stands in the last ranking: just after the best-ranked score with a lower PD
        # (one probe of the index on current scores' PD, not a count of them).
        above = (
            MerchantScore.objects.filter(
                is_current=True, probability__lt=row["probability"], rank__isnull=False
            )
            .exclude(merchant=merchant)
            .order_by("-probability")
            .values_list("rank", flat=True)
            .first()
        )
        score, _ = MerchantScore.objects.update_or_create(
            merchant=merchant,
            as_of=as_of,
            defaults={**_score_fields(row), "model": ctx.model, "is_current": True, "rank": (above or 0) + 1},
        )
    return score


UPDATE_FIELDS = [
    "model",
    "product",
    "points",
    "probability",
    "grade",
    "components",
    "reasons",
    "line_fen",
    "daily_rate",
    "is_current",
    "created_at",
]


def scores_rate_range(*, as_of: dt.date, lo: int, hi: int, ctx: RatingContext | None = None) -> dict:
    """Rescore the active merchants with ids lo..hi from their feature snapshots (one chunk of
    the nightly rescoring) in one transaction: their rating as of the date becomes current.
    Ranking is left to `scores_rank` once every chunk is done. Returns the chunk's counts."""
    ctx = ctx or rating_context()
    rows = (
        Merchant.objects.filter(pk__gte=lo, pk__lte=hi, status=Merchant.Status.ACTIVE)
        .order_by("pk")
        .values_list(
            "pk",
            "category",
            "region",
            "partner__kind",
            "feature_snapshot__features",
            "feature_snapshot__version",
        )
    )
    verifications = _verifications(lo, hi)
    findings = _findings(lo, hi, as_of)
    now = timezone.now()
    objects = []
    without_features = 0
    grades = dict.fromkeys(calc.GRADES, 0)
    for merchant_id, category, region, kind, features, version in rows:
        if features is None or version != FEATURES_VERSION:
            without_features += 1  # no snapshot yet, or one of an older feature definition
            continue
        row = rate_row(
            ctx,
            features=features,
            category=category,
            region=region,
            kind=kind,
            verifications=verifications.get(merchant_id, {}),
            findings=findings.get(merchant_id, []),
        )
        grades[row["grade"]] += 1
        objects.append(
            MerchantScore(
                merchant_id=merchant_id,
                model=ctx.model,
                as_of=as_of,
                is_current=True,
                created_at=now,
                **_score_fields(row),
            )
        )
    with transaction.atomic():
        MerchantScore.objects.filter(merchant_id__gte=lo, merchant_id__lte=hi, is_current=True).exclude(
            as_of=as_of
        ).update(is_current=False)
        MerchantScore.objects.bulk_create(
            objects,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["merchant", "as_of"],
            update_fields=UPDATE_FIELDS,
        )
    return {"scored": len(objects), "without_features": without_features, "grades": grades}


def scores_summary(*, as_of: dt.date, model: ScoringModel, chunks: Iterable[dict]) -> dict:
    """The counts of a rescoring's chunks added up."""
    scored = without_features = 0
    grades = dict.fromkeys(calc.GRADES, 0)
    for chunk in chunks:
        scored += chunk["scored"]
        without_features += chunk["without_features"]
        for grade, count in chunk["grades"].items():
            grades[grade] += count
    return {
        "as_of": as_of.isoformat(),
        "model": model.version,
        "scored": scored,
        "without_features": without_features,
        "grades": grades,
    }


def scores_refresh_all(*, as_of: dt.date, chunk_size: int = CHUNK_SIZE) -> dict:
    """Rescore every active merchant from its feature snapshot with the champion's points table
    and the 360° terms, a chunk of merchants per transaction (memory follows the chunk), then
    rank all current scores (1 = lowest default probability). Idempotent per date: a rerun
    replaces that date's rows. The nightly run does the same chunks on any number of workers."""
    started = time.perf_counter()
    ctx = rating_context()
    chunks = [
        scores_rate_range(as_of=as_of, lo=lo, hi=hi, ctx=ctx)
        for lo, hi in merchant_id_ranges(size=chunk_size, is_active_only=True)
    ]
    ranking = time.perf_counter()
    ranked = scores_rank()
    rank_seconds = time.perf_counter() - ranking
    seconds = time.perf_counter() - started
    summary = scores_summary(as_of=as_of, model=ctx.model, chunks=chunks)
    return {
        **summary,
        "ranked": ranked,
        "seconds": round(seconds, 3),
        "rank_seconds": round(rank_seconds, 3),
        "merchants_per_minute": round(summary["scored"] / seconds * 60) if seconds else None,
    }


def scores_rank() -> int:
    """Number the current scores of active merchants 1, 2, … from the lowest default probability
    (ties: more points, then lower merchant id); other current scores get no rank."""
    score = MerchantScore._meta.db_table
    merchant = Merchant._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {score} SET rank = ranked.position
            FROM (
                SELECT s.id AS id,
                       ROW_NUMBER() OVER (ORDER BY s.probability, s.points DESC, s.merchant_id) AS position
                FROM {score} s JOIN {merchant} m ON m.id = s.merchant_id
                WHERE s.is_current AND m.status = %s
            ) AS ranked
            WHERE {score}.id = ranked.id
            """,  # noqa: S608 - table names from the models, values bound
            [Merchant.Status.ACTIVE],
        )
        ranked = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE {score} SET rank = NULL
            WHERE is_current AND rank IS NOT NULL
              AND merchant_id IN (SELECT id FROM {merchant} WHERE status <> %s)
            """,  # noqa: S608 - table names from the models, values bound
            [Merchant.Status.ACTIVE],
        )
    return ranked
