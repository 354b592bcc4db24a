"""The challenger: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) with
calibrated probabilities.

Trees find interactions and non-monotone shapes a scorecard cannot; the report sets the two side
by side on the same held-out rows, so a champion is only replaced on evidence. Boosted trees rank
well but their raw probabilities are not to be trusted, hence `CalibratedClassifierCV`: sigmoid
(Platt) while defaults are few (isotonic regression overfits small samples), isotonic from
`ISOTONIC_FROM_DEFAULTS` defaults on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd

from .dataset import Prepared
from .points import NUMERIC, as_number, category_key

ISOTONIC_FROM_DEFAULTS = 1000
# Below this many rows the trees are faster on one thread: OpenMP's start-up and, on a busy
# 2-core machine, its spinning threads cost more than they save (5 s became 45 s in a test).
ONE_THREAD_BELOW_ROWS = 50_000
CALIBRATION_FOLDS = 5
MAX_TREE_CATEGORIES = 100  # trees take at most 255 categories; rarer ones are pooled


class Challenger:
    """A fitted, calibrated model over named features; picklable. `predict_proba` takes a
    DataFrame or rows (mappings) with the same columns as training, raw or prepared, and
    returns scikit-learn's (n, 2) array: column 1 is the probability of default."""

    def __init__(self, model: Any, kinds: dict[str, str]) -> None:
        self.model = model
        self.kinds = dict(kinds)

    @property
    def features(self) -> list[str]:
        return list(self.kinds)

    def frame(self, rows: pd.DataFrame | Iterable[Mapping[str, object]]) -> pd.DataFrame:
        source = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        columns = {}
        for name, kind in self.kinds.items():
            if name not in source.columns:
                values = pd.Series([None] * len(source), dtype=object)
            else:
                values = source[name].reset_index(drop=True)
            if kind == NUMERIC:
                columns[name] = pd.to_numeric(values.map(as_number), errors="coerce").astype(float)
            else:
                columns[name] = values.map(category_key).astype(object)
        return pd.DataFrame(columns, index=pd.RangeIndex(len(source)))

    def predict_proba(self, rows: pd.DataFrame | Iterable[Mapping[str, object]]) -> np.ndarray:
        frame = self.frame(rows)
        with _threads(len(frame)):
            return self.model.predict_proba(frame)

    def predict_default(self, rows: pd.DataFrame | Iterable[Mapping[str, object]]) -> np.ndarray:
        return self.predict_proba(rows)[:, 1]


def fit_challenger(data: Prepared, *, seed: int = 0) -> Challenger:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    categorical = [name for name, kind in data.kinds.items() if kind != NUMERIC]
    numeric = [name for name, kind in data.kinds.items() if kind == NUMERIC]
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        min_frequency=10,
        max_categories=MAX_TREE_CATEGORIES,
    )
    columns = ColumnTransformer(
        [("categorical", encoder, categorical), ("numeric", "passthrough", numeric)],
        sparse_threshold=0,
    )
    trees = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=500,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=30,
        categorical_features=list(range(len(categorical))) or None,
        random_state=seed,
    )
    pipeline = Pipeline([("columns", columns), ("trees", trees)])
    defaults = int(data.y.sum())
    folds = min(CALIBRATION_FOLDS, defaults, len(data.y) - defaults)
    method = "isotonic" if defaults >= ISOTONIC_FROM_DEFAULTS else "sigmoid"
    calibrated = CalibratedClassifierCV(
        pipeline, method=method, cv=StratifiedKFold(folds, shuffle=True, random_state=seed)
    )
    model_input = Challenger(None, data.kinds).frame(data.frame)
    with _threads(len(model_input)):
        calibrated.fit(model_input, data.y)
    return Challenger(calibrated, data.kinds)


def _threads(rows: int) -> Any:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp") if rows < ONE_THREAD_BELOW_ROWS else nullcontext()
