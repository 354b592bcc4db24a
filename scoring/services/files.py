"""Scoring a file: any CSV with the model's columns, a chunk of rows at a time (memory stays
flat whatever the file's length), through the same points table decisions use."""

import csv
import time
from pathlib import Path

from common.errors import ApplicationError
from scoring.models import ScoringModel
from scoring.services.registry import table_of

CHUNK_ROWS = 20_000
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3", "reason_4")
OUTPUT_COLUMNS = ("probability", "points", *REASON_COLUMNS)


def _reason_text(reason) -> str:
    return f"{reason.feature} (-{reason.points_lost}): {reason.label_en} / {reason.label_zh}"


def score_file(
    *, model: ScoringModel, csv_in: str | Path, csv_out: str | Path, chunk_rows: int = CHUNK_ROWS
) -> dict:
    """Write `csv_out`: every row of `csv_in` with the model's probability of default, points and
    top four reasons added. Values the model never saw and empty cells score in their own bins;
    model features missing from the file are reported and scored as missing."""
    import pandas as pd

    started = time.perf_counter()
    source, target = Path(csv_in), Path(csv_out)
    if not source.is_file():
        raise ApplicationError(f"cannot read {source}: no such file", {"fields": {"csv": ["no such file"]}})
    if source.resolve() == target.resolve():
        raise ApplicationError(
            "the output file must not be the input file", {"fields": {"out": ["same as csv"]}}
        )
    table = table_of(model)
    try:
        reader = pd.read_csv(source, dtype=str, chunksize=chunk_rows, keep_default_na=True)
        first = next(reader, None)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ApplicationError(
            f"cannot read {source} as CSV: {exc}", {"fields": {"csv": ["not a readable CSV file"]}}
        ) from exc
    if first is None:
        raise ApplicationError(f"{source} has no header row", {"fields": {"csv": ["empty file"]}})
    clashes = [c for c in OUTPUT_COLUMNS if c in first.columns]
    if clashes:
        raise ApplicationError(
            f"{source.name} already has column(s) {', '.join(clashes)}; rename them first",
            {"fields": {"csv": [f"column {clashes[0]!r} would be overwritten"]}},
        )
    missing = [f for f in table.features if f not in first.columns]
    rows = 0
    try:
        with target.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([*first.columns, *OUTPUT_COLUMNS])
            chunk = first
            while chunk is not None:
                columns = list(chunk.columns)
                for values in chunk.itertuples(index=False, name=None):
                    row = dict(zip(columns, values, strict=True))
                    result = table.score(row)
                    reasons = [_reason_text(r) for r in result.reasons]
                    reasons += [""] * (len(REASON_COLUMNS) - len(reasons))
                    cells = ["" if v != v or v is None else v for v in values]  # NaN back to an empty cell
                    writer.writerow([*cells, f"{result.probability:.6f}", result.points, *reasons])
                rows += len(chunk)
                chunk = next(reader, None)
    except (UnicodeDecodeError, ValueError) as exc:
        target.unlink(missing_ok=True)
        raise ApplicationError(
            f"cannot read {source} as CSV after {rows} rows: {exc}", {"fields": {"csv": ["malformed CSV"]}}
        ) from exc
    return {
        "model": model.version,
        "rows": rows,
        "out": str(target),
        "features_missing_from_file": missing,
        "seconds": round(time.perf_counter() - started, 3),
    }
