"""How well default probabilities rank and how honest they are: AUC, KS, Gini, Brier, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

CALIBRATION_GROUPS = 10


def auc(y_true: Sequence[int] | np.ndarray, p_default: Sequence[float] | np.ndarray) -> float | None:
    """Probability that a random default gets a higher p than a random non-default (ties count
    half): the Mann–Whitney statistic on average ranks. None when a class is absent."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(p_default, dtype=float)
    n_bad = int(y.sum())
    n_good = len(y) - n_bad
    if not n_bad or not n_good:
        return None
    ranks = rankdata(p)
    return float((ranks[y].sum() - n_bad * (n_bad + 1) / 2) / (n_bad * n_good))


def ks(y_true: Sequence[int] | np.ndarray, p_default: Sequence[float] | np.ndarray) -> float | None:
    """Largest gap between the cumulative shares of defaults and non-defaults over all cut-offs
    (rows with equal p always fall on the same side)."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(p_default, dtype=float)
    n_bad = int(y.sum())
    n_good = len(y) - n_bad
    if not n_bad or not n_good:
        return None
    order = np.argsort(-p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    cum_bad = np.cumsum(y_sorted) / n_bad
    cum_good = np.cumsum(~y_sorted) / n_good
    last_of_tie = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    return float(np.max(np.abs(cum_bad - cum_good)[last_of_tie]))


def brier(y_true: Sequence[int] | np.ndarray, p_default: Sequence[float] | np.ndarray) -> float:
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(p_default, dtype=float)
    return float(np.mean((p - y) ** 2))


def calibration_table(
    y_true: Sequence[int] | np.ndarray,
    p_default: Sequence[float] | np.ndarray,
    groups: Sequence[object] | None = None,
    n_groups: int = CALIBRATION_GROUPS,
) -> list[dict[str, Any]]:
    """Predicted against observed default rate: by the given groups (e.g. grades), else by deciles
    of p (equal-count groups from the safest up; rows with equal p stay together)."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(p_default, dtype=float)
    if groups is not None:
        keys = np.asarray(groups, dtype=object)
        order = sorted(set(keys.tolist()), key=lambda g: float(p[keys == g].mean()))
        members = [(str(g), np.flatnonzero(keys == g)) for g in order]
    else:
        members = []
        sorted_index = np.argsort(p, kind="mergesort")
        n = len(p)
        bounds = sorted({round(n * k / n_groups) for k in range(n_groups + 1)})
        start = 0
        for end in bounds[1:]:
            # move the cut past rows tied with the last one, so one p never spans two groups
            while end < n and end > start and p[sorted_index[end]] == p[sorted_index[end - 1]]:
                end += 1
            if end > start:
                members.append((str(len(members) + 1), sorted_index[start:end]))
                start = end
    rows = []
    for name, index in members:
        if not len(index):
            continue
        rows.append(
            {
                "group": name,
                "n": len(index),
                "p_min": float(p[index].min()),
                "p_max": float(p[index].max()),
                "predicted": float(p[index].mean()),
                "observed": float(y[index].mean()),
                "defaults": int(y[index].sum()),
            }
        )
    return rows


CURVE_POINTS = 101
DISTRIBUTION_BINS = 20


def curves(
    y_true: Sequence[int] | np.ndarray, p_default: Sequence[float] | np.ndarray, points: int = CURVE_POINTS
) -> dict[str, Any] | None:
    """What the model report draws, thinned to about `points` points: the ROC curve (share of
    non-defaults against share of defaults caught, riskiest first), the KS curves (both
    cumulative shares by share of the population) and the distribution of p for defaults and
    non-defaults in equal-width bins. None when a class is absent."""
    y = np.asarray(y_true, dtype=bool)
    p = np.asarray(p_default, dtype=float)
    n, n_bad = len(y), int(y.sum())
    n_good = n - n_bad
    if not n_bad or not n_good:
        return None
    order = np.argsort(-p, kind="mergesort")
    y_sorted = y[order]
    cum_bad = np.cumsum(y_sorted) / n_bad
    cum_good = np.cumsum(~y_sorted) / n_good
    at = np.unique(np.round(np.linspace(0, n - 1, min(points, n))).astype(int))
    share = (at + 1) / n
    top = float(p.max()) or 1.0
    edges = np.linspace(0.0, top, DISTRIBUTION_BINS + 1)
    bad_counts, _ = np.histogram(p[y], bins=edges)
    good_counts, _ = np.histogram(p[~y], bins=edges)

    def r(values) -> list[float]:
        return [round(float(v), 4) for v in values]

    bad, good = [0.0, *r(cum_bad[at])], [0.0, *r(cum_good[at])]
    return {
        "roc": {"fpr": good, "tpr": bad},
        "ks": {"population": [0.0, *r(share)], "bad": bad, "good": good},
        "distribution": {
            "edges": [round(float(e), 6) for e in edges],
            "bad": [int(c) for c in bad_counts],
            "good": [int(c) for c in good_counts],
        },
    }


def evaluate(
    y_true: Sequence[int] | np.ndarray,
    p_default: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[object] | None = None,
) -> dict[str, Any]:
    """auc, ks, gini (2·AUC − 1), brier, a calibration table and the curves; JSON-serialisable.

    `y_true` is 1 for a default; `groups` (optional, one label per row, e.g. a grade) replaces the
    deciles of the calibration table."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(p_default, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"y_true and p_default must be two lists of one length, got {y.shape} and {p.shape}")
    if len(y) == 0:
        raise ValueError("nothing to evaluate: no rows")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0 (repaid) and 1 (default) only")
    area = auc(y, p)
    return {
        "n": len(y),
        "defaults": int(y.sum()),
        "auc": area,
        "ks": ks(y, p),
        "gini": None if area is None else 2 * area - 1,
        "brier": brier(y, p),
        "calibration": calibration_table(y, p, groups),
        "curves": curves(y, p),
    }
