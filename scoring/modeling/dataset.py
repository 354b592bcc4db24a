"""From a table as it comes (a CSV read by pandas, a query) to features and a 0/1 target.

Every column that cannot be used is named with the reason, in plain words, and training goes on
with the rest; only a target that cannot be learnt from stops it (`TrainingError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import TrainingError
from .points import CATEGORICAL, NUMERIC, category_key

# A text column with more distinct values than this is free text or an identifier, not a category.
MAX_CATEGORIES = 100
# An object column is numeric when at least this share of its non-blank values parse as numbers.
NUMERIC_SHARE = 0.95
MIN_ROWS_PER_CLASS = 5

DEFAULT_WORDS = {"1", "1.0", "true", "yes", "y", "bad", "default", "defaulted", "delinquent", "违约", "坏"}
GOOD_WORDS = {"0", "0.0", "false", "no", "n", "good", "paid", "repaid", "normal", "正常", "好"}


@dataclass
class Prepared:
    frame: pd.DataFrame  # the usable features: numeric as float (NaN missing), categorical as str/None
    y: np.ndarray  # 1 = default
    kinds: dict[str, str]  # feature -> "numeric" | "categorical"
    positions: np.ndarray  # the kept rows' positions in the original frame
    time: pd.Series | None = None
    messages: list[str] = field(default_factory=list)
    unused: dict[str, str] = field(default_factory=dict)  # column -> why it is not used

    @property
    def features(self) -> list[str]:
        return list(self.kinds)

    def subset(self, positions: np.ndarray) -> Prepared:
        return Prepared(
            frame=self.frame.iloc[positions].reset_index(drop=True),
            y=self.y[positions],
            kinds=dict(self.kinds),
            positions=self.positions[positions],
            time=None if self.time is None else self.time.iloc[positions].reset_index(drop=True),
            messages=list(self.messages),
            unused=dict(self.unused),
        )


def prepare(
    frame: pd.DataFrame,
    target: str,
    *,
    time_column: str | None = None,
    default_value: object = None,
) -> Prepared:
    """Split `frame` into usable features and a 0/1 target, with a message for each thing left out."""
    if target not in frame.columns:
        raise TrainingError(f"target column '{target}' is not in the data")
    if time_column is not None and time_column not in frame.columns:
        raise TrainingError(f"time column '{time_column}' is not in the data")
    messages: list[str] = []
    raw_target = frame[target]
    has_target = ~_blank(raw_target)
    dropped = int((~has_target).sum())
    if dropped:
        messages.append(f"{dropped} rows without a target were left out")
    time = None
    if time_column is not None:
        time = _as_time(frame[time_column])
        has_time = time.notna() & has_target
        no_time = int((has_target & ~has_time).sum())
        if no_time:
            messages.append(f"{no_time} rows without a value in time column '{time_column}' were left out")
        has_target = has_time
    rows = frame.loc[has_target.to_numpy()]
    y = _binary_target(rows[target], target, default_value)

    kinds: dict[str, str] = {}
    columns: dict[str, pd.Series] = {}
    unused: dict[str, str] = {}
    for column in rows.columns:
        if column in (target, time_column):
            continue
        kind, values, note, reason = _feature(rows[column], str(column), frame[column])
        if note:
            messages.append(note)
        if reason:
            unused[str(column)] = reason
            messages.append(f"column '{column}' {reason}: not used")
            continue
        kinds[str(column)] = kind
        columns[str(column)] = values.reset_index(drop=True)
    if not kinds:
        raise TrainingError("no column can be used as a feature: " + "; ".join(messages or ["none given"]))
    features = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    return Prepared(
        frame=features,
        y=y,
        kinds=kinds,
        positions=np.flatnonzero(has_target.to_numpy()),
        time=None if time is None else time.loc[has_target.to_numpy()].reset_index(drop=True),
        messages=messages,
        unused=unused,
    )


def _blank(series: pd.Series) -> pd.Series:
    blank = series.isna()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        blank |= series.astype(str).str.strip().eq("")
    return blank


def _as_time(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    return pd.to_datetime(series, errors="coerce")


def _binary_target(series: pd.Series, name: str, default_value: object) -> np.ndarray:
    if series.empty:
        raise TrainingError(f"target column '{name}' has no values")
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(int)
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    keys = series if numeric else series.map(lambda v: str(v).strip())
    values = sorted(keys.unique().tolist(), key=str)
    shown = ", ".join(repr(v) for v in values[:5]) + (", …" if len(values) > 5 else "")
    if len(values) > 2:
        raise TrainingError(
            f"target column '{name}' is not binary: it has {len(values)} distinct values ({shown})"
        )
    if len(values) == 1:
        raise TrainingError(
            f"target column '{name}' has a single class ({shown}): a model needs both defaults and "
            "non-defaults"
        )
    if default_value is not None:
        wanted = default_value if numeric else str(default_value).strip()
        if wanted not in values:
            raise TrainingError(f"target column '{name}' never holds default_value {default_value!r}")
        y = (keys == wanted).to_numpy()
    elif numeric and set(values) <= {0, 1}:
        y = (keys == 1).to_numpy()
    else:
        lowered = [str(v).lower() for v in values]
        if lowered[0] in DEFAULT_WORDS and lowered[1] in GOOD_WORDS:
            bad = values[0]
        elif lowered[1] in DEFAULT_WORDS and lowered[0] in GOOD_WORDS:
            bad = values[1]
        else:
            raise TrainingError(
                f"target column '{name}' holds {shown}: use 0/1 (1 = default) or pass default_value= "
                "to say which value means default"
            )
        y = (keys == bad).to_numpy()
    y = y.astype(np.int8)
    for label, count in (("defaults", int(y.sum())), ("non-defaults", int(len(y) - y.sum()))):
        if count < MIN_ROWS_PER_CLASS:
            raise TrainingError(
                f"target column '{name}' has only {count} {label}: at least {MIN_ROWS_PER_CLASS} are needed"
            )
    return y


def _feature(series: pd.Series, name: str, given: pd.Series) -> tuple[str, pd.Series, str | None, str | None]:
    """(kind, cleaned values, note, reason not used), judged on the rows kept (`series`); a text
    column's distinct values are counted over the whole column as given, as its owner sees it."""
    note = None
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "", series, None, "holds dates (derive numbers from it, e.g. days since)"
    if pd.api.types.is_bool_dtype(dtype):
        kind, values = CATEGORICAL, series.map(category_key)
    elif pd.api.types.is_numeric_dtype(dtype):
        kind, values = NUMERIC, series.astype(float).replace([np.inf, -np.inf], np.nan)
    else:
        keys = series.map(category_key)
        present = keys.notna()
        numbers = pd.to_numeric(keys.where(present), errors="coerce").replace([np.inf, -np.inf], np.nan)
        parsed = int(numbers.notna().sum())
        filled = int(present.sum())
        if filled and parsed >= NUMERIC_SHARE * filled:
            kind, values = NUMERIC, numbers.astype(float)
            if parsed < filled:
                note = (
                    f"column '{name}': {filled - parsed} values that are not numbers were treated as missing"
                )
        else:
            kind, values = CATEGORICAL, keys.astype(object).where(present, None)
    distinct = int(values.nunique(dropna=True))
    if distinct == 0:
        return kind, values, note, "is empty"
    if distinct == 1 and values.notna().all():
        return kind, values, note, "is constant"
    if kind == NUMERIC and _looks_like_identifier(values, name, distinct):
        return kind, values, note, "looks like an identifier (a different whole number on every row)"
    if kind == CATEGORICAL and distinct > MAX_CATEGORIES:
        distinct = max(distinct, int(given.map(category_key).nunique(dropna=True)))
        return kind, values, note, f"has {distinct} distinct text values"
    # one value with some rows blank stays: whether it is filled in may tell (the missing bin)
    return kind, values, note, None


def _looks_like_identifier(values: pd.Series, name: str, distinct: int) -> bool:
    """Row numbers and ids: whole numbers, all different, either running 1, 2, 3 … (in any order)
    or in a column called id / …_id. An amount that happens to differ on every row is neither."""
    present = values.dropna()
    if distinct < 50 or distinct != len(present) or not (present == present.round()).all():
        return False
    lowered = name.strip().lower()
    runs_through = present.max() - present.min() == distinct - 1
    return runs_through or lowered == "id" or lowered.endswith(("_id", " id", "编号"))
