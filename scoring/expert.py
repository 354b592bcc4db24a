"""The expert scorecard: a points table written by hand from lending judgement, not trained, so a
book with no loan history can rate merchants until the first model is trained and promoted.

It reads only trading features that `scoring.features` already computes (docs/scoring.md,
"Expert scorecard", says why each factor is there). Every factor is monotone: better trading
earns at least as many points, and more points always mean a lower default probability (the
scorecard's usual scaling, 600 points at 50:1, 20 points to double the odds). A missing value
(too little history to say) earns a cautious middle-to-low score, never the best.

The rating uses it only while there is no champion (`scoring.services.rating.rating_context`):
once a trained model is promoted it is the champion and this one is not used again, unless a
risk manager promotes `expert-1` explicitly in the workbench. A change to the table is a new
version ("expert-2"), so the scores already written keep pointing at the table that made them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.features import FEATURE_LABELS
from scoring.modeling import FeaturePoints, PointsTable
from scoring.modeling.points import MISSING, NUMERIC, Bin, Scaling
from scoring.models import ScoringModel

EXPERT_VERSION = "expert-1"
EXPERT_SOURCE = "expert"
EXPERT_AUTHOR = "expert scorecard (no loan history)"
# The points every merchant starts from; the factors add 0 … 185 on top. A shop with no trading
# at all scores about 480 (PD ≈ 54 %, grade E); a steady, well-rated shop of two years and more
# reaches about 620 (PD ≈ 1 %, grade A).
INTERCEPT_POINTS = 440


@dataclass(frozen=True)
class Factor:
    """One feature's bins: `splits` increase; `points[i]` is earned by splits[i−1] <= x < splits[i];
    `missing` is earned when the feature cannot be computed."""

    name: str
    splits: tuple[float, ...]
    points: tuple[int, ...]
    missing: int
    higher_is_better: bool
    why: str


FACTORS: tuple[Factor, ...] = (
    Factor(
        "shop_age_days",
        (90, 180, 365, 730),
        (0, 8, 16, 24, 30),
        0,
        True,
        "a shop that has traded through a full year and its seasons has shown it survives them; "
        "most shops that fail do so in their first year",
    ),
    Factor(
        "active_days_share_90d",
        (0.3, 0.6, 0.85),
        (0, 8, 14, 20),
        0,
        True,
        "trading on most days is a running business; sporadic trading is a side line or a shop winding down",
    ),
    Factor(
        "gmv_90d_yuan",
        (3_000, 15_000, 60_000, 300_000),
        (0, 8, 16, 24, 30),
        0,
        True,
        "sales are what repays an order loan; larger, established sales absorb a bad month",
    ),
    Factor(
        "gmv_trend_30_90",
        (0.6, 0.85, 1.1),
        (0, 6, 12, 15),
        6,
        True,
        "the last 30 days' daily sales against the 90 before: a shop whose sales are falling "
        "fast is the one that cannot repay next month; unknown (under 120 days) is neutral",
    ),
    Factor(
        "refund_rate_90d",
        (0.03, 0.08, 0.15),
        (20, 16, 8, 0),
        8,
        False,
        "refunds take back money already counted as sales and signal poor goods or service",
    ),
    Factor(
        "complaint_rate_90d",
        (0.002, 0.01, 0.03),
        (15, 10, 4, 0),
        5,
        False,
        "upheld complaints per paid order: the platform found the shop at fault",
    ),
    Factor(
        "dispute_rate_90d",
        (0.01, 0.03, 0.06),
        (10, 6, 2, 0),
        4,
        False,
        "disputed orders freeze settlements, the money a loan is repaid from",
    ),
    Factor(
        "rating_avg_90d",
        (4.0, 4.5, 4.8),
        (0, 6, 12, 15),
        4,
        True,
        "buyers' stars (1–5) foretell repeat buyers and future sales",
    ),
    Factor(
        "days_since_last_order",
        (7, 30, 90),
        (15, 8, 2, 0),
        0,
        False,
        "a shop that has stopped taking orders has stopped earning what would repay",
    ),
    Factor(
        "prior_loans_written_off",
        (1,),
        (15, 0),
        15,
        False,
        "a loan here already written off is the strongest sign there is; none (or no history) "
        "earns the points",
    ),
)


def _label(splits: tuple[float, ...], i: int) -> str:
    def num(x: float) -> str:
        return f"{x:g}"

    if i == 0:
        return f"< {num(splits[0])}"
    if i == len(splits):
        return f">= {num(splits[-1])}"
    return f"[{num(splits[i - 1])}, {num(splits[i])})"


def expert_points_table() -> PointsTable:
    """The expert scorecard as a points table, scored like any trained champion."""
    features = []
    for factor in FACTORS:
        zh, en = FEATURE_LABELS[factor.name]
        bins = [Bin(label=_label(factor.splits, i), points=p) for i, p in enumerate(factor.points)]
        bins.append(Bin(label="missing", kind=MISSING, points=factor.missing))
        features.append(
            FeaturePoints(
                name=factor.name,
                kind=NUMERIC,
                bins=bins,
                splits=[float(s) for s in factor.splits],
                label_zh=zh,
                label_en=en,
            )
        )
    meta = {
        "kind": "expert",
        "version": EXPERT_VERSION,
        "why": {factor.name: factor.why for factor in FACTORS},
    }
    return PointsTable(features, INTERCEPT_POINTS, Scaling(), meta)


def _report(table: PointsTable) -> dict:
    low, high = table.points_range
    return {
        "source": EXPERT_SOURCE,
        "target": "",
        "messages": [
            "An expert scorecard written by hand (docs/scoring.md, 'Expert scorecard'): no loan "
            "history trained it, so its default probabilities are judgement, not measured. It "
            "rates merchants only while no trained model is champion.",
        ],
        "model": {"intercept_points": table.intercept_points, "points_range": [low, high]},
        "points_table": table.rows(),
    }


def expert_model_get_or_create() -> ScoringModel:
    """The expert scorecard's registry row ("expert-1"), created as a candidate on first use, so
    its scores point at a model like any other; it is never made champion here."""
    model = ScoringModel.objects.filter(version=EXPERT_VERSION).only("pk", "version", "status").first()
    if model is not None:
        return model
    table = expert_points_table()
    try:
        with transaction.atomic():
            return ScoringModel.objects.create(
                version=EXPERT_VERSION,
                kind=ScoringModel.Kind.SCORECARD,
                points_table=table.to_dict(),
                report=_report(table),
                source=EXPERT_SOURCE,
                target="",
                trained_at=timezone.now(),
                trained_by=EXPERT_AUTHOR,
                rows=0,
            )
    except IntegrityError:  # created at the same moment by another rating
        return ScoringModel.objects.get(version=EXPERT_VERSION)
