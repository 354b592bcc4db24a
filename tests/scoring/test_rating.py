"""The 360° rating: the champion's PD moved by the questionnaire, verifications, officers' findings
and adjustment factors in the direction each should move it; grades, lines and rates within the
product's limits and the legal cap; score_all writes one current, ranked score per merchant."""

import copy
import datetime as dt
import math
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from common.business_date import business_date_set, business_date_today
from lending.models import Product
from lending.services import product_annual_cost
from lending.services.products import annual_cost_cap
from merchants.models import Merchant, Verification
from scoring import calculations as calc
from scoring.models import (
    FeatureSnapshot,
    MerchantScore,
    OfficerFinding,
    RatingAdjustment,
    default_grade_terms,
)
from scoring.selectors import policy_get
from scoring.services import merchant_rate, rate_within_cap, scores_refresh_all
from tests.scoring.factories import champion_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)
TERMS = default_grade_terms()


@pytest.fixture
def world(db):
    business_date_set(on=TODAY, allow_backwards=True)
    products()
    return champion_create()


def odds(p: float) -> float:
    return p / (1 - p)


# --- the maths, by hand -------------------------------------------------------------------------


def test_questionnaire_of_100_takes_half_a_unit_of_log_odds_off():
    assert calc.questionnaire_component(100).log_odds == pytest.approx(-0.5)
    assert calc.questionnaire_component(50).log_odds == 0
    assert calc.questionnaire_component(0).log_odds == pytest.approx(0.5)
    assert calc.questionnaire_component(None).log_odds == 0


def test_twenty_officer_points_halve_the_odds_and_add_twenty_points():
    [term] = calc.officer_components([("video_check", 20)], pdo=20)
    combined = calc.combine(model_probability=1 / 51, model_points=600, components=[term], pdo=20)
    assert odds(combined.probability) == pytest.approx(odds(1 / 51) / 2)
    assert combined.points == 620


def test_a_factor_of_two_doubles_the_odds_of_default():
    [term] = calc.adjustment_components([("industry", "服装", Decimal("2"))])
    combined = calc.combine(model_probability=0.1, model_points=550, components=[term], pdo=20)
    assert odds(combined.probability) == pytest.approx(2 * odds(0.1))
    assert combined.points == 530


def test_grade_is_the_best_whose_max_pd_admits_the_probability():
    assert calc.grade_for(0.02, TERMS) == "A"
    assert calc.grade_for(0.0201, TERMS) == "B"
    assert calc.grade_for(0.2, TERMS) == "D"
    assert calc.grade_for(0.21, TERMS) == "E"


def test_line_is_the_grade_multiple_of_sales_rounded_down_to_100_yuan_within_the_range():
    # 0.30 × 1,234,567 fen = 370,370.1 fen -> 370,000 fen (3,700 yuan).
    line = calc.line_for(
        grade="C",
        settled_sales_fen=1_234_567,
        amount_min_fen=100_000,
        amount_max_fen=10**8,
        grade_terms=TERMS,
    )
    assert line == 370_000
    assert (
        calc.line_for(
            grade="C", settled_sales_fen=10**12, amount_min_fen=1, amount_max_fen=5_000_000, grade_terms=TERMS
        )
        == 5_000_000
    )
    assert (
        calc.line_for(
            grade="C",
            settled_sales_fen=100_000,
            amount_min_fen=100_000,
            amount_max_fen=10**8,
            grade_terms=TERMS,
        )
        == 0
    )
    assert (
        calc.line_for(
            grade="E", settled_sales_fen=10**9, amount_min_fen=1, amount_max_fen=10**9, grade_terms=TERMS
        )
        == 0
    )


