"""Features as of a date for any merchants (`features_as_of`), and the current ones kept in one
row per merchant (`snapshots_refresh`) so that a decision reads one row (`features_for`)."""

import datetime as dt
import math
from collections.abc import Iterable, Iterator

import pandas as pd
from django.utils import timezone

from merchants.models import Merchant
from scoring.features.compute import FEATURE_NAMES, features_compute
from scoring.features.inputs import history_start_on, inputs_read
from scoring.features.network import network_features
from scoring.models import FeatureSnapshot
from scoring.selectors import merchant_id_ranges

# Bump when a feature's definition changes: snapshots of another version are recomputed, and a
# model records the version it was trained on.
FEATURES_VERSION = "f1"
# Merchants per chunk: memory stays flat however many merchants there are.
CHUNK_SIZE = 5000


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _features_chunk(ids: list[int], as_of: dt.date, start_on: dt.date | None) -> pd.DataFrame:
    inputs = inputs_read(ids, as_of)
    return features_compute(
        totals=inputs.totals,
        weekly=inputs.weekly,
        static=inputs.static,
        as_of=as_of,
        history_start_on=start_on,
        network=network_features(ids, as_of),
    )


def features_as_of(
    merchant_ids: Iterable[int], as_of: dt.date, *, chunk_size: int = CHUNK_SIZE
) -> pd.DataFrame:
    """Features of the given merchants as of a date, from data dated before it: one row per
    merchant that exists (index merchant_id, ascending), FEATURE_NAMES as float columns."""
    ids = sorted({int(pk) for pk in merchant_ids})
    start_on = history_start_on()
    frames = [_features_chunk(chunk, as_of, start_on) for chunk in _chunks(ids, chunk_size)]
    if not frames:
        return pd.DataFrame(
            columns=list(FEATURE_NAMES), index=pd.Index([], name="merchant_id"), dtype="float64"
        )
    frame = pd.concat(frames).sort_index()
    frame.index.name = "merchant_id"
    return frame


def _json_value(value: float) -> float | None:
    """JSON has no NaN (PostgreSQL's jsonb refuses it): a missing feature is stored as null."""
    return None if value is None or math.isnan(value) else float(value)


def _snapshots_write(ids: list[int], as_of: dt.date, start_on: dt.date | None) -> int:
    """Upsert the snapshots of these merchants as of a date, leaving alone any already as of a
    later date. Returns the snapshots written."""
    newer = set(
        FeatureSnapshot.objects.filter(pk__in=ids, as_of__gt=as_of).values_list("merchant_id", flat=True)
    )
    ids = [pk for pk in ids if pk not in newer]
    if not ids:
        return 0
    frame = _features_chunk(ids, as_of, start_on)
    now = timezone.now()
    names = list(frame.columns)
    rows = [
        FeatureSnapshot(
            merchant_id=int(pk),
            as_of=as_of,
            version=FEATURES_VERSION,
            features={name: _json_value(v) for name, v in zip(names, values, strict=True)},
            computed_at=now,
        )
        for pk, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=True)
    ]
    FeatureSnapshot.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["merchant"],
        update_fields=["as_of", "version", "features", "computed_at"],
    )
    return len(rows)


def snapshots_refresh_range(*, as_of: dt.date, lo: int, hi: int, chunk_size: int = CHUNK_SIZE) -> int:
    """Write the snapshots of the merchants with ids lo..hi as of a date (one chunk of a nightly
    run). Returns the snapshots written."""
    start_on = history_start_on()
    ids = list(Merchant.objects.filter(pk__gte=lo, pk__lte=hi).order_by("pk").values_list("pk", flat=True))
    return sum(_snapshots_write(chunk, as_of, start_on) for chunk in _chunks(ids, chunk_size))


def snapshots_refresh(
    *, as_of: dt.date, merchant_ids: Iterable[int] | None = None, chunk_size: int = CHUNK_SIZE
) -> int:
    """Write every merchant's (or the given merchants') current features as of a date, a chunk
    of merchants at a time. A snapshot already as of a later date is left alone. Returns the
    snapshots written."""
    if merchant_ids is None:
        return sum(
            snapshots_refresh_range(as_of=as_of, lo=lo, hi=hi, chunk_size=chunk_size)
            for lo, hi in merchant_id_ranges(size=chunk_size)
        )
    start_on = history_start_on()
    ids = sorted({int(pk) for pk in merchant_ids})
    return sum(_snapshots_write(chunk, as_of, start_on) for chunk in _chunks(ids, chunk_size))


def features_for(merchant_id: int, *, as_of: dt.date) -> dict[str, float]:
    """A merchant's current features for a decision: its snapshot row (one query), NaN where a
    feature is missing. Without a snapshot of the current version they are computed now, as of
    `as_of` (the business date; a dozen queries)."""
    row = FeatureSnapshot.objects.filter(pk=merchant_id).values_list("version", "features").first()
    if row is not None and row[0] == FEATURES_VERSION:
        stored = row[1]
        return {name: math.nan if stored.get(name) is None else float(stored[name]) for name in FEATURE_NAMES}
    frame = features_as_of([merchant_id], as_of)
    if frame.empty:
        raise Merchant.DoesNotExist(f"no merchant {merchant_id}")
    return {name: float(value) for name, value in frame.iloc[0].items()}
