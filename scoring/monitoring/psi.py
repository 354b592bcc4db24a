"""Population stability (PSI): pure functions over arrays, no database.

    PSI = Σ over bins (a − e) · ln(a / e)

e is the share of the reference population in a bin, a the share of this period's population.
Bins come from the reference: for a continuous value its deciles (interior cut points, ties
merged, so a value that fills several deciles gets one bin), right-closed, (−∞, q₁], (q₁, q₂], …,
(q_k, ∞); for a categorical value its categories plus one bin for categories the reference never
saw; and always a bin for missing values. An empty bin counts as EPSILON (1e-4) so the logarithm
stays finite. Usual reading: below 0.1 stable, 0.1–0.25 a warning, above 0.25 an alert (the
thresholds are settings, see scoring.monitoring.services).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.modeling.points import CATEGORICAL, NUMERIC, category_key

EPSILON = 1e-4
DECILES = 10
MISSING = "missing"
OTHER = "other"


@dataclass(frozen=True)
class Bins:
    """How a subject is cut into bins, fixed by its reference population."""

    kind: str  # NUMERIC or CATEGORICAL
    edges: tuple[float, ...] = ()  # numeric: the interior cut points, increasing
    categories: tuple[str, ...] = ()  # categorical: the reference's categories

    @property
    def size(self) -> int:
        return len(self.edges) + 2 if self.kind == NUMERIC else len(self.categories) + 2

    def labels(self) -> list[str]:
        if self.kind == CATEGORICAL:
            return [*self.categories, OTHER, MISSING]
        bounds = [-math.inf, *self.edges, math.inf]
        return [f"({_number(lo)}, {_number(hi)}]" for lo, hi in itertools.pairwise(bounds)] + [MISSING]

    def counts(self, values: Sequence | np.ndarray) -> np.ndarray:
        """How many values fall in each bin (the last bin: missing)."""
        counts = np.zeros(self.size, dtype=np.int64)
        if self.kind == NUMERIC:
            numbers = _numbers(values)
            finite = np.isfinite(numbers)
            index = np.searchsorted(np.asarray(self.edges, dtype=float), numbers[finite], side="left")
            counts[: len(self.edges) + 1] = np.bincount(index, minlength=len(self.edges) + 1)
            counts[-1] = int((~finite).sum())
            return counts
        position = {c: i for i, c in enumerate(self.categories)}
        other = len(self.categories)
        for value in values:
            key = category_key(value)
            counts[-1 if key is None else position.get(key, other)] += 1
        return counts

    def shares(self, values: Sequence | np.ndarray) -> np.ndarray:
        counts = self.counts(values)
        total = counts.sum()
        return counts / total if total else counts.astype(float)

    def entries(self, shares: Iterable[float], counts: Iterable[int] | None = None) -> list[dict]:
        """Bins, shares (and counts) as a DriftReport keeps them: enough to rebuild the bins."""
        shares = [round(float(s), 6) for s in shares]
        if self.kind == CATEGORICAL:
            kinds = ["category"] * len(self.categories) + [OTHER, MISSING]
            out = [
                {"bin": label, "kind": kind, "share": share}
                for label, kind, share in zip(self.labels(), kinds, shares, strict=True)
            ]
        else:
            uppers: list[float | None] = [*self.edges, None]
            out = [
                {"bin": label, "kind": NUMERIC, "upper": upper, "share": share}
                for label, upper, share in zip(self.labels(), uppers, shares, strict=False)
            ]
            out.append({"bin": MISSING, "kind": MISSING, "share": shares[-1]})
        if counts is not None:
            for entry, count in zip(out, counts, strict=True):
                entry["count"] = int(count)
        return out

    @classmethod
    def from_entries(cls, entries: Sequence[dict]) -> Bins:
        if any(e.get("kind") == "category" or e.get("kind") == OTHER for e in entries):
            return cls(
                CATEGORICAL, categories=tuple(e["bin"] for e in entries if e.get("kind") == "category")
            )
        uppers = [e.get("upper") for e in entries if e.get("kind") == NUMERIC]
        return cls(NUMERIC, edges=tuple(float(u) for u in uppers if u is not None))


def _number(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"


def _numbers(values: Sequence | np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return array.astype(float)
    out = np.full(len(array), np.nan)
    for i, value in enumerate(array):
        with contextlib.suppress(TypeError, ValueError):
            out[i] = float(value)
    return out


def bins_for(reference: Sequence | np.ndarray, kind: str = NUMERIC, *, deciles: int = DECILES) -> Bins:
    """Bins from the reference: deciles of a continuous value, categories of a categorical one."""
    if kind == CATEGORICAL:
        keys = {category_key(v) for v in reference}
        return Bins(CATEGORICAL, categories=tuple(sorted(k for k in keys if k is not None)))
    numbers = _numbers(reference)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return Bins(NUMERIC)
    cuts = np.quantile(finite, np.linspace(0, 1, deciles + 1)[1:-1])
    return Bins(NUMERIC, edges=tuple(float(c) for c in np.unique(cuts)))


def psi(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, *, epsilon=EPSILON
) -> float:
    """Σ (a − e) · ln(a / e) over bins, empty bins counted as epsilon."""
    e = np.maximum(np.asarray(expected, dtype=float), epsilon)
    a = np.maximum(np.asarray(actual, dtype=float), epsilon)
    if e.shape != a.shape:
        raise ValueError(f"expected {e.shape[0]} bins, got {a.shape[0]}")
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class Drift:
    psi: float
    bins: Bins
    expected: np.ndarray
    actual: np.ndarray
    counts: np.ndarray | None = None  # this population's count per bin


def drift(reference: Sequence | np.ndarray, actual: Sequence | np.ndarray, kind: str = NUMERIC) -> Drift:
    """PSI of `actual` against `reference`, bins from the reference."""
    bins = bins_for(reference, kind)
    expected, shares = bins.shares(reference), bins.shares(actual)
    return Drift(psi(expected, shares), bins, expected, shares)


def drift_against(bins: Bins, expected: Sequence[float], actual: Sequence | np.ndarray) -> Drift:
    """PSI of `actual` against a reference kept as its bins and shares."""
    counts = bins.counts(actual)
    shares = counts / counts.sum() if counts.sum() else counts.astype(float)
    return Drift(psi(expected, shares), bins, np.asarray(expected, dtype=float), shares, counts)


def status_for(value: float, *, warning: float, alert: float) -> str:
    """ "alert" at or above the alert threshold, "warning" at or above the warning one, else "ok"."""
    if value >= alert:
        return "alert"
    if value >= warning:
        return "warning"
    return "ok"
