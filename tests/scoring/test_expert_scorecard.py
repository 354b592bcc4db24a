"""The expert scorecard: a book with no loan history rates merchants with a hand-written points
table until a trained model is promoted; better trading earns more points and a lower PD."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.business_date import business_date_set
from scoring import calculations as calc
from scoring.expert import EXPERT_VERSION, FACTORS, expert_model_get_or_create, expert_points_table
from scoring.modeling import PointsTable
from scoring.models import MerchantScore, ScoringModel, default_grade_terms
from scoring.services import merchant_rate, model_promote, scores_refresh_all
from tests.scoring.factories import candidate_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)

STRONG = {
    "shop_age_days": 1_000.0,
    "active_days_share_90d": 0.95,
    "gmv": 120_000.0,
    "gmv_trend_30_90": 1.05,
    "refund": 0.01,
    "complaint_rate_90d": 0.001,
    "dispute_rate_90d": 0.005,
    "rating_avg_90d": 4.85,
    "days_since_last_order": 1.0,
    "prior_loans_written_off": 0.0,
}
WEAK = {
    "shop_age_days": 200.0,
    "active_days_share_90d": 0.4,
    "gmv": 10_000.0,
    "gmv_trend_30_90": 0.7,
    "refund": 0.1,
    "complaint_rate_90d": 0.015,
    "dispute_rate_90d": 0.04,
    "rating_avg_90d": 4.2,
    "days_since_last_order": 10.0,
    "prior_loans_written_off": 0.0,
}


@pytest.fixture
def book(db):
    """A book with products and merchants but no model at all."""
    business_date_set(on=TODAY, allow_backwards=True)
    products()


def test_without_a_trained_model_rating_uses_the_expert_scorecard_and_gives_a_grade(book):
    score = merchant_rate(merchant=rated_merchant(**STRONG), as_of=TODAY)

    assert score.model.version == EXPERT_VERSION
    assert score.grade in calc.GRADES
    assert score.components["model"]["version"] == EXPERT_VERSION
    expert = ScoringModel.objects.get(version=EXPERT_VERSION)
    assert expert.status == ScoringModel.Status.CANDIDATE  # used, never crowned by itself
    assert not ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION).exists()


def test_strong_trading_gets_a_better_grade_than_weak_trading(book):
    strong = merchant_rate(merchant=rated_merchant(**STRONG), as_of=TODAY)
    weak = merchant_rate(merchant=rated_merchant(**WEAK), as_of=TODAY)

    assert strong.points > weak.points
    assert strong.probability < weak.probability
    assert calc.GRADES.index(strong.grade) < calc.GRADES.index(weak.grade)
    assert strong.grade == "A"
    assert strong.line_fen > weak.line_fen


def test_a_shop_with_no_trading_at_all_gets_the_worst_grade_and_reasons(book):
    score = merchant_rate(
        merchant=rated_merchant(gmv=None, refund=None, shop_age_days=20.0, settled_share=0.0), as_of=TODAY
    )
    assert score.grade == "E"
    assert score.line_fen == 0
    assert {r["feature"] for r in score.reasons} & {"shop_age_days", "gmv_90d_yuan", "active_days_share_90d"}


def test_score_all_rates_every_merchant_with_the_expert_scorecard_when_there_is_no_champion(book):
    for values in (STRONG, WEAK):
        rated_merchant(**values)

    summary = scores_refresh_all(as_of=TODAY)

    assert summary["model"] == EXPERT_VERSION
    assert summary["scored"] == 2
    assert set(MerchantScore.objects.values_list("model__version", flat=True)) == {EXPERT_VERSION}


def test_after_a_trained_model_is_promoted_it_rates_and_the_expert_one_does_not(book):
    merchant = rated_merchant(**STRONG)
    assert merchant_rate(merchant=merchant, as_of=TODAY).model.version == EXPERT_VERSION

    trained = candidate_create("m2026-03-01-01")
    model_promote(model=trained, actor="risk", reason="first model trained on our own loans")
    score = merchant_rate(merchant=merchant, as_of=TODAY)

    assert score.model == trained
    assert ScoringModel.objects.get(version=EXPERT_VERSION).status == ScoringModel.Status.CANDIDATE
    assert scores_refresh_all(as_of=TODAY)["model"] == trained.version


def test_the_expert_scorecard_rates_again_only_when_promoted_explicitly(book):
    merchant = rated_merchant(**STRONG)
    model_promote(model=candidate_create("m-1"), actor="risk", reason="trained")
    assert merchant_rate(merchant=merchant, as_of=TODAY).model.version == "m-1"

    model_promote(model=expert_model_get_or_create(), actor="risk", reason="the trained model drifted")

    assert merchant_rate(merchant=merchant, as_of=TODAY).model.version == EXPERT_VERSION
    assert ScoringModel.objects.get(version="m-1").status == ScoringModel.Status.RETIRED


def test_the_expert_row_is_created_once(db):
    first = expert_model_get_or_create()
    second = expert_model_get_or_create()
    assert first.pk == second.pk
    assert ScoringModel.objects.filter(version=EXPERT_VERSION).count() == 1
    stored = PointsTable.from_dict(ScoringModel.objects.get(pk=first.pk).points_table)
    assert stored == expert_points_table()


# --- the table itself -----------------------------------------------------------------------------


@pytest.mark.parametrize("factor", FACTORS, ids=lambda f: f.name)
def test_each_factor_earns_more_for_better_trading_and_never_its_best_when_missing(factor):
    steps = list(factor.points) if factor.higher_is_better else list(reversed(factor.points))
    assert steps == sorted(steps), f"{factor.name} is not monotone"
    assert steps[0] < steps[-1], f"{factor.name} says nothing"
    if factor.name != "prior_loans_written_off":  # a count: 0 when there is none, never missing
        assert factor.missing < max(factor.points)
    assert len(factor.points) == len(factor.splits) + 1
    assert factor.why


def test_points_and_pd_by_hand():
    table = expert_points_table()
    strong = table.score({**STRONG, "gmv_90d_yuan": 120_000.0, "refund_rate_90d": 0.01})
    # 440 + 30 + 20 + 24 + 12 + 20 + 15 + 10 + 15 + 15 + 15 = 616
    assert strong.points == 616
    assert calc.grade_for(strong.probability, default_grade_terms()) == "A"
    weak = table.score({**WEAK, "gmv_90d_yuan": 10_000.0, "refund_rate_90d": 0.1})
    # 440 + 16 + 8 + 8 + 6 + 8 + 4 + 2 + 6 + 8 + 15 = 521 (docs/scoring.md's table)
    assert weak.points == 521
    assert calc.grade_for(weak.probability, default_grade_terms()) == "E"
    nothing = table.score({})
    # 440 + the missing bins: 6 (trend) + 8 (refunds) + 5 + 4 + 4 + 15 (no write-off) = 482
    assert nothing.points == 482
    assert nothing.probability > 0.5
    assert table.points_range == (440, 440 + sum(max(f.points) for f in FACTORS))


def _value(factor, draw_index: int, fraction: float) -> float:
    """A value inside bin `draw_index` of the factor."""
    splits = factor.splits
    low = splits[draw_index - 1] if draw_index > 0 else splits[0] - 1
    high = splits[draw_index] if draw_index < len(splits) else splits[-1] + 1
    return low + (high - low) * fraction * 0.999


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_improving_any_one_factor_never_lowers_points_or_raises_pd(data):
    table = expert_points_table()
    row = {}
    for factor in FACTORS:
        if data.draw(st.booleans()):
            index = data.draw(st.integers(0, len(factor.splits)))
            row[factor.name] = _value(factor, index, data.draw(st.floats(0, 1)))
    factor = data.draw(st.sampled_from(FACTORS))
    before = table.score(row)
    current = row.get(factor.name)
    if current is None:
        return
    step = abs(current) * 0.5 + 0.01
    better = current + step if factor.higher_is_better else max(current - step, 0.0)
    after = table.score({**row, factor.name: better})
    assert after.points >= before.points
    assert after.probability <= before.probability
