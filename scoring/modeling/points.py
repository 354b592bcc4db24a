"""The compiled scorecard: a points table that scores one row in plain Python.

Nothing here imports pandas, numpy or scikit-learn: the decision path loads this module alone and
scores a row with a bisect or a dict look-up per feature. A table is a JSON-serialisable dict
(`to_dict` / `from_dict`), which is what a model registry stores.

Points follow the usual scaling: `points = offset + factor · ln(odds)`, odds being non-default to
default, `factor = pdo / ln 2` and `offset = base_points − factor · ln(base_odds)`; by default a
row at 50:1 odds scores 600 and each doubling of the odds adds 20 points. Each feature's points
are shifted so its worst bin scores 0, so every bin's points say how much that answer earns, and
a reason's `points_lost` is the gap between the row's bin and the feature's best bin.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

FORMAT = "xiaodai.points_table/1"
MAX_REASONS = 4
NUMERIC = "numeric"
CATEGORICAL = "categorical"
MISSING = "missing"
UNSEEN = "unseen"


class Reason(NamedTuple):
    """One feature that cost the row points, against the best bin of that feature."""

    feature: str
    points_lost: int
    label_zh: str
    label_en: str
    value: object


class ScoreResult(NamedTuple):
    points: int
    probability: float  # probability of default implied by the points
    reasons: list[Reason]  # up to four, most points lost first

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "probability": self.probability,
            "reasons": [reason._asdict() for reason in self.reasons],
        }


@dataclass(frozen=True)
class Scaling:
    """How log-odds become points: `base_points` at `base_odds` (good:bad), `pdo` points to double."""

    base_points: int = 600
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        if self.base_odds <= 0 or self.pdo <= 0:
            raise ValueError("base_odds and pdo must be positive")

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_points - self.factor * math.log(self.base_odds)

    def points_for_odds(self, odds: float) -> float:
        """Unrounded points of a row whose odds of not defaulting are `odds` to 1."""
        return self.offset + self.factor * math.log(odds)

    def probability_for_points(self, points: float) -> float:
        """Default probability implied by a score: odds = exp((points − offset) / factor)."""
        exponent = (points - self.offset) / self.factor
        return 1.0 / (1.0 + math.exp(min(max(exponent, -700.0), 700.0)))

    def to_dict(self) -> dict[str, Any]:
        return {"base_points": self.base_points, "base_odds": self.base_odds, "pdo": self.pdo}


@dataclass
class Bin:
    """One answer a feature can give. `count`/`defaults`/`woe` describe the training data only."""

    label: str
    points: int
    kind: str = "range"  # range (numeric), categories, missing, unseen
    categories: list[str] = field(default_factory=list)
    count: int = 0
    defaults: int = 0
    woe: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"label": self.label, "kind": self.kind, "points": self.points}
        if self.kind == "categories":
            data["categories"] = list(self.categories)
        data.update(count=self.count, defaults=self.defaults, woe=self.woe)
        return data


@dataclass
class FeaturePoints:
    """A feature's bins: the regular ones in order, then the missing bin, then (categorical) the
    bin for values never seen in training. A numeric feature has `len(bins) − 2` cut points:
    bin i holds splits[i−1] <= x < splits[i]."""

    name: str
    kind: str
    bins: list[Bin]
    splits: list[float] = field(default_factory=list)
    label_zh: str = ""
    label_en: str = ""
    iv: float = 0.0
    weight: float = 0.0  # the logistic regression's coefficient on this feature's WoE

    def __post_init__(self) -> None:
        self.label_zh = self.label_zh or self.name
        self.label_en = self.label_en or self.name
        kinds = [b.kind for b in self.bins]
        if self.kind == NUMERIC:
            regular = len(self.bins) - 1
            if regular < 1 or kinds[-1] != MISSING or len(self.splits) != regular - 1:
                raise ValueError(f"feature '{self.name}': numeric bins must be ranges, then missing")
            if any(b >= a for a, b in zip(self.splits[1:], self.splits, strict=False)):
                raise ValueError(f"feature '{self.name}': splits must increase")
        elif self.kind == CATEGORICAL:
            if len(self.bins) < 3 or kinds[-2:] != [MISSING, UNSEEN]:
                raise ValueError(f"feature '{self.name}': categorical bins must end with missing, unseen")
        else:
            raise ValueError(f"feature '{self.name}': unknown kind {self.kind!r}")

    @property
    def missing_index(self) -> int:
        return len(self.bins) - (1 if self.kind == NUMERIC else 2)

    @property
    def unseen_index(self) -> int:
        return len(self.bins) - 1 if self.kind == CATEGORICAL else self.missing_index

    def category_index(self) -> dict[str, int]:
        return {c: i for i, b in enumerate(self.bins) if b.kind == "categories" for c in b.categories}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind}
        data.update(label_zh=self.label_zh, label_en=self.label_en, iv=self.iv, weight=self.weight)
        if self.kind == NUMERIC:
            data["splits"] = list(self.splits)
        data["bins"] = [b.to_dict() for b in self.bins]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeaturePoints:
        bins = [
            Bin(
                label=str(b["label"]),
                points=int(b["points"]),
                kind=str(b.get("kind", "range")),
                categories=[str(c) for c in b.get("categories", [])],
                count=int(b.get("count", 0)),
                defaults=int(b.get("defaults", 0)),
                woe=float(b.get("woe", 0.0)),
            )
            for b in data["bins"]
        ]
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            bins=bins,
            splits=[float(s) for s in data.get("splits", [])],
            label_zh=str(data.get("label_zh", "")),
            label_en=str(data.get("label_en", "")),
            iv=float(data.get("iv", 0.0)),
            weight=float(data.get("weight", 0.0)),
        )


def category_key(value: object) -> str | None:
    """The text a categorical value is looked up by; None for anything missing (None, NaN, NA,
    blank). Training uses the same function, so both sides agree on every value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    try:
        if value != value:  # NaN of any float type, NaT
            return None
    except TypeError:  # pandas.NA refuses to be a bool
        return None
    return str(value).strip() or None


