"""Scoring features: daily aggregates (MerchantDay), features as of a date, the current snapshot
a decision reads, and the training frame. See docs/scoring.md, "Features"."""

from scoring.features.aggregates import (
    merchant_days_build,
    merchant_days_catch_up,
    merchant_days_spans,
    merchant_days_todo,
)
from scoring.features.compute import FEATURE_LABELS, FEATURE_NAMES, NETWORK_FEATURES, features_compute
from scoring.features.snapshots import (
    FEATURES_VERSION,
    features_as_of,
    features_for,
    snapshots_refresh,
    snapshots_refresh_range,
)
from scoring.features.training import loan_outcomes, training_frame

__all__ = [
    "FEATURES_VERSION",
    "FEATURE_LABELS",
    "FEATURE_NAMES",
    "NETWORK_FEATURES",
    "features_as_of",
    "features_compute",
    "features_for",
    "loan_outcomes",
    "merchant_days_build",
    "merchant_days_catch_up",
    "merchant_days_spans",
    "merchant_days_todo",
    "snapshots_refresh",
    "snapshots_refresh_range",
    "training_frame",
]
