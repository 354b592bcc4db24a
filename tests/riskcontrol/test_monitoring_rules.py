"""The early-warning rules on worked examples, each checked by hand."""

from decimal import Decimal

import pytest
from django.utils import translation

from riskcontrol.monitoring import rules
from riskcontrol.monitoring.rules import Facts, Thresholds

T = Thresholds()
# A shop trading 1,000 yuan a day for 90 days: 60 baseline days, 14 recent days.
STEADY = Facts(
    sales_recent_fen=14 * 100_000,
    sales_baseline_fen=60 * 100_000,
    orders_recent=140,
    orders_baseline=600,
    refunds_recent=2,
    refunds_baseline=12,
    complaints_recent=0,
    complaints_baseline=3,
    days_since_last_order=0,
    history_days=400,
)


def with_(**changes) -> Facts:
    return Facts(**{**{k: getattr(STEADY, k) for k in STEADY.__dataclass_fields__}, **changes})


def test_a_steady_shop_raises_nothing_and_is_green():
    a = rules.assess(STEADY, T)
    assert a.signals == [] and a.score == 0 and a.level == "green"
    assert rules.actions_for(a.level) == []


def test_fund_diversion_at_the_share_and_not_below_it():
    # 50,000 yuan drawn; 40,000 withdrawn = 80 %: the threshold itself counts.
    at = rules.fund_diversion(with_(drawn_recent_fen=5_000_000, withdrawn_recent_fen=4_000_000), T)
    assert at is not None and at.severity == "medium" and "80 %" in at.text
    assert rules.fund_diversion(with_(drawn_recent_fen=5_000_000, withdrawn_recent_fen=3_999_999), T) is None
    everything = rules.fund_diversion(with_(drawn_recent_fen=5_000_000, withdrawn_recent_fen=5_000_000), T)
    assert everything.severity == "high"
    # Nothing drawn: nothing to divert, however much leaves the wallet.
    assert rules.fund_diversion(with_(drawn_recent_fen=0, withdrawn_recent_fen=9_000_000), T) is None


def test_a_swept_wallet_warns_only_with_a_loan_open_most_days_and_most_of_the_money():
    # Settlements of 7,000 yuan came in over the week; 6,300 (90 %) went out, on 5 of the 7 days.
    swept = with_(
        has_open_loan=True, income_recent_fen=700_000, withdrawn_recent_fen=630_000, withdrawal_days_recent=5
    )
    found = rules.cash_sweep(swept, T)
    assert found is not None and found.kind == "cash_sweep" and found.severity == "medium"
    with translation.override("en"):
        assert "5 of the last 7 days" in found.text and "90 %" in found.text
    assert rules.assess(swept, T).level == "yellow"  # 25 points
    # A shop that takes its money out on its usual day, or keeps a tenth back, or owes nothing.
    assert rules.cash_sweep(with_(**{**swept.__dict__, "withdrawal_days_recent": 4}), T) is None
    assert rules.cash_sweep(with_(**{**swept.__dict__, "withdrawn_recent_fen": 629_999}), T) is None
    assert rules.cash_sweep(with_(**{**swept.__dict__, "has_open_loan": False}), T) is None
    # Nothing came in: no share to judge.
    assert rules.cash_sweep(with_(**{**swept.__dict__, "income_recent_fen": 0}), T) is None


def test_sales_cliff_compares_the_last_14_days_with_the_60_before():
    # Baseline 1,000 yuan/day; recent 499.99 yuan/day (70 orders) is a 50.001 % drop: a cliff.
    cliff = rules.sales_cliff(with_(sales_recent_fen=14 * 49_999, orders_recent=70), T)
    assert cliff is not None and cliff.code == "sales_dropped" and "50 %" in cliff.text
    # Exactly half is not below half: no cliff.
    assert rules.sales_cliff(with_(sales_recent_fen=14 * 50_000, orders_recent=70), T) is None
    # Recent 100 yuan/day: a 90 % drop is a high one.
    assert rules.sales_cliff(with_(sales_recent_fen=14 * 10_000, orders_recent=14), T).severity == "high"


