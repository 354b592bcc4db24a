"""Features as of a date, from plain frames: pure pandas, no database.

A feature "as of D" is computed only from data dated before D (days D−365 … D−1 of MerchantDay,
checks dated before D, answers given before D), never from D itself or later: a decision made
during business date D sees exactly what was known when D opened, and a model trained on loans
disbursed on D sees what the decision saw.

Inputs (read by scoring.features.inputs, or built from daily rows by `window_inputs_from_days`):
  totals  one row per merchant: each MerchantDay measure summed over the last 30, 90, 120, 180
          and 365 days ("paid_fen_90d"), days with orders ("active_days_90d"), and the last date
          with an order ("last_order_on", a date or missing);
  weekly  (merchant_id, week, paid_fen): week 0 is days D−7 … D−1, week 25 ends 175 days back;
  static  one row per merchant: opened_on, the latest declared financials, verification counts,
          the questionnaire score, prior loans repaid and written off.
Missing inputs give NaN, never an error: a model or a rule decides what a gap means.
"""

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

from scoring.words import both

# The MerchantDay columns summed over windows (scoring.models.MerchantDay, in that order).
MEASURES: tuple[str, ...] = (
    "placed_count",
    "placed_fen",
    "paid_count",
    "paid_fen",
    "shipped_count",
    "shipped_fen",
    "delivered_count",
    "cancelled_count",
    "disputed_count",
    "settlement_count",
    "settled_fen",
    "settled_order_count",
    "refund_count",
    "refund_fen",
    "complaint_count",
    "complaint_upheld_count",
    "rating_count",
    "rating_star_sum",
    "rating_low_count",
    "wallet_in_fen",
    "wallet_out_fen",
    "loan_in_fen",
    "loan_out_fen",
)
WINDOWS: tuple[int, ...] = (30, 90, 120, 180, 365)
ACTIVE_WINDOWS: tuple[int, ...] = (30, 90, 180)
WEEKS = 26
MIN_WEEKS = 4  # fewer weeks than this say nothing about trend or volatility
# declared / observed sales is capped here: "declared with next to nothing seen on the platform".
DECLARED_RATIO_CAP = 100.0

# Relationship-network features: risk control builds the network (the relationship crawler) and supplies these
# through the SCORING_NETWORK_FEATURES hook (see scoring.features.network); missing until then.
NETWORK_FEATURES: tuple[str, ...] = ("network_degree", "network_bad_share")

# Every feature, with plain words for a decline reason phrased as what lowers the score: English
# msgids, read in both languages through FEATURE_LABELS (zh-Hans, English).
FEATURE_TEXTS = {
    "gmv_30d_yuan": _("low sales over the last 30 days"),
    "gmv_90d_yuan": _("low sales over 90 days"),
    "gmv_180d_yuan": _("low sales over 180 days"),
    "orders_30d": _("few orders over the last 30 days"),
    "orders_90d": _("few orders over 90 days"),
    "orders_180d": _("few orders over 180 days"),
    "avg_order_yuan_90d": _("unusual average order value over 90 days"),
    "refund_rate_90d": _("high refund rate over 90 days"),
    "complaint_rate_90d": _("high rate of upheld complaints over 90 days"),
    "complaints_upheld_180d": _("many upheld complaints over 180 days"),
    "cancel_rate_90d": _("many cancelled orders over 90 days"),
    "dispute_rate_90d": _("many disputed orders over 90 days"),
    "rating_avg_90d": _("low buyer ratings over 90 days"),
    "low_rating_share_90d": _("many poor ratings over 90 days"),
    "rating_count_90d": _("few buyer ratings over 90 days"),
    "settled_share_90d": _("little of the sales settled over 90 days"),
    "gmv_trend_30_90": _("sales in the last 30 days below the 90 days before"),
    "gmv_slope_26w": _("sales trending down over six months"),
    "gmv_weekly_cv_26w": _("weekly sales swinging widely over six months"),
    "active_days_share_90d": _("few trading days over 90 days"),
    "days_since_last_order": _("a long time since the last order"),
    "wallet_net_inflow_30d_yuan": _("little trading money kept in the wallet over 30 days"),
    "wallet_outflow_ratio_30d": _("most of the wallet's takings moved out over 30 days"),
    "shop_age_days": _("shop opened only recently"),
    "debt_ratio": _("high declared liabilities against assets"),
    "declared_margin": _("low declared net profit margin"),
    "declared_vs_observed_sales": _("declared platform sales well above the sales seen on the platform"),
    "verifications_verified": _("few documents verified by third parties"),
    "verifications_failed": _("documents that failed third-party checks"),
    "questionnaire_score": _("low score in the owner's questionnaire"),
    "prior_loans_repaid": _("few loans repaid here before"),
    "prior_loans_written_off": _("earlier loans written off"),
    "network_degree": _("unusual links to other merchants"),
    "network_bad_share": _("many risky merchants among its links"),
}


class _Labels(Mapping):
    """FEATURE_TEXTS as (zh-Hans, English) pairs, read from the catalogues when asked for (not at
    import, before the translations are loaded)."""

    def __getitem__(self, name: str) -> tuple[str, str]:
        return both(FEATURE_TEXTS[name])

    def __iter__(self):
        return iter(FEATURE_TEXTS)

    def __len__(self) -> int:
        return len(FEATURE_TEXTS)