def test_reasons_merge_puts_a_failed_check_among_the_features_by_points_lost():
    model = [{"feature": "gmv_90d_yuan", "points_lost": 30, "zh": "销售额", "en": "sales", "value": 1.0}]
    terms = calc.verification_components({"business_licence": "failed", "tax": "verified"})
    reasons = calc.reasons_merge(model, terms, pdo=20)
    # A failed licence adds 1.2 log-odds = 1.2 × 20 / ln 2 ≈ 35 points; a passed check costs none.
    assert [r["feature"] for r in reasons] == ["verification_business_licence", "gmv_90d_yuan"]
    assert reasons[0]["points_lost"] == round(1.2 * 20 / math.log(2))


def test_grade_terms_must_rise_and_cover_every_grade():
    assert calc.grade_terms_validate(TERMS)["A"]["max_pd"] == "0.02"
    broken = copy.deepcopy(TERMS)
    broken["C"]["max_pd"] = "0.01"
    with pytest.raises(ValueError, match="grade C"):
        calc.grade_terms_validate(broken)
    with pytest.raises(ValueError, match="each grade"):
        calc.grade_terms_validate({"A": TERMS["A"]})


# --- one merchant -------------------------------------------------------------------------------


def test_a_failed_licence_check_lowers_the_grade(world):
    merchant = rated_merchant()  # 500 + 60 + 40 = 600 points: PD 1/51, grade A
    before = merchant_rate(merchant=merchant, as_of=business_date_today())
    assert (before.points, before.grade) == (600, "A")

    Verification.objects.create(
        merchant=merchant, kind="business_licence", provider="test", result="failed", checked_on=TODAY
    )
    after = merchant_rate(merchant=merchant, as_of=business_date_today())

    assert after.probability > before.probability
    assert after.points < before.points
    assert after.grade == "C"
    assert after.reasons[0]["feature"] == "verification_business_licence"
    assert after.reasons[0]["en"] == "business licence check failed"


def test_a_positive_officer_finding_raises_the_grade(world):
    merchant = rated_merchant(gmv=20_000.0)  # 570 points: PD ≈ 0.053, grade C
    before = merchant_rate(merchant=merchant, as_of=business_date_today())
    assert before.grade == "C"

    OfficerFinding.objects.create(merchant=merchant, kind="video_check", points=20, found_on=TODAY)
    after = merchant_rate(merchant=merchant, as_of=business_date_today())

    assert after.points == before.points + 20
    assert odds(after.probability) == pytest.approx(odds(before.probability) / 2)
    assert after.grade == "B"


def test_a_finding_older_than_a_year_no_longer_counts(world):
    merchant = rated_merchant(gmv=20_000.0)
    OfficerFinding.objects.create(
        merchant=merchant, kind="field_inspection", points=-20, found_on=TODAY - dt.timedelta(days=400)
    )
    assert merchant_rate(merchant=merchant, as_of=business_date_today()).points == 570


def test_an_industry_factor_applies_to_its_category_only(world):
    clothes = rated_merchant()
    RatingAdjustment.objects.create(dimension="industry", key=clothes.category, factor=Decimal("2"))
    other = rated_merchant()
    Merchant.objects.filter(pk=other.pk).update(category="食品")

    adjusted = merchant_rate(merchant=clothes, as_of=business_date_today())
    plain = merchant_rate(merchant=other, as_of=business_date_today())

    assert odds(adjusted.probability) == pytest.approx(2 * odds(plain.probability))
    assert adjusted.grade == "B" and plain.grade == "A"
    names = [t["name"] for t in adjusted.components["terms"]]
    assert "adjustment_industry" in names
    assert "adjustment_industry" not in [t["name"] for t in plain.components["terms"]]


def test_region_and_policy_factors_stack(world):
    merchant = rated_merchant()
    RatingAdjustment.objects.create(dimension="region", key=merchant.region, factor=Decimal("0.5"))
    RatingAdjustment.objects.create(dimension="policy", key="*", factor=Decimal("0.5"))
    score = merchant_rate(merchant=merchant, as_of=business_date_today())
    assert odds(score.probability) == pytest.approx(odds(1 / 51) / 4)
    assert score.points == 640