def test_a_cliff_must_be_unlikely_by_chance_in_the_order_count():
    # 600 orders in 60 days: 140 expected in 14; floor 140 − 2.33 × √140 = 112.43.
    assert rules.orders_chance_floor(STEADY, T).quantize(Decimal("0.01")) == Decimal("112.43")
    assert rules.sales_cliff(with_(sales_recent_fen=14 * 40_000, orders_recent=113), T) is None
    assert rules.sales_cliff(with_(sales_recent_fen=14 * 40_000, orders_recent=112), T) is not None
    # A small shop: 57 orders in 60 days, 13.3 expected in 14, floor 4.8. Seven orders and half
    # the sales is an ordinary quiet fortnight; four is a cliff.
    small = {"orders_baseline": 57, "sales_baseline_fen": 60 * 15_000, "sales_recent_fen": 14 * 7_000}
    assert rules.sales_cliff(with_(**small, orders_recent=7), T) is None
    assert rules.sales_cliff(with_(**small, orders_recent=4), T) is not None


def test_a_new_or_tiny_shop_is_not_judged_on_a_cliff():
    assert rules.sales_cliff(with_(sales_recent_fen=0, orders_recent=0, history_days=43), T) is None
    assert rules.sales_cliff(with_(sales_recent_fen=0, orders_recent=0, history_days=44), T) is not None
    # 99 yuan a day on average is below the 100-yuan floor.
    assert (
        rules.sales_cliff(with_(sales_baseline_fen=60 * 9_900, sales_recent_fen=0, orders_recent=0), T)
        is None
    )


def test_refund_spike_needs_double_the_usual_rate_and_ten_percent():
    # Baseline 12/600 = 2 %; recent 15/140 = 10.7 %: above 2 × 2 % and above 10 %.
    spike = rules.refund_spike(with_(refunds_recent=15), T)
    with translation.override("en"):
        assert spike is not None and "15 refunds" in spike.text and "11 %" in spike.text
    # 13/140 = 9.3 %: more than double the usual, but under the 10 % floor.
    assert rules.refund_spike(with_(refunds_recent=13), T) is None
    # A shop that always refunds 12 %: 17/140 = 12.1 % is not double 12 %.
    assert rules.refund_spike(with_(refunds_recent=17, refunds_baseline=72), T) is None


def test_complaint_spike_with_no_history_of_complaints():
    # 8 complaints on 140 orders = 5.7 % ≥ 5 %, and no baseline complaints at all.
    assert rules.complaint_spike(with_(complaints_recent=8, complaints_baseline=0), T) is not None
    # Four complaints are noise (fewer than 5), whatever the rate.
    assert rules.complaint_spike(with_(complaints_recent=4, orders_recent=4), T) is None


def test_a_shop_gone_quiet_for_seven_days():
    assert rules.gone_quiet(with_(days_since_last_order=6), T) is None
    quiet = rules.gone_quiet(with_(days_since_last_order=7), T)
    with translation.override("en"):
        assert quiet is not None and "7 days" in quiet.text
        # No order in the whole 74-day window of an old shop: quiet too.
        assert "74+" in rules.gone_quiet(with_(days_since_last_order=None), T).text
    # A shop opened 3 days ago with no order yet is not quiet.
    assert rules.gone_quiet(with_(days_since_last_order=None, history_days=3), T) is None


def test_a_shop_that_sells_once_a_week_is_quiet_only_after_forty_days():
    # 8 orders in 60 days: the usual gap is ceil(60 / 8) = 8 days; quiet after 5 × 8 = 40
    # (the chance of no order in 40 days at 8 per 60 is e^-5.3 ≈ 0.5 %).
    weekly = with_(orders_baseline=8, orders_recent=0)
    assert rules.quiet_after_days(weekly, T) == 40
    assert rules.gone_quiet(with_(orders_baseline=8, days_since_last_order=39), T) is None
    assert rules.gone_quiet(with_(orders_baseline=8, days_since_last_order=40), T) is not None
    # A busy shop (600 orders): the 7-day floor holds.
    assert rules.quiet_after_days(STEADY, T) == 7