FEATURE_LABELS: Mapping[str, tuple[str, str]] = _Labels()
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_LABELS)

TOTALS_COLUMNS: tuple[str, ...] = (
    *(f"{m}_{days}d" for days in WINDOWS for m in MEASURES),
    *(f"active_days_{days}d" for days in ACTIVE_WINDOWS),
    "last_order_on",
)

STATIC_COLUMNS: tuple[str, ...] = (
    "opened_on",
    "declared_sales_fen",
    "declared_platform_share",
    "declared_assets_fen",
    "declared_liabilities_fen",
    "declared_margin",
    "verifications_verified",
    "verifications_failed",
    "questionnaire_score",
    "prior_loans_repaid",
    "prior_loans_written_off",
)


def _ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is not positive or missing."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _days_between(later: dt.date, earlier) -> np.ndarray:
    """Whole days from each date in `earlier` (dates or missing) to `later`."""
    ordinals = [d.toordinal() if isinstance(d, dt.date) else math.nan for d in earlier]
    return later.toordinal() - np.asarray(ordinals, dtype="float64")


def _weekly_matrix(weekly: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """Weekly GMV as a merchants × WEEKS array of fen (zeros where a merchant sold nothing)."""
    matrix = np.zeros((len(index), WEEKS), dtype="float64")
    if weekly is None or weekly.empty:
        return matrix
    rows = index.get_indexer(weekly["merchant_id"])
    keep = (rows >= 0) & (weekly["week"].to_numpy() >= 0) & (weekly["week"].to_numpy() < WEEKS)
    np.add.at(
        matrix,
        (rows[keep], weekly["week"].to_numpy()[keep].astype(int)),
        weekly["paid_fen"].to_numpy()[keep].astype("float64"),
    )
    return matrix


def _weekly_shape(matrix: np.ndarray, valid_weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per merchant, over its most recent `valid_weeks` weeks: the least-squares slope of weekly
    GMV against time relative to the mean week (0.02 = growing 2 % of a mean week per week), and
    the coefficient of variation (population standard deviation / mean). NaN with fewer than
    MIN_WEEKS weeks or no sales."""
    weeks = np.arange(WEEKS)
    mask = (weeks[None, :] < valid_weeks[:, None]).astype("float64")
    n = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (matrix * mask).sum(axis=1) / n
        spread = np.sqrt((((matrix - mean[:, None]) ** 2) * mask).sum(axis=1) / n)
        cv = spread / mean
        time = -weeks.astype("float64")  # week 0 is the latest: time runs the other way
        time_mean = (time[None, :] * mask).sum(axis=1) / n
        dx = (time[None, :] - time_mean[:, None]) * mask
        slope = (dx * (matrix - mean[:, None])).sum(axis=1) / (dx**2).sum(axis=1)
        slope = slope / mean
    usable = (n >= MIN_WEEKS) & (mean > 0)
    return np.where(usable, slope, np.nan), np.where(usable, cv, np.nan)


def features_compute(
    *,
    totals: pd.DataFrame,
    weekly: pd.DataFrame,
    static: pd.DataFrame,
    as_of: dt.date,
    history_start_on: dt.date | None,
    network: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features of the merchants in `static` (its index: merchant ids) as of `as_of`: one row
    each, FEATURE_NAMES as float columns, NaN where the data says nothing."""
    index = static.index
    numeric = [c for c in TOTALS_COLUMNS if c != "last_order_on"]
    t = totals.reindex(index=index)
    # A merchant with no MerchantDay row in the window did nothing: zeros, not missing.
    values = np.nan_to_num(t.reindex(columns=numeric).to_numpy(dtype="float64", na_value=np.nan), nan=0.0)
    position = {name: k for k, name in enumerate(numeric)}

    def col(measure: str, days: int) -> np.ndarray:
        return values[:, position[f"{measure}_{days}d"]]

    def static_col(name: str) -> np.ndarray:
        return static[name].to_numpy(dtype="float64", na_value=np.nan)

    shop_age = np.maximum(_days_between(as_of, static["opened_on"]), 0)
    coverage = float(max((as_of - history_start_on).days, 0)) if history_start_on else 0.0

    def observable(days: int) -> np.ndarray:
        """Days of a window that could show trading: the shop was open and aggregates exist."""
        return np.minimum(shop_age, min(days, coverage))

    def windowed(series: np.ndarray, days: int) -> np.ndarray:
        return np.where(observable(days) > 0, series, np.nan)

    out: dict[str, np.ndarray] = {}
    for days in (30, 90, 180):
        out[f"gmv_{days}d_yuan"] = windowed(col("paid_fen", days) / 100, days)
        out[f"orders_{days}d"] = windowed(col("placed_count", days), days)
    out["avg_order_yuan_90d"] = _ratio(col("paid_fen", 90), col("paid_count", 90)) / 100
    out["refund_rate_90d"] = _ratio(col("refund_fen", 90), col("paid_fen", 90))
    out["complaint_rate_90d"] = _ratio(col("complaint_upheld_count", 90), col("paid_count", 90))
    out["complaints_upheld_180d"] = windowed(col("complaint_upheld_count", 180), 180)
    out["cancel_rate_90d"] = _ratio(col("cancelled_count", 90), col("placed_count", 90))
    out["dispute_rate_90d"] = _ratio(col("disputed_count", 90), col("shipped_count", 90))
    out["rating_avg_90d"] = _ratio(col("rating_star_sum", 90), col("rating_count", 90))
    out["low_rating_share_90d"] = _ratio(col("rating_low_count", 90), col("rating_count", 90))
    out["rating_count_90d"] = windowed(col("rating_count", 90), 90)
    out["settled_share_90d"] = _ratio(col("settled_fen", 90), col("paid_fen", 90))

    # The last 30 days' daily GMV against the 90 days before them; needs all 120 days observable.
    prior_90 = col("paid_fen", 120) - col("paid_fen", 30)
    trend = _ratio(col("paid_fen", 30) / 30, prior_90 / 90)
    out["gmv_trend_30_90"] = np.where(observable(120) >= 120, trend, np.nan)

    valid_weeks = np.nan_to_num(observable(WEEKS * 7) // 7, nan=0.0).astype(int)
    out["gmv_slope_26w"], out["gmv_weekly_cv_26w"] = _weekly_shape(_weekly_matrix(weekly, index), valid_weeks)

    out["active_days_share_90d"] = _ratio(col("active_days", 90), observable(90))
    last_order = t["last_order_on"] if "last_order_on" in t else [None] * len(index)
    since_last = _days_between(as_of, last_order)
    # No order in the year looked at: as long ago as can be told.
    seen_year = observable(365)
    out["days_since_last_order"] = np.where(
        np.isnan(since_last), np.where(seen_year > 0, seen_year, np.nan), since_last
    )

    trading_in = col("wallet_in_fen", 30) - col("loan_in_fen", 30)
    trading_out = col("wallet_out_fen", 30) - col("loan_out_fen", 30)
    out["wallet_net_inflow_30d_yuan"] = windowed((trading_in - trading_out) / 100, 30)
    out["wallet_outflow_ratio_30d"] = _ratio(trading_out, trading_in)

    out["shop_age_days"] = shop_age
    out["debt_ratio"] = _ratio(static_col("declared_liabilities_fen"), static_col("declared_assets_fen"))
    out["declared_margin"] = static_col("declared_margin")
    declared_platform = static_col("declared_sales_fen") * static_col("declared_platform_share")
    observed_year = _ratio(col("paid_fen", 365) * 365, np.where(seen_year >= 30, seen_year, np.nan))
    ratio = np.minimum(_ratio(declared_platform, observed_year), DECLARED_RATIO_CAP)
    # Declared sales with nothing seen (and at least 30 days to see them in): the cap.
    nothing_seen = (observed_year == 0) & (declared_platform > 0)
    out["declared_vs_observed_sales"] = np.where(nothing_seen, DECLARED_RATIO_CAP, ratio)

    for name in (
        "verifications_verified",
        "verifications_failed",
        "prior_loans_repaid",
        "prior_loans_written_off",
    ):
        out[name] = np.nan_to_num(static_col(name), nan=0.0)
    out["questionnaire_score"] = static_col("questionnaire_score")

    net = network.reindex(index) if network is not None else None
    for name in NETWORK_FEATURES:
        out[name] = (
            net[name].to_numpy(dtype="float64", na_value=np.nan)
            if net is not None and name in net
            else np.full(len(index), np.nan)
        )
    return pd.DataFrame({name: out[name] for name in FEATURE_NAMES}, index=index, dtype="float64")


def window_inputs_from_days(days: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The `totals` and `weekly` inputs from MerchantDay rows (merchant_id, business_on and the
    measures), the same as the SQL readers produce: for analysis and for checking them."""
    frame = days.copy()
    frame["age"] = as_of.toordinal() - frame["business_on"].map(lambda d: d.toordinal())
    frame = frame[(frame["age"] >= 1) & (frame["age"] <= max(WINDOWS))]
    groups = {}
    for days_back in WINDOWS:
        part = frame[frame["age"] <= days_back].groupby("merchant_id")[list(MEASURES)].sum()
        groups.update({f"{m}_{days_back}d": part[m] for m in MEASURES})
    totals = pd.DataFrame(groups)
    active = frame[frame["placed_count"] > 0]
    for days_back in ACTIVE_WINDOWS:
        totals[f"active_days_{days_back}d"] = active[active["age"] <= days_back].groupby("merchant_id").size()
    totals["last_order_on"] = active.groupby("merchant_id")["business_on"].max()
    recent = frame[frame["age"] <= WEEKS * 7].copy()
    recent["week"] = (recent["age"] - 1) // 7
    weekly = recent.groupby(["merchant_id", "week"], as_index=False)["paid_fen"].sum()
    count_columns = [c for c in totals.columns if c != "last_order_on"]
    totals[count_columns] = totals[count_columns].fillna(0).astype("int64")
    return totals, weekly
