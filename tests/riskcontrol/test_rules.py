"""Worked examples for every pre-loan rule (riskcontrol/rules.py), checked by hand."""

from decimal import Decimal

from riskcontrol import rules
from riskcontrol.rulesets import DEFAULT_PARAMS
from tests.merchants.factories import national_id

OWNER_OK = {"name": True, "national_id": True, "phone": True, "bank_card": True}


def test_share_is_an_exact_fraction_to_four_places():
    assert rules.share(1, 3) == Decimal("0.3333")
    assert rules.share(2, 3) == Decimal("0.6667")
    assert rules.share(5, 0) == Decimal(0)


def test_national_id_check_character_and_phone_format():
    assert rules.national_id_valid(national_id(7))
    # 11010519491231002X is the standard's own example (check character X).
    assert rules.national_id_valid("11010519491231002x")
    assert not rules.national_id_valid("110105194912310021")
    assert not rules.national_id_valid("1101051949123100")
    assert rules.phone_valid("13800138000")
    assert not rules.phone_valid("2380013800") and not rules.phone_valid("23800138000")


def test_identity_declines_missing_fields_failed_checks_and_unverified_required_kinds():
    ok = rules.identity(owner=OWNER_OK, verifications=[], required_kinds=[], decline_on_failed=["tax"])
    assert ok.outcome == "pass" and ok.codes == ()

    missing = rules.identity(
        owner={**OWNER_OK, "phone": False, "bank_card": False},
        verifications=[],
        required_kinds=[],
        decline_on_failed=[],
    )
    assert missing.outcome == "decline"
    assert missing.codes == ("owner_phone_missing", "owner_bank_card_missing")

    checks = [
        {"kind": "business_licence", "result": "verified"},
        {"kind": "tax", "result": "failed"},
        {"kind": "customs", "result": "failed"},
    ]
    # A failed customs check is not in the decline list: only the tax one declines.
    failed = rules.identity(
        owner=OWNER_OK, verifications=checks, required_kinds=[], decline_on_failed=["tax"]
    )
    assert failed.codes == ("tax_failed",)
    # A pending licence is not a verified one.
    pending = rules.identity(
        owner=OWNER_OK,
        verifications=[{"kind": "business_licence", "result": "pending"}],
        required_kinds=["business_licence"],
        decline_on_failed=[],
    )
    assert pending.outcome == "decline" and pending.codes == ("business_licence_unverified",)
    verified = rules.identity(
        owner=OWNER_OK,
        verifications=checks[:1],
        required_kinds=["business_licence"],
        decline_on_failed=["tax"],
    )
    assert verified.outcome == "pass"


def test_blacklist_hits_match_kind_and_index_and_never_an_empty_key():
    keys = {"national_id": "aaa", "phone": "bbb", "bank_card": ""}
    listed = [("phone", "bbb"), ("national_id", "zzz"), ("bank_card", ""), ("bank_card", "aaa")]
    # The national ID's digest listed as a bank card is not a national-ID hit.
    assert rules.blacklist_hits(keys, listed) == ["phone"]
    assert rules.blacklist_hits(keys, []) == []


def test_velocity_counts_this_application_against_the_limit():
    limits = {"national_id": 3, "phone": 3, "bank_card": 5}
    # Two others + this one = 3: at the limit, allowed.
    assert (
        rules.velocity(counts={"national_id": 2, "phone": 2, "bank_card": 4}, max_per_key=limits).outcome
        == "pass"
    )
    over = rules.velocity(counts={"national_id": 3, "phone": 0, "bank_card": 5}, max_per_key=limits)
    assert over.outcome == "decline" and over.codes == ("bank_card_velocity", "national_id_velocity")


def signals(**kw):
    base = {
        "orders": 100,
        "linked_buyer_orders": 0,
        "repeat_buyer_orders": 0,
        "completed_orders": 80,
        "completed_never_shipped": 0,
        "settled_orders": 60,
        "refunded_soon_after_settlement": 0,
    }
    return rules.OrderSignals(**{**base, **kw})


def test_brushing_worked_examples_with_the_default_thresholds():
    p = DEFAULT_PARAMS  # linked 0.05/0.20; repeat norm 0.05 × 4 / × 10; unshipped 0.02/0.10; refund 0.05/0.20
    assert rules.brushing(signals(), p).outcome == "pass"
    # 70 of 100 orders bought by linked shops: strong, declines on its own.
    ring = rules.brushing(signals(linked_buyer_orders=70, repeat_buyer_orders=70), p)
    assert ring.outcome == "decline" and "linked" in ring.codes
    assert ring.detail["shares"]["linked"] == "0.7000"
    # 6 of 100 linked: moderate, a person looks.
    some = rules.brushing(signals(linked_buyer_orders=6), p)
    assert some.outcome == "refer" and some.codes == ("linked",)
    # Repeat buyers: 19 % is below 4 × 5 % = 20 %; 20 % refers; 50 % (10 × 5 %) is strong alone: refer.
    assert rules.brushing(signals(repeat_buyer_orders=19), p).outcome == "pass"
    assert rules.brushing(signals(repeat_buyer_orders=20), p).outcome == "refer"
    assert rules.brushing(signals(repeat_buyer_orders=50), p).outcome == "refer"
    # Two strong signals decline: half the buyers repeat and 8 of 80 completed orders never shipped.
    two = rules.brushing(signals(repeat_buyer_orders=50, completed_never_shipped=8), p)
    assert two.outcome == "decline" and set(two.codes) == {"repeat", "unshipped"}
    # 3 of 60 settled orders refunded within hours of settling: 5 %, moderate.
    assert rules.brushing(signals(refunded_soon_after_settlement=3), p).outcome == "refer"
    # Too few orders to judge anything.
    few = rules.brushing(signals(orders=19, linked_buyer_orders=19), p)
    assert few.outcome == "pass" and few.codes == ("too_few_orders",)


def test_group_exposure_adds_open_lines_and_the_request():
    ok = rules.group_exposure(
        group_limits_fen=[1_000_000, 2_000_000], requested_fen=2_000_000, group_limit_fen=5_000_000
    )
    assert ok.outcome == "pass" and ok.detail["group_total_fen"] == 5_000_000
    over = rules.group_exposure(
        group_limits_fen=[1_000_000, 2_000_000], requested_fen=2_000_001, group_limit_fen=5_000_000
    )
    assert over.outcome == "decline" and over.codes == ("group_limit",)


def test_policy_status_shop_age_and_days_with_sales():
    base = {
        "status": "active",
        "shop_age_days": 90,
        "days_with_sales": 20,
        "min_shop_age_days": 90,
        "min_days_with_sales": 20,
    }
    assert rules.policy(**base).outcome == "pass"
    assert rules.policy(**{**base, "status": "restricted"}).codes == ("shop_restricted",)
    assert rules.policy(**{**base, "status": "closed", "shop_age_days": 89}).codes == (
        "shop_closed",
        "shop_too_young",
    )
    assert rules.policy(**{**base, "days_with_sales": 19}).codes == ("trading_too_short",)
    # No order on the platform at all: left to the rating.
    assert rules.policy(**{**base, "days_with_sales": None}).outcome == "pass"
