"""A rating's words in both languages. A scorecard's labels and a score's reasons are stored with
both languages side by side (a model is trained once and read by merchants and staff in either);
they are written once, in English, as msgids, and their Chinese comes from the catalogue. A page
shows the one of the reader's language."""

from django.utils.translation import get_language, override, pgettext_lazy


def both(text, **params) -> tuple[str, str]:
    """A lazy msgid (its named placeholders filled from `params`) as (zh-Hans, English), read from
    the catalogues."""
    pair = []
    for language in ("zh-hans", "en"):
        with override(language):
            pair.append(str(text) % params if params else str(text))
    return pair[0], pair[1]


def active(zh: str, en: str) -> str:
    """The one of the two in the active language (the other when that one is empty)."""
    if (get_language() or "zh-hans").startswith("zh"):
        return zh or en
    return en or zh


# Every scoring feature's name in the reader's language (scoring.features.FEATURE_NAMES), for the
# pages that list features: a score's reasons, a model's report, a drift report. The code stays
# the column's and the model's; a reader sees the name.
FEATURE_TITLES = {
    "gmv_30d_yuan": pgettext_lazy("feature", "Sales over 30 days (yuan)"),
    "gmv_90d_yuan": pgettext_lazy("feature", "Sales over 90 days (yuan)"),
    "gmv_180d_yuan": pgettext_lazy("feature", "Sales over 180 days (yuan)"),
    "orders_30d": pgettext_lazy("feature", "Orders over 30 days"),
    "orders_90d": pgettext_lazy("feature", "Orders over 90 days"),
    "orders_180d": pgettext_lazy("feature", "Orders over 180 days"),
    "avg_order_yuan_90d": pgettext_lazy("feature", "Average order value over 90 days (yuan)"),
    "refund_rate_90d": pgettext_lazy("feature", "Refund rate over 90 days"),
    "complaint_rate_90d": pgettext_lazy("feature", "Upheld complaint rate over 90 days"),
    "complaints_upheld_180d": pgettext_lazy("feature", "Upheld complaints over 180 days"),
    "cancel_rate_90d": pgettext_lazy("feature", "Cancellation rate over 90 days"),
    "dispute_rate_90d": pgettext_lazy("feature", "Dispute rate over 90 days"),
    "rating_avg_90d": pgettext_lazy("feature", "Average buyer rating over 90 days"),
    "low_rating_share_90d": pgettext_lazy("feature", "Share of poor ratings over 90 days"),
    "rating_count_90d": pgettext_lazy("feature", "Buyer ratings over 90 days"),
    "settled_share_90d": pgettext_lazy("feature", "Share of sales settled over 90 days"),
    "gmv_trend_30_90": pgettext_lazy("feature", "Sales of the last 30 days against the 90 days before"),
    "gmv_slope_26w": pgettext_lazy("feature", "Sales trend over 26 weeks"),
    "gmv_weekly_cv_26w": pgettext_lazy("feature", "Swing of weekly sales over 26 weeks"),
    "active_days_share_90d": pgettext_lazy("feature", "Share of trading days over 90 days"),
    "days_since_last_order": pgettext_lazy("feature", "Days since the last order"),
    "wallet_net_inflow_30d_yuan": pgettext_lazy("feature", "Net wallet inflow over 30 days (yuan)"),
    "wallet_outflow_ratio_30d": pgettext_lazy("feature", "Wallet outflow against takings over 30 days"),
    "shop_age_days": pgettext_lazy("feature", "Shop age (days)"),
    "debt_ratio": pgettext_lazy("feature", "Declared debt ratio"),
    "declared_margin": pgettext_lazy("feature", "Declared net profit margin"),
    "declared_vs_observed_sales": pgettext_lazy(
        "feature", "Declared sales against sales seen on the platform"
    ),
    "verifications_verified": pgettext_lazy("feature", "Documents verified by third parties"),
    "verifications_failed": pgettext_lazy("feature", "Documents failing third-party checks"),
    "questionnaire_score": pgettext_lazy("feature", "Owner's questionnaire score"),
    "prior_loans_repaid": pgettext_lazy("feature", "Loans repaid here before"),
    "prior_loans_written_off": pgettext_lazy("feature", "Earlier loans written off"),
    "network_degree": pgettext_lazy("feature", "Links to other merchants"),
    "network_bad_share": pgettext_lazy("feature", "Share of risky merchants among its links"),
}


# The other columns a model's report names: the one the platform's rows are held out by.
COLUMN_TITLES = {
    "disbursed_on": pgettext_lazy("feature", "disbursement date"),
}

# Where a model's training rows came from: the platform's own loans (a CSV by its file's name).
SOURCE_TITLES = {
    "platform": pgettext_lazy("model source", "the platform's loans"),
}


def source_title(source: str) -> str:
    """A model's source in the reader's language; a CSV's file name as written."""
    title = SOURCE_TITLES.get(source)
    return source if title is None else str(title)


# What a drift report watches besides the features: the score itself.
SCORE_TITLE = pgettext_lazy("feature", "Score")


# The 360° terms a rating adds to the scorecard's features (scoring.calculations: "questionnaire",
# "verification_<kind>", "officer_<kind>", "adjustment_<dimension>"), named by their kind.
TERM_TITLES = {
    "questionnaire": pgettext_lazy("feature", "Owner's questionnaire"),
    "verification_": pgettext_lazy("feature", "Third-party verification"),
    "officer_": pgettext_lazy("feature", "Officer's finding"),
    "adjustment_": pgettext_lazy("feature", "Adjustment"),
}


def feature_title(name: str) -> str:
    """A feature's or a 360° term's name in the reader's language; a column the tables do not
    know, as written."""
    title = FEATURE_TITLES.get(name) or COLUMN_TITLES.get(name)
    if title is None:
        title = next((words for start, words in TERM_TITLES.items() if name.startswith(start)), None)
    return name if title is None else str(title)
