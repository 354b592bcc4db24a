"""Scoring test data: a small hand-made champion (two features, points checked by eye), merchants
with feature snapshots, and the policy, so rating tests need no training run."""

import datetime as dt

from django.utils import timezone

from lending.services import products_create_seed
from scoring.features import FEATURES_VERSION
from scoring.models import FeatureSnapshot, ScoringModel
from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory

# gmv_90d_yuan: < 10,000 → 0 points, 10,000–50,000 → 30, ≥ 50,000 → 60, missing → 10.
# refund_rate_90d: < 0.05 → 40, ≥ 0.05 → 0, missing → 20. Intercept 500.
# With the default scaling (600 at 50:1, 20 PDO) a row of 600 points has PD 1/51.
POINTS_TABLE = {
    "format": "xiaodai.points_table/1",
    "scaling": {"base_points": 600, "base_odds": 50.0, "pdo": 20.0},
    "intercept_points": 500,
    "features": [
        {
            "name": "gmv_90d_yuan",
            "kind": "numeric",
            "label_zh": "近90天销售额偏低",
            "label_en": "low sales over 90 days",
            "iv": 0.4,
            "weight": 1.0,
            "splits": [10_000.0, 50_000.0],
            "bins": [
                {"label": "< 10000", "kind": "range", "points": 0},
                {"label": "[10000, 50000)", "kind": "range", "points": 30},
                {"label": ">= 50000", "kind": "range", "points": 60},
                {"label": "missing", "kind": "missing", "points": 10},
            ],
        },
        {
            "name": "refund_rate_90d",
            "kind": "numeric",
            "label_zh": "近90天退款率偏高",
            "label_en": "high refund rate over 90 days",
            "iv": 0.3,
            "weight": 1.0,
            "splits": [0.05],
            "bins": [
                {"label": "< 0.05", "kind": "range", "points": 40},
                {"label": ">= 0.05", "kind": "range", "points": 0},
                {"label": "missing", "kind": "missing", "points": 20},
            ],
        },
    ],
    "meta": {},
}


def champion_create(version: str = "m-test-01") -> ScoringModel:
    return ScoringModel.objects.create(
        version=version,
        points_table=POINTS_TABLE,
        report={"metrics": {"auc": 0.8, "ks": 0.5}},
        source="test",
        target="bad",
        trained_at=timezone.now(),
        trained_by="test",
        status=ScoringModel.Status.CHAMPION,
    )


def candidate_create(version: str) -> ScoringModel:
    return ScoringModel.objects.create(
        version=version,
        points_table=POINTS_TABLE,
        source="test",
        target="bad",
        trained_at=timezone.now(),
        trained_by="test",
    )


def features(
    *, gmv: float | None = 60_000.0, refund: float | None = 0.01, settled_share: float = 1.0, **more
):
    return {
        "gmv_90d_yuan": gmv,
        "refund_rate_90d": refund,
        "settled_share_90d": settled_share,
        "questionnaire_score": None,
        **more,
    }


def rated_merchant(*, kind: str = "b2c", as_of: dt.date | None = None, **feature_values):
    """A merchant of a B2C (or B2B) partner with a current feature snapshot."""
    partner = PartnerPlatformFactory(kind=kind)
    merchant = MerchantFactory(partner=partner)
    FeatureSnapshot.objects.create(
        merchant=merchant,
        as_of=as_of or dt.date(2026, 3, 1),
        version=FEATURES_VERSION,
        features=features(**feature_values),
    )
    return merchant


def products():
    """The seed's four products (order loan, credit loan, revolving, fixed loan)."""
    products_create_seed()
