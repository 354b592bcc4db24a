"""`train`: from a table with a default column to a points table, a challenger and a report.

The rows are split once: a stratified random share held out (seeded), or, with `time_column`,
the latest share of rows by time, which is how the platform's own loans are judged ("AUC on a
held-out time window"). Binning, the regression and the challenger see only the training rows;
every figure in the report is measured on the held-out rows, scored through the points table
exactly as decisions will be. The table returned is the one that was measured (not refitted on
all rows), so the report describes the model that will run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .challenger import Challenger, fit_challenger
from .dataset import Prepared, prepare
from .errors import TrainingError
from .metrics import auc, evaluate
from .points import PointsTable, Scaling
from .scorecard import REGULARISATION_C, ScorecardFit, fit_scorecard

HOLDOUT_SHARE = 0.25

# Calibrating the challenger cross-validates it: each fold needs defaults and non-defaults.
CHALLENGER_MIN_CLASS_ROWS = 10


@dataclass
class TrainingResult:
    points_table: PointsTable
    report: dict[str, Any]
    messages: list[str]
    challenger: Challenger | None
    scorecard: ScorecardFit = field(repr=False)


def train(
    frame: pd.DataFrame,
    target: str,
    *,
    labels: dict[str, tuple[str, str]] | None = None,
    seed: int = 0,
    champion: PointsTable | None = None,
    challenger: bool = True,
    time_column: str | None = None,
    holdout: float = HOLDOUT_SHARE,
    default_value: object = None,
    scaling: Scaling | None = None,
) -> TrainingResult:
    """Train the scorecard (and the challenger) on `frame`, where `target` is 1 (or a word such as
    "bad") for a default; see the module docstring for the split."""
    if not 0 < holdout < 1:
        raise ValueError("holdout must be a share between 0 and 1")
    data = prepare(frame, target, time_column=time_column, default_value=default_value)
    train_at, holdout_at, split = _split(data, holdout, seed, time_column)
    fitting, held = data.subset(train_at), data.subset(holdout_at)
    meta = {"target": target, "train_rows": len(fitting.y), "train_defaults": int(fitting.y.sum())}
    fit = fit_scorecard(fitting, labels=labels, scaling=scaling, meta=meta)
    table = fit.table
    messages = data.messages + fit.messages

    held_rows = frame.iloc[held.positions].to_dict("records")
    probabilities = [result.probability for result in table.score_many(held_rows)]
    metrics = evaluate(held.y, probabilities)
    table.meta["holdout_auc"] = metrics["auc"]
    train_rows = frame.iloc[fitting.positions].to_dict("records")
    train_auc = auc(fitting.y, [result.probability for result in table.score_many(train_rows)])

    challenger_model = None
    challenger_report = None
    fitting_defaults = int(fitting.y.sum())
    if challenger and min(fitting_defaults, len(fitting.y) - fitting_defaults) < CHALLENGER_MIN_CLASS_ROWS:
        messages.append(
            f"the challenger was not trained: the training part has {fitting_defaults} defaults among "
            f"{len(fitting.y)} rows, and calibrating it needs at least "
            f"{CHALLENGER_MIN_CLASS_ROWS} of each class"
        )
        challenger = False
    if challenger:
        challenger_model = fit_challenger(fitting, seed=seed)
        challenger_metrics = evaluate(held.y, challenger_model.predict_default(held_rows))
        challenger_report = {
            "model": "HistGradientBoostingClassifier + CalibratedClassifierCV",
            "calibration_method": challenger_model.model.method,
            **_headline(challenger_metrics),
            "calibration": challenger_metrics["calibration"],
            "auc_minus_scorecard": _minus(challenger_metrics["auc"], metrics["auc"]),
        }
    comparison = None
    if champion is not None:
        champion_metrics = evaluate(held.y, [r.probability for r in champion.score_many(held_rows)])
        comparison = {
            "holdout_rows": len(held.y),
            "champion": _headline(champion_metrics),
            "candidate": _headline(metrics),
            "auc_gain": _minus(metrics["auc"], champion_metrics["auc"]),
            "ks_gain": _minus(metrics["ks"], champion_metrics["ks"]),
            "brier_gain": _minus(champion_metrics["brier"], metrics["brier"]),
            "champion_features_not_in_data": [f for f in champion.features if f not in frame.columns],
            "champion_calibration": champion_metrics["calibration"],
        }
    report = {
        "target": target,
        "rows": {
            "given": len(frame),
            "used": len(data.y),
            "train": len(fitting.y),
            "holdout": len(held.y),
            "default_rate": round(float(data.y.mean()), 6),
        },
        "split": split,
        "messages": messages,
        "unused_columns": {**data.unused, **fit.left_out},
        "metrics": {**_headline(metrics), "train_auc": train_auc},
        "calibration": metrics["calibration"],
        "curves": metrics["curves"],
        "iv": fit.iv,
        "model": {
            "kind": "logistic regression on monotone WoE bins (optbinning), compiled to points",
            "regularisation_c": REGULARISATION_C,
            "intercept": fit.intercept,
            "coefficients": fit.coefficients,
            "scaling": table.scaling.to_dict(),
            "intercept_points": table.intercept_points,
            "points_range": list(table.points_range),
            "features": table.features,
        },
        "points_table": table.rows(),
        "challenger": challenger_report,
        "comparison": comparison,
    }
    return TrainingResult(table, report, messages, challenger_model, fit)


def _split(
    data: Prepared, holdout: float, seed: int, time_column: str | None
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    n = len(data.y)
    if data.time is None:
        from sklearn.model_selection import train_test_split

        train_at, holdout_at = train_test_split(
            np.arange(n), test_size=holdout, stratify=data.y, random_state=seed
        )
        split = {"kind": "stratified", "seed": seed, "holdout_share": holdout}
        return np.sort(train_at), np.sort(holdout_at), split
    times = data.time.to_numpy()
    order = np.argsort(times, kind="mergesort")
    cut = times[order[min(n - 1, round(n * (1 - holdout)))]]
    train_at = np.flatnonzero(times < cut)
    holdout_at = np.flatnonzero(times >= cut)
    for part, rows in (("training window", train_at), ("held-out time window", holdout_at)):
        defaults = int(data.y[rows].sum()) if len(rows) else 0
        if defaults == 0 or defaults == len(rows):
            raise TrainingError(
                f"the {part} (split on '{time_column}' at {_text(cut)}) has {len(rows)} rows and {defaults} "
                "defaults: it needs both defaults and non-defaults"
            )
    split = {
        "kind": "time",
        "column": time_column,
        "train_from": _text(times[order[0]]),
        "holdout_from": _text(cut),
        "holdout_to": _text(times[order[-1]]),
        "holdout_share": round(len(holdout_at) / n, 4),
    }
    return train_at, holdout_at, split


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in ("n", "defaults", "auc", "ks", "gini", "brier")}


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _text(moment: object) -> str:
    return str(pd.Timestamp(moment)) if isinstance(moment, np.datetime64) else str(moment)