def test_the_questionnaire_moves_the_score(world):
    good = rated_merchant(questionnaire_score=100.0)
    poor = rated_merchant(questionnaire_score=0.0)
    assert (
        merchant_rate(merchant=good, as_of=business_date_today()).points
        > 600
        > merchant_rate(merchant=poor, as_of=business_date_today()).points
    )


def test_every_score_below_the_best_has_reasons_in_chinese_and_english(world):
    score = merchant_rate(merchant=rated_merchant(gmv=5_000.0, refund=0.2), as_of=business_date_today())
    assert 1 <= len(score.reasons) <= 4
    assert {r["feature"] for r in score.reasons} == {"gmv_90d_yuan", "refund_rate_90d"}
    assert all(r["zh"] and r["en"] and r["points_lost"] > 0 for r in score.reasons)


def test_missing_features_score_in_the_missing_bin(world):
    score = merchant_rate(merchant=rated_merchant(gmv=None, refund=None), as_of=business_date_today())
    assert score.components["model"]["points"] == 500 + 10 + 20
    assert score.line_fen == 0  # no sales known, no line


def test_rating_again_the_same_day_replaces_the_score_and_keeps_one_current(world):
    merchant = rated_merchant()
    first = merchant_rate(merchant=merchant, as_of=business_date_today())
    second = merchant_rate(merchant=merchant, as_of=business_date_today())
    assert first.pk == second.pk
    business_date_set(on=TODAY + dt.timedelta(days=1))
    third = merchant_rate(merchant=merchant, as_of=business_date_today())
    assert third.pk != first.pk
    assert list(MerchantScore.objects.filter(merchant=merchant, is_current=True)) == [third]
    assert MerchantScore.objects.filter(merchant=merchant).count() == 2


def test_the_database_refuses_two_current_scores_for_a_merchant(world):
    merchant = rated_merchant()
    score = merchant_rate(merchant=merchant, as_of=business_date_today())
    with pytest.raises(IntegrityError), transaction.atomic():
        MerchantScore.objects.create(
            merchant=merchant,
            model=score.model,
            as_of=TODAY - dt.timedelta(days=3),
            points=1,
            probability=0.5,
            grade="E",
        )


def test_without_a_champion_rating_uses_the_expert_scorecard(db):
    business_date_set(on=TODAY, allow_backwards=True)
    score = merchant_rate(merchant=rated_merchant(), as_of=business_date_today())
    assert score.model.version == "expert-1"  # tests/scoring/test_expert_scorecard.py


# --- lines and rates within the product and the cap ---------------------------------------------


def test_line_and_rate_of_the_main_product_are_within_its_limits(world):
    score = merchant_rate(merchant=rated_merchant(), as_of=business_date_today())
    product = Product.objects.get(code="credit_loan")
    assert score.product == product
    assert score.line_fen == 3_600_000  # 0.60 × 60,000 yuan
    assert product.amount_min_fen <= score.line_fen <= product.amount_max_fen
    assert score.daily_rate == product.daily_rate  # grade A: no markup


def test_a_markup_beyond_the_legal_cap_is_brought_under_it(world):
    policy = policy_get()
    policy.grade_terms["A"]["rate_markup"] = "0.01"  # 1 % a day: far above 24 % a year
    policy.save()
    score = merchant_rate(merchant=rated_merchant(), as_of=business_date_today())
    product = Product.objects.get(code="credit_loan")
    assert score.daily_rate > product.daily_rate
    trial = copy.copy(product)
    trial.daily_rate = score.daily_rate
    assert product_annual_cost(trial).nominal_apr <= annual_cost_cap()
    trial.daily_rate = score.daily_rate + Decimal("0.00001")
    assert product_annual_cost(trial).nominal_apr > annual_cost_cap()


