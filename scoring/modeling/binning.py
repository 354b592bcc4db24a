"""Monotone binning and weight of evidence, one feature at a time.

optbinning's `OptimalBinning` finds the cut points (numeric) or the groups of categories
(categorical) that maximise information value under a monotone default-rate constraint
(`auto_asc_desc`: ascending or descending, whichever holds more information). Everything after
the cut points is computed here, so that the bins for missing values and for categories never
seen in training are explicit and behave the same in training, in the report and in the points
table:
- WoE is ln(share of non-defaults / share of defaults), positive for safer bins, each bin's
  default rate shrunk towards the overall rate by `PRIOR_ROWS` rows, so a bin with few rows (often
  the missing bin) cannot get an extreme weight, and an empty bin gets exactly 0: the unseen bin,
  and the missing bin of a feature that had no blanks in training, score like the average row;
- numeric WoE is then made monotone across the regular bins (pool adjacent violators), so the
  shrinkage can never undo the monotone trend;
- categories seen fewer than `RARE_ROWS` times (or under 0.5 % of rows) are pooled before binning
  and scored with the bin their pool lands in.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from .points import CATEGORICAL, MISSING, NUMERIC, UNSEEN

PRIOR_ROWS = 10.0
RARE_ROWS = 10
RARE_SHARE = 0.005
MAX_PREBINS = 50
MIN_PREBIN_SIZE = 0.02
_POOL = "\x00rare"


@dataclass
class FeatureBinning:
    name: str
    kind: str
    splits: list[float]  # numeric: bin i holds splits[i-1] <= x < splits[i]
    groups: list[list[str]]  # categorical: the categories of each regular bin
    labels: list[str]  # one per bin: regular bins, missing, then (categorical) unseen
    counts: np.ndarray
    defaults: np.ndarray
    woe: np.ndarray
    iv: float
    trend: str  # "ascending"/"descending" default rate along numeric bins, "" otherwise

    @property
    def n_regular(self) -> int:
        return len(self.splits) + 1 if self.kind == NUMERIC else len(self.groups)

    @property
    def kinds(self) -> list[str]:
        regular = ["range" if self.kind == NUMERIC else "categories"] * self.n_regular
        return regular + ([MISSING] if self.kind == NUMERIC else [MISSING, UNSEEN])

    def indices(self, values: pd.Series) -> np.ndarray:
        """Bin index of each value (prepared values: float with NaN, or str with None)."""
        missing = self.n_regular
        if self.kind == NUMERIC:
            x = values.to_numpy(dtype=float)
            index = np.searchsorted(np.asarray(self.splits, dtype=float), x, side="right")
            return np.where(np.isfinite(x), index, missing)
        lookup = {c: i for i, group in enumerate(self.groups) for c in group}
        unseen = missing + 1
        return np.fromiter(
            (missing if v is None else lookup.get(v, unseen) for v in values.to_numpy(dtype=object)),
            dtype=np.int64,
            count=len(values),
        )

    def transform(self, values: pd.Series) -> np.ndarray:
        return self.woe[self.indices(values)]


def fit_binning(values: pd.Series, y: np.ndarray, *, name: str, kind: str) -> FeatureBinning:
    if kind == NUMERIC:
        x = values.to_numpy(dtype=float)
        present = np.isfinite(x)
        splits = _numeric_splits(x[present], y[present], name)
        binning = FeatureBinning(name, kind, splits, [], [], np.empty(0), np.empty(0), np.empty(0), 0.0, "")
    else:
        groups = _category_groups(values, y, name)
        binning = FeatureBinning(name, kind, [], groups, [], np.empty(0), np.empty(0), np.empty(0), 0.0, "")
    index = binning.indices(values)
    n_bins = len(binning.kinds)
    binning.counts = np.bincount(index, minlength=n_bins)
    binning.defaults = np.bincount(index, weights=y, minlength=n_bins).round().astype(np.int64)
    binning.woe, binning.iv, binning.trend = _weights(
        binning.counts, binning.defaults, kind, binning.n_regular
    )
    binning.labels = _labels(binning)
    return binning


def _optimal_binning(name: str, dtype: str) -> Any:
    from optbinning import OptimalBinning  # slow to import; training only

    return OptimalBinning(
        name=name,
        dtype=dtype,
        monotonic_trend="auto_asc_desc",
        max_n_prebins=MAX_PREBINS,
        min_prebin_size=MIN_PREBIN_SIZE,
        solver="cp",
        time_limit=60,
    )


def _numeric_splits(x: np.ndarray, y: np.ndarray, name: str) -> list[float]:
    if len(np.unique(x)) < 2 or len(np.unique(y)) < 2:
        return []
    optimal = _optimal_binning(name, "numerical")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimal.fit(x, y)
    if optimal.status not in ("OPTIMAL", "FEASIBLE"):
        return []
    return [float(s) for s in optimal.splits]


def _category_groups(values: pd.Series, y: np.ndarray, name: str) -> list[list[str]]:
    present = values.notna().to_numpy()
    keys = values[present].astype(str)
    counts = keys.value_counts()
    if counts.empty:
        return []
    rare_below = max(RARE_ROWS, RARE_SHARE * len(values))
    rare = set(counts.index[counts < rare_below])
    pooled = keys.where(~keys.isin(rare), _POOL) if rare else keys
    categories = sorted(pooled.unique())
    if len(categories) < 2 or len(np.unique(y[present])) < 2:
        groups = [sorted(counts.index)]
    else:
        optimal = _optimal_binning(name, "categorical")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimal.fit(pooled.to_numpy(dtype=object), y[present])
        if optimal.status in ("OPTIMAL", "FEASIBLE"):
            groups = [[str(c) for c in split] for split in optimal.splits]
        else:
            groups = [categories]
        placed = {c for group in groups for c in group}
        left = [c for c in categories if c not in placed]
        if left:  # never expected; keep every training category scoreable
            groups.append(left)
    result = []
    for group in groups:
        members = [c for c in group if c != _POOL]
        if _POOL in group:
            members += sorted(rare)
        if members:
            result.append(sorted(members))
    return result


def _weights(
    counts: np.ndarray, defaults: np.ndarray, kind: str, n_regular: int
) -> tuple[np.ndarray, float, str]:
    total, bad = counts.sum(), defaults.sum()
    overall = bad / total
    rate = (defaults + PRIOR_ROWS * overall) / (counts + PRIOR_ROWS)
    trend = ""
    if kind == NUMERIC and n_regular > 1:
        regular = rate[:n_regular]
        trend = "ascending" if regular[-1] >= regular[0] else "descending"
        sign = 1.0 if trend == "ascending" else -1.0
        rate[:n_regular] = sign * _pool_adjacent_violators(sign * regular, counts[:n_regular] + PRIOR_ROWS)
    woe = _logit(overall) - _logit(rate)
    good_share = (counts - defaults) / (total - bad)
    bad_share = defaults / bad
    iv = float(np.sum((good_share - bad_share) * woe))
    return woe, iv, trend


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _pool_adjacent_violators(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-decreasing fit to `values`."""
    blocks: list[list[float]] = []  # [mean, weight, size]
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.array([mean for mean, _, size in blocks for _ in range(int(size))])


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _labels(binning: FeatureBinning) -> list[str]:
    if binning.kind == NUMERIC:
        cuts = [_number(s) for s in binning.splits]
        if not cuts:
            regular = ["any value"]
        else:
            regular = [f"< {cuts[0]}"]
            regular += [f"[{low}, {high})" for low, high in pairwise(cuts)]
            regular.append(f">= {cuts[-1]}")
        return [*regular, "missing"]
    regular = []
    for group in binning.groups:
        text = ", ".join(group[:4]) + (f" (+{len(group) - 4} more)" if len(group) > 4 else "")
        regular.append(text)
    return [*regular, "missing", "never seen in training"]


def fit_binnings(frame: pd.DataFrame, y: np.ndarray, kinds: dict[str, str]) -> dict[str, FeatureBinning]:
    return {name: fit_binning(frame[name], y, name=name, kind=kind) for name, kind in kinds.items()}


__all__ = ["CATEGORICAL", "NUMERIC", "FeatureBinning", "fit_binning", "fit_binnings"]