def test_a_cliff_needs_enough_orders_to_tell_it_from_chance():
    # 44 orders in the baseline of a shop selling big tickets: no judgement; 45: a cliff.
    assert rules.sales_cliff(with_(orders_baseline=44, sales_recent_fen=0, orders_recent=0), T) is None
    assert rules.sales_cliff(with_(orders_baseline=45, sales_recent_fen=0, orders_recent=0), T) is not None


def test_a_refunded_pledged_order_warns():
    assert rules.pledge_refunded(with_(pledges_refunded_recent=1), T).code == "pledge_refunded"
    assert rules.pledge_refunded(STEADY, T) is None


def test_score_and_level_worked_example():
    # A cliff to 300 yuan/day (70 % fall): 35 points + trend round(0.70 × 20) = 14, plus 4 days
    # past due × 1.5 = 6: 55 points, orange.
    f = with_(sales_recent_fen=14 * 30_000, orders_recent=42, days_past_due=4)
    found = rules.signals(f, T)
    assert [s.kind for s in found] == ["sales_cliff"]
    assert rules.trend_points(f, T) == 14
    assert rules.score(f, found, T) == 55
    assert rules.level(55, T) == "orange"
    assert rules.actions_for("orange") == ["cut_unused_line", "watch"]


def test_levels_at_their_thresholds():
    assert [rules.level(p, T) for p in (0, 19, 20, 39, 40, 59, 60, 100)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "orange",
        "orange",
        "red",
        "red",
    ]


def test_days_past_due_alone_reach_red_at_forty_days():
    assert rules.assess(with_(days_past_due=13), T).level == "yellow"  # 19.5 → 20
    assert rules.assess(with_(days_past_due=40), T).level == "red"  # 60


def test_a_defaulter_is_red_and_has_its_shop_restricted():
    for f in (with_(days_past_due=90), with_(is_written_off=True)):
        a = rules.assess(f, T)
        assert a.is_defaulter and a.score == 100 and a.level == "red"
        assert rules.actions_for(a.level, defaulter=True) == [
            "freeze_line",
            "demand_repayment",
            "send_to_collections",
            "restrict_shop",
        ]
    assert not rules.assess(with_(days_past_due=89), T).is_defaulter
    assert rules.actions_for("red") == ["freeze_line", "demand_repayment", "send_to_collections"]
    assert rules.actions_for("yellow") == ["watch"]


def test_reasons_name_the_warnings_and_the_days_past_due():
    with translation.override("en"):
        a = rules.assess(with_(days_since_last_order=9, days_past_due=2), T)
        assert [r["code"] for r in a.reasons] == ["no_orders", "past_due"]
        assert a.reasons[1]["text"].startswith("2 days past due")


def test_the_version_changes_with_any_threshold_and_settings_override_it():
    assert T.version.startswith("monitoring-1:") and T.version == Thresholds().version
    changed = rules.thresholds_from({"diversion_share": "0.9", "quiet_days": 10})
    assert changed.diversion_share == Decimal("0.9") and changed.quiet_days == 10
    assert changed.version != T.version
    assert rules.thresholds_from(None) == T


@pytest.mark.parametrize(
    ("used", "minimum", "expected"), [(0, 100_000, 100_000), (3_000_000, 100_000, 3_000_000)]
)
def test_cutting_the_unused_line_keeps_what_is_drawn(used, minimum, expected):
    assert rules.line_cut_to_fen(used_fen=used, product_min_fen=minimum) == expected


def test_a_raise_is_a_fifth_rounded_down_to_the_yuan_within_the_product():
    assert rules.line_raise_to_fen(limit_fen=1_000_050, product_max_fen=10**9) == 1_200_000
    assert rules.line_raise_to_fen(limit_fen=9_000_000, product_max_fen=10_000_000) == 10_000_000
