"""The warnings fed by what partners send (parcels, ratings, verifications, the shop's status on
its platform) and by the network (a linked default), on worked examples checked by hand."""

from django.utils import translation

from riskcontrol.monitoring import rules
from riskcontrol.monitoring.rules import Thresholds
from tests.riskcontrol.test_monitoring_rules import STEADY, with_

T = Thresholds()


def test_returned_parcels_warn_from_five_and_ten_percent_of_recent_orders():
    # 140 recent orders: 14 failed parcels are 10 %, the threshold itself counts; 13 are 9 %.
    at = rules.logistics_failures(with_(logistics_failed_recent=14), T)
    assert at is not None and at.kind == "logistics_failures" and "10 %" in at.text
    assert rules.logistics_failures(with_(logistics_failed_recent=13), T) is None
    # Five of 20 orders is 25 %, but four are too few to say anything.
    assert rules.logistics_failures(with_(orders_recent=20, logistics_failed_recent=5), T) is not None
    assert rules.logistics_failures(with_(orders_recent=20, logistics_failed_recent=4), T) is None


def test_poor_ratings_need_a_share_and_a_rise_over_the_baseline():
    # 6 of 20 recent ratings are poor (30 %); the baseline had 10 of 100 (10 %): 3 × the rate.
    facts = with_(ratings_recent=20, low_ratings_recent=6, ratings_baseline=100, low_ratings_baseline=10)
    with translation.override("en"):
        assert rules.poor_ratings(facts, T).text.startswith("30 %")
    # The same 30 % from a shop that always had 20 % poor ratings: 1.5 ×, not a drop.
    usual = with_(ratings_recent=20, low_ratings_recent=6, ratings_baseline=100, low_ratings_baseline=20)
    assert rules.poor_ratings(usual, T) is None
    assert rules.poor_ratings(with_(ratings_recent=20, low_ratings_recent=5, ratings_baseline=0), T) is None


def test_a_failed_check_and_the_platforms_status_warn_with_their_points():
    failed = rules.assess(with_(verifications_failed_recent=1), T)
    assert [s.kind for s in failed.signals] == ["verification_failed"] and failed.score == 25
    suspended = rules.assess(with_(platform_status="suspended"), T)
    assert suspended.level == "orange" and suspended.score == 40
    assert rules.actions_for(suspended.level) == ["cut_unused_line", "watch"]
    closed = rules.assess(with_(platform_status="closed"), T)
    assert closed.level == "red" and closed.score == 60
    assert "demand_repayment" in rules.actions_for(closed.level)
    assert rules.assess(with_(platform_status=""), T).signals == []


def test_a_linked_default_names_how_the_shops_are_linked_never_which_shop():
    signal = rules.linked_default(with_(linked_defaults=2, linked_default_kinds=("phone", "trade")), T)
    assert signal.kind == "linked_default" and signal.severity == "medium"
    assert signal.params == {"count": 2, "kinds": ["phone", "trade"]}
    with translation.override("en"):
        assert signal.text == "2 linked shop(s) defaulted (same phone, trading partner)"
    with translation.override("zh-hans"):
        assert signal.text == "关联店铺违约2家（同一手机号、交易往来）"
    assert rules.assess(with_(linked_defaults=1, linked_default_kinds=("owner",)), T).score == 20
    assert rules.linked_default(STEADY, T) is None