def as_number(value: object) -> float | None:
    """A numeric feature's value as a finite float; None (the missing bin) for None, NaN, ±inf,
    blanks and text that is not a number, as training treats them."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class PointsTable:
    """A scorecard compiled to points: `score(row)` reads each feature from a mapping."""

    def __init__(
        self,
        features: list[FeaturePoints],
        intercept_points: int,
        scaling: Scaling | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not features:
            raise ValueError("a points table needs at least one feature")
        names = [f.name for f in features]
        if len(set(names)) != len(names):
            raise ValueError("a points table lists each feature once")
        self._features = list(features)
        self.intercept_points = int(intercept_points)
        self.scaling = scaling or Scaling()
        self.meta = dict(meta or {})
        self._compiled = [self._compile(f) for f in self._features]
        self._factor = self.scaling.factor
        self._offset = self.scaling.offset

    @staticmethod
    def _compile(f: FeaturePoints) -> tuple[Any, ...]:
        points = tuple(b.points for b in f.bins)
        numeric = f.kind == NUMERIC
        return (
            f.name,
            numeric,
            tuple(f.splits),
            {} if numeric else f.category_index(),
            points,
            max(points),
            f.missing_index,
            f.unseen_index,
            f.label_zh,
            f.label_en,
        )

    @property
    def features(self) -> list[str]:
        return [f.name for f in self._features]

    @property
    def feature_points(self) -> list[FeaturePoints]:
        return list(self._features)

    @property
    def points_range(self) -> tuple[int, int]:
        low = sum(min(b.points for b in f.bins) for f in self._features)
        high = sum(max(b.points for b in f.bins) for f in self._features)
        return self.intercept_points + low, self.intercept_points + high

    def score(self, row: Mapping[str, object]) -> ScoreResult:
        total = self.intercept_points
        losses = []
        get = row.get
        for name, numeric, splits, categories, points, best, missing, unseen, zh, en in self._compiled:
            value = get(name)
            if numeric:
                index = missing
                if value is not None:
                    kind = type(value)
                    number = value if kind is float or kind is int else as_number(value)
                    # x - x is 0 for a finite number, NaN (truthy) for NaN and ±inf: the missing bin
                    if number is not None and not number - number:
                        index = bisect_right(splits, number)
            else:
                key = value.strip() if type(value) is str else category_key(value)
                index = categories.get(key, unseen) if key else missing
            earned = points[index]
            total += earned
            if earned < best:
                losses.append((best - earned, name, zh, en, value))
        if len(losses) > 1:
            losses.sort(key=itemgetter(0), reverse=True)  # stable: ties keep the table's order
        reasons = [Reason(name, lost, zh, en, value) for lost, name, zh, en, value in losses[:MAX_REASONS]]
        exponent = (total - self._offset) / self._factor
        probability = 1.0 / (1.0 + math.exp(min(max(exponent, -700.0), 700.0)))
        return ScoreResult(total, probability, reasons)

    def score_many(self, rows: Iterable[Mapping[str, object]]) -> list[ScoreResult]:
        if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # a DataFrame: score its rows
            rows = rows.to_dict("records")  # type: ignore[union-attr]
        return [self.score(row) for row in rows]

    def rows(self) -> list[dict[str, Any]]:
        """The table as a reader sees it: one line per bin."""
        lines = []
        for f in self._features:
            for b in f.bins:
                lines.append(
                    {
                        "feature": f.name,
                        "label_en": f.label_en,
                        "label_zh": f.label_zh,
                        "bin": b.label,
                        "kind": b.kind,
                        "points": b.points,
                        "count": b.count,
                        "defaults": b.defaults,
                        "default_rate": round(b.defaults / b.count, 4) if b.count else None,
                        "woe": round(b.woe, 4),
                    }
                )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "scaling": self.scaling.to_dict(),
            "intercept_points": self.intercept_points,
            "features": [f.to_dict() for f in self._features],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PointsTable:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a points table: format {data.get('format')!r}, expected {FORMAT!r}")
        scaling = Scaling(**data.get("scaling", {}))
        features = [FeaturePoints.from_dict(f) for f in data["features"]]
        return cls(features, int(data["intercept_points"]), scaling, data.get("meta"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PointsTable) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        low, high = self.points_range
        return f"<PointsTable {len(self._features)} features, points {low}..{high}>"
