"""The scoring model pipeline: a monotone WoE logistic scorecard compiled to a points table, a
calibrated gradient-boosted challenger, and the metrics that compare them (docs/scoring.md).

A pure library: no Django, no other Xiaodai app. Importing it loads only the points table (plain
Python), so decision-time code that scores rows pays nothing for pandas, scikit-learn or
optbinning; `train` and `evaluate` load them on first use.

    from scoring.modeling import train, PointsTable
    result = train(frame, "defaulted", labels={"refund_rate": (label_zh, "Refund rate")})
    table = PointsTable.from_dict(result.points_table.to_dict())
    table.score({"refund_rate": 0.04, "shop_age_days": 700}).points
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import TrainingError
from .points import FeaturePoints, PointsTable, Reason, Scaling, ScoreResult

if TYPE_CHECKING:
    from .challenger import Challenger
    from .dataset import Prepared, prepare
    from .metrics import evaluate
    from .pipeline import TrainingResult, train

_LAZY = {
    "train": "pipeline",
    "TrainingResult": "pipeline",
    "evaluate": "metrics",
    "Challenger": "challenger",
    "prepare": "dataset",
    "Prepared": "dataset",
}

__all__ = [
    "Challenger",
    "FeaturePoints",
    "PointsTable",
    "Prepared",
    "Reason",
    "Scaling",
    "ScoreResult",
    "TrainingError",
    "TrainingResult",
    "evaluate",
    "prepare",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