@pytest.mark.django_db
@settings(max_examples=40, deadline=None)
@given(
    code=st.sampled_from(["order_loan", "credit_loan", "revolving", "fixed_loan"]),
    grade=st.sampled_from(list(calc.GRADES)),
    sales=st.integers(min_value=0, max_value=10**12),
    markup=st.decimals(min_value=0, max_value=Decimal("0.005"), places=5),
)
def test_lines_and_rates_are_always_within_the_product_and_the_cap(code, grade, sales, markup):
    products()
    product = Product.objects.get(code=code)
    terms = copy.deepcopy(TERMS)
    terms[grade]["rate_markup"] = str(markup)
    line = calc.line_for(
        grade=grade,
        settled_sales_fen=sales,
        amount_min_fen=product.amount_min_fen,
        amount_max_fen=product.amount_max_fen,
        grade_terms=terms,
    )
    assert line == 0 or product.amount_min_fen <= line <= product.amount_max_fen
    rate = rate_within_cap(
        product=product,
        daily_rate=calc.rate_for(grade=grade, product_rate=product.daily_rate, grade_terms=terms),
    )
    assert rate >= product.daily_rate
    trial = copy.copy(product)
    trial.daily_rate = rate
    assert product_annual_cost(trial).nominal_apr <= annual_cost_cap()


# --- every merchant -----------------------------------------------------------------------------


def test_score_all_writes_one_current_ranked_score_per_active_merchant(world):
    best = rated_merchant(gmv=80_000.0, refund=0.0)
    middle = rated_merchant(gmv=20_000.0)
    worst = rated_merchant(gmv=1_000.0, refund=0.3)
    closed = rated_merchant()
    Merchant.objects.filter(pk=closed.pk).update(status=Merchant.Status.CLOSED)
    no_features = rated_merchant()
    no_features.feature_snapshot.delete()
    stale = rated_merchant()
    FeatureSnapshot.objects.filter(merchant=stale).update(version="f0")  # an older definition

    summary = scores_refresh_all(chunk_size=2, as_of=business_date_today())

    assert summary["scored"] == 3
    assert summary["without_features"] == 2
    ranks = dict(MerchantScore.objects.filter(is_current=True).values_list("merchant_id", "rank"))
    assert ranks == {best.pk: 1, middle.pk: 2, worst.pk: 3}
    assert sum(summary["grades"].values()) == 3


def test_score_all_again_the_same_day_writes_the_same_rows(world):
    for gmv in (80_000.0, 20_000.0, 1_000.0):
        rated_merchant(gmv=gmv)
    scores_refresh_all(as_of=business_date_today())
    first = list(MerchantScore.objects.order_by("merchant_id").values_list("merchant_id", "points", "rank"))
    scores_refresh_all(as_of=business_date_today())
    again = list(MerchantScore.objects.order_by("merchant_id").values_list("merchant_id", "points", "rank"))
    assert again == first
    business_date_set(on=TODAY + dt.timedelta(days=1))
    scores_refresh_all(as_of=business_date_today())
    assert MerchantScore.objects.count() == 6
    assert MerchantScore.objects.filter(is_current=True).count() == 3
    assert set(MerchantScore.objects.filter(is_current=True).values_list("as_of", flat=True)) == {
        TODAY + dt.timedelta(days=1)
    }


def test_score_all_and_one_rating_agree(world):
    merchant = rated_merchant(gmv=20_000.0, refund=0.1, questionnaire_score=80.0)
    Verification.objects.create(
        merchant=merchant, kind="tax", provider="t", result="verified", checked_on=TODAY
    )
    OfficerFinding.objects.create(merchant=merchant, kind="video_check", points=-5, found_on=TODAY)
    one = merchant_rate(merchant=merchant, as_of=business_date_today())
    fields = (one.points, one.probability, one.grade, one.line_fen, one.daily_rate, one.reasons)
    scores_refresh_all(as_of=business_date_today())
    again = MerchantScore.objects.get(merchant=merchant, is_current=True)
    assert (
        again.points,
        again.probability,
        again.grade,
        again.line_fen,
        again.daily_rate,
        again.reasons,
    ) == fields
