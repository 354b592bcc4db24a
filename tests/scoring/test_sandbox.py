"""The sandbox (沙盘推演): hand-checked figures, a stricter policy approves fewer and safer
merchants, a region counts only its merchants, runs keep their progress and resume, a done run
never changes, bad input names the field and writes nothing, and only risk managers see it."""

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ApplicationError, NotFoundError
from lending.calculations import rate_to_ppb
from lending.models import Product
from lending.services import products_create_seed
from merchants.models import PartnerPlatform
from scoring import calculations as calc
from scoring.models import MerchantScore, SandboxRun, ScoringModel, default_grade_terms
from scoring.sandbox import simulate
from scoring.sandbox.services import sandbox_run_create, sandbox_run_execute
from scoring.sandbox.tasks import sandbox_execute
from scoring.services.rating import rate_within_cap
from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory

TERMS = default_grade_terms()
AS_OF = dt.date(2026, 3, 2)
PASSWORD = "correct-horse-battery-staple"


# --- The maths ---------------------------------------------------------------------------------


def one_merchant(**overrides) -> pd.DataFrame:
    row = {
        "merchant_id": 1,
        "position": 1,
        "probability": 0.02,
        "points": 650,
        "grade": "B",
        "line_fen": 10_000_000,  # 100,000 yuan
        "rate_ppb": 50_000,  # 0.05 % a day
        "product_id": 7,
        "settled_sales_fen": 20_000_000,
    }
    row.update(overrides)
    return pd.DataFrame([row], columns=list(simulate.COLUMNS))


def today_policy(**overrides) -> simulate.Policy:
    values = {
        "cutoff_grade": "D",
        "acceptance_rate_target": Decimal("1"),
        "grade_terms": TERMS,
        "stored": True,
    }
    values.update(overrides)
    return simulate.Policy(**values)


def test_worked_example_over_the_models_own_window():
    # Line 100,000 yuan at 0.05 %/day, PD 2 % over 90 days, horizon 90 days, draw 50 %, LGD 80 %,
    # funding 6 % a year. Drawn D = 5,000,000 fen.
    #   interest = 5,000,000 × 0.0005 × 90 × (1 − 0.02 / 2) = 222,750 fen
    #   loss     = 5,000,000 × 0.02 × 0.80               =  80,000 fen
    #   funding  = 5,000,000 × 0.06 × 90 / 365           =  73,972.60… → 73,973 fen
    #   profit   = 222,750 − 80,000 − 73,973             =  68,777 fen
    totals = simulate.play(
        one_merchant(),
        today_policy(),
        quota=1,
        products={7: (10_000, 100_000_000)},
        rates={},
        assumptions=simulate.Assumptions(),
        horizon_days=90,
    )
    figures = simulate.figures(totals, assumptions=simulate.Assumptions(), horizon_days=90, population=1)
    assert figures["approved"] == 1
    assert figures["line_fen"] == 10_000_000
    assert figures["drawn_fen"] == 5_000_000
    assert figures["interest_fen"] == 222_750
    assert figures["loss_fen"] == 80_000
    assert figures["funding_cost_fen"] == 73_973
    assert figures["profit_fen"] == 68_777
    assert figures["default_rate"] == "0.0200"
    assert figures["loss_rate"] == "0.0160"
    assert figures["average_daily_rate"] == "0.00050000"
    assert figures["by_grade"]["B"] == {"approved": 1, "line_fen": 10_000_000}


def test_a_longer_horizon_compounds_the_windows_probability():
    # 180 days is two 90-day windows: PD_H = 1 − 0.98² = 0.0396.
    decided = simulate.decide(
        one_merchant(),
        today_policy(),
        quota=1,
        products={},
        rates={},
        assumptions=simulate.Assumptions(pd_window_days=90),
        horizon_days=180,
    )
    assert decided["pd_horizon"].iloc[0] == pytest.approx(0.0396)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=50))
def test_grades_over_an_array_are_the_ratings_grades(probabilities):
    index = simulate.grade_index(np.array(probabilities), TERMS)
    assert [calc.GRADES[i] for i in index] == [calc.grade_for(p, TERMS) for p in probabilities]


@settings(max_examples=300, deadline=None)
@given(
    sales=st.integers(min_value=0, max_value=10**12),
    multiple=st.decimals(min_value=0, max_value=10, places=4),
    low=st.integers(min_value=1, max_value=10**7),
    extra=st.integers(min_value=0, max_value=10**9),
    grade=st.sampled_from(calc.GRADES),
)
def test_lines_over_an_array_are_the_ratings_lines(sales, multiple, low, extra, grade):
    terms = {g: {"max_pd": "1", "line_multiple": str(multiple), "rate_markup": "0"} for g in calc.GRADES}
    line = simulate.lines_for(
        grade=np.array([calc.GRADES.index(grade)]),
        settled_sales_fen=np.array([sales]),
        amount_min_fen=np.array([low]),
        amount_max_fen=np.array([low + extra]),
        grade_terms=terms,
    )
    expected = calc.line_for(
        grade=grade,
        settled_sales_fen=sales,
        amount_min_fen=low,
        amount_max_fen=low + extra,
        grade_terms=terms,
    )
    assert int(line[0]) == expected


def population(n: int = 1000, seed: int = 3) -> pd.DataFrame:
    """n rated merchants in ranking order, PD rising with the rank."""
    rng = np.random.default_rng(seed)
    probability = np.sort(rng.beta(1.2, 12, n))
    grades = [calc.grade_for(p, TERMS) for p in probability]
    sales = rng.integers(1_000_000, 50_000_000, n)
    lines = [
        calc.line_for(
            grade=g,
            settled_sales_fen=int(s),
            amount_min_fen=10_000,
            amount_max_fen=100_000_000,
            grade_terms=TERMS,
        )
        for g, s in zip(grades, sales, strict=True)
    ]
    return pd.DataFrame(
        {
            "merchant_id": np.arange(1, n + 1),
            "position": np.arange(1, n + 1),
            "probability": probability,
            "points": np.round(600 - 20 * np.log2(probability / (1 - probability) * 50)).astype(int),
            "grade": grades,
            "line_fen": lines,
            "rate_ppb": [50_000 + int(Decimal(TERMS[g]["rate_markup"]) * 10**8) for g in grades],
            "product_id": 7,
            "settled_sales_fen": sales,
        }
    )


def candidate(**overrides) -> simulate.Policy:
    values = {"cutoff_grade": "D", "acceptance_rate_target": Decimal("1"), "grade_terms": TERMS}
    values.update(overrides)
    return simulate.Policy(**values)


def run_figures(frame, policy, horizon=180, quota=None):
    rates = {(7, g): 50_000 + int(Decimal(TERMS[g]["rate_markup"]) * 10**8) for g in calc.GRADES}
    totals = simulate.play(
        frame,
        policy,
        quota=len(frame) if quota is None else quota,
        products={7: (10_000, 100_000_000)},
        rates=rates,
        assumptions=simulate.Assumptions(),
        horizon_days=horizon,
    )
    return simulate.figures(
        totals, assumptions=simulate.Assumptions(), horizon_days=horizon, population=len(frame)
    )


def test_a_stricter_cutoff_approves_fewer_merchants_with_a_lower_expected_default_rate():
    frame = population()
    loose, strict = (
        run_figures(frame, candidate(cutoff_grade="D")),
        run_figures(frame, candidate(cutoff_grade="B")),
    )
    assert 0 < strict["approved"] < loose["approved"]
    assert Decimal(strict["default_rate"]) < Decimal(loose["default_rate"])
    assert strict["by_grade"]["C"]["approved"] == strict["by_grade"]["D"]["approved"] == 0


def test_a_cutoff_in_points_approves_only_merchants_at_or_above_it():
    frame = population()
    decided = simulate.decide(
        frame,
        candidate(cutoff_points=640),
        quota=len(frame),
        products={7: (10_000, 100_000_000)},
        rates={},
        assumptions=simulate.Assumptions(),
        horizon_days=90,
    )
    approved = frame[decided["approved"].to_numpy()]
    assert len(approved) > 0 and (approved["points"] >= 640).all()


def test_candidate_with_todays_terms_reproduces_the_stored_lines():
    frame = population()
    today = run_figures(frame, today_policy())
    again = run_figures(frame, candidate())
    assert again == today


def test_the_acceptance_target_reaches_only_the_top_of_the_ranking():
    frame = population(1000)
    figures = run_figures(frame, candidate(acceptance_rate_target=Decimal("0.1")), quota=100)
    assert 0 < figures["approved"] <= 100


def test_an_odds_factor_above_one_makes_everyone_riskier_and_approves_no_more():
    frame = population()
    kwargs = {
        "quota": len(frame),
        "products": {7: (10_000, 100_000_000)},
        "rates": {},
        "assumptions": simulate.Assumptions(),
        "horizon_days": 90,
    }
    base = simulate.decide(frame, candidate(), **kwargs)
    stressed = simulate.decide(frame, candidate(odds_factor=Decimal("2")), **kwargs)
    assert (stressed["pd_horizon"] > base["pd_horizon"]).all()
    worse = stressed["grade"].map(calc.GRADES.index) >= base["grade"].map(calc.GRADES.index)
    assert worse.all() and (stressed["grade"] != base["grade"]).any()
    assert stressed["approved"].sum() <= base["approved"].sum()
    # Odds × 2 on a PD of 2 %: 0.02 / 0.98 × 2 = 0.040816…, PD' = 0.040816 / 1.040816 = 3.92 %.
    one = simulate.decide(one_merchant(), candidate(odds_factor=Decimal("2")), **{**kwargs, "quota": 1})
    assert one["pd_horizon"].iloc[0] == pytest.approx(0.04 / 1.02, rel=1e-9)


def test_a_higher_price_earns_more_interest_on_the_same_approvals():
    frame = population()
    cheap = run_figures(frame, candidate(daily_rate=Decimal("0.0004")))
    dear = run_figures(frame, candidate(daily_rate=Decimal("0.0006")))
    assert cheap["approved"] == dear["approved"]
    assert dear["interest_fen"] > cheap["interest_fen"]
    assert dear["average_daily_rate"] == "0.00060000"


def test_line_limits_cap_and_floor_the_lines():
    frame = population()
    decided = simulate.decide(
        frame,
        candidate(line_min_fen=2_000_000, line_max_fen=5_000_000),
        quota=len(frame),
        products={7: (10_000, 100_000_000)},
        rates={},
        assumptions=simulate.Assumptions(),
        horizon_days=90,
    )
    lines = decided.loc[decided["approved"], "line_fen"]
    assert len(lines) and lines.between(2_000_000, 5_000_000).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=400))
def test_chunks_add_up_to_the_whole(chunk):
    frame = population(400)
    policy = candidate(cutoff_grade="C", acceptance_rate_target=Decimal("0.5"))
    kwargs = {
        "quota": 200,
        "products": {7: (10_000, 100_000_000)},
        "rates": {(7, g): 60_000 for g in calc.GRADES},
        "assumptions": simulate.Assumptions(),
        "horizon_days": 120,
    }
    whole = simulate.play(frame, policy, **kwargs)
    parts = simulate.Totals()
    for start in range(0, len(frame), chunk):
        part = simulate.play(frame.iloc[start : start + chunk], policy, **kwargs)
        parts = simulate.Totals.from_json(parts.add(part).as_json())
    a = simulate.figures(whole, assumptions=simulate.Assumptions(), horizon_days=120, population=400)
    b = simulate.figures(parts, assumptions=simulate.Assumptions(), horizon_days=120, population=400)
    for key in ("approved", "line_fen", "drawn_fen", "funding_cost_fen", "by_grade"):
        assert a[key] == b[key]
    for key in ("interest_fen", "loss_fen"):
        assert abs(a[key] - b[key]) <= 1  # float sums in another order: within a fen


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"cutoff_grade": "F"}, "cutoff_grade"),
        ({"daily_rate": "-0.0001"}, "daily_rate"),
        ({"daily_rate": "0.000123456"}, "daily_rate"),
        ({"daily_rate": 0.0005}, "daily_rate"),
        ({"acceptance_rate_target": "1.5"}, "acceptance_rate_target"),
        ({"funding_cost_rate": "-0.01"}, "funding_cost_rate"),
        ({"lgd": "abc"}, "lgd"),
        ({"odds_factor": "0"}, "odds_factor"),
        ({"line_min_yuan": "500", "line_max_yuan": "100"}, "line_max_yuan"),
        ({"grade_terms": {"F": {"max_pd": "0.1"}}}, "grade_terms.F"),
        ({"grade_terms": {"B": {"rate_markup": "-0.0001"}}}, "grade_terms.B.rate_markup"),
        ({"grade_terms": {"A": {"max_pd": "0.5"}}}, "grade_terms"),
        ({"cut_off": "B"}, "cut_off"),
    ],
)
def test_policy_inputs_that_cannot_be_used_are_named(given, field):
    today = {"cutoff_grade": "D", "acceptance_rate_target": "0.3", "grade_terms": TERMS}
    with pytest.raises(simulate.InputError) as caught:
        simulate.policy_parse(given, today=today)
    assert field in caught.value.fields


def test_policy_left_blank_is_todays():
    today = {"cutoff_grade": "C", "acceptance_rate_target": "0.250", "grade_terms": TERMS}
    policy, assumptions = simulate.policy_parse({"line_multiple": "0.5", "daily_rate": ""}, today=today)
    assert policy.cutoff_grade == "C" and policy.acceptance_rate_target == Decimal("0.250")
    assert policy.daily_rate is None
    assert {t["line_multiple"] for t in policy.grade_terms.values()} == {"0.5"}
    assert assumptions == simulate.Assumptions()
    again = simulate.policy_from_json(policy.as_json())
    assert again == policy


@pytest.mark.parametrize("days", ["0", "721", "-5", "abc", ""])
def test_horizon_outside_1_to_720_is_named(days):
    with pytest.raises(simulate.InputError) as caught:
        simulate.horizon_parse(days)
    assert "horizon_days" in caught.value.fields


# --- Runs on the database ----------------------------------------------------------------------


def champion() -> ScoringModel:
    return ScoringModel.objects.create(
        version="m-test-01",
        points_table={"format": "xiaodai.points_table/1", "scaling": {"pdo": 20}},
        report={"outcome": {"outcome_days": 90, "bad_dpd": 30}},
        source="platform",
        target="target",
        trained_at=timezone.now(),
        trained_by="test",
        status=ScoringModel.Status.CHAMPION,
    )


def rate_merchants(model, merchants_with_pd, *, as_of=AS_OF):
    """Current scores as the rating writes them (today's grade terms), ranked by PD."""
    products = {p.segment: p for p in Product.objects.filter(is_pledged=False)}
    scores = []
    for merchant, probability, sales in merchants_with_pd:
        product = products[merchant.partner.kind]
        grade = calc.grade_for(probability, TERMS)
        line = calc.line_for(
            grade=grade,
            settled_sales_fen=sales,
            amount_min_fen=product.amount_min_fen,
            amount_max_fen=product.amount_max_fen,
            grade_terms=TERMS,
        )
        line = line if calc.grade_within_cutoff(grade, "D") else 0
        scores.append(
            MerchantScore(
                merchant=merchant,
                model=model,
                product=product,
                as_of=as_of,
                points=round(600 - 20 * math.log2(probability / (1 - probability) * 50)),
                probability=probability,
                grade=grade,
                components={
                    "settled_sales_90d_fen": sales,
                    "model": {"points": 600, "probability": probability},
                },
                line_fen=line,
                daily_rate=rate_within_cap(
                    product=product,
                    daily_rate=calc.rate_for(grade=grade, product_rate=product.daily_rate, grade_terms=TERMS),
                ),
            )
        )
    MerchantScore.objects.bulk_create(scores)
    ordered = sorted(
        MerchantScore.objects.filter(is_current=True), key=lambda s: (s.probability, -s.points, s.merchant_id)
    )
    for position, score in enumerate(ordered, start=1):
        score.rank = position
    MerchantScore.objects.bulk_update(ordered, ["rank"])


@pytest.fixture
def rated(db):
    """60 merchants in 浙江 and 40 in 广东, B2C and B2B, PDs from 0.5 % to 30 %."""
    products_create_seed()
    model = champion()
    b2c = PartnerPlatformFactory(code="taobao", kind=PartnerPlatform.Kind.B2C)
    b2b = PartnerPlatformFactory(code="alibaba", kind=PartnerPlatform.Kind.B2B)
    rows = []
    for i in range(100):
        region = "浙江" if i < 60 else "广东"
        partner = b2b if i % 4 == 0 else b2c
        merchant = MerchantFactory(partner=partner, region=region, category="服装" if i % 2 else "数码")
        probability = 0.005 + 0.295 * ((i * 37) % 100) / 99
        rows.append((merchant, probability, 10_000_000 + 250_000 * i))
    rate_merchants(model, rows)
    return model


def create(user=None, **overrides):
    values = {
        "created_by": user,
        "name": "test run",
        "region": "",
        "segment": "",
        "policy": {},
        "horizon_days": 180,
    }
    values.update(overrides)
    return sandbox_run_create(**values)


def test_a_run_compares_a_stricter_policy_with_todays(rated):
    run = sandbox_run_execute(run_id=create(policy={"cutoff_grade": "B"}).pk)
    assert run.status == SandboxRun.Status.DONE and run.progress == 100
    baseline, strict = run.result["baseline"], run.result["candidate"]
    assert run.result["population"] == 100
    assert 0 < strict["approved"] < baseline["approved"]
    assert Decimal(strict["default_rate"]) < Decimal(baseline["default_rate"])
    assert run.result["difference"]["approved"] == strict["approved"] - baseline["approved"]
    assert run.result["model"] == "m-test-01"
    assert run.baseline["cutoff_grade"] == "D"
    # Today's policy approves the top 30 % of the ranking (the default acceptance target).
    assert baseline["approved"] <= 30


def test_a_candidate_that_changes_nothing_reads_like_todays_policy(rated):
    # The candidate re-rates every merchant (grade, line, rate within the cap) from its PD and
    # sales; with today's terms that must give back the stored ratings, figure for figure.
    run = sandbox_run_execute(run_id=create(policy={}).pk)
    assert run.result["candidate"] == run.result["baseline"]
    assert run.result["candidate"]["approved"] > 0
    assert set(run.result["difference"].values()) <= {0, "0", "0.0000", "0.00"}


def test_a_region_counts_only_its_merchants(rated):
    run = sandbox_run_execute(run_id=create(region="广东", policy={"acceptance_rate_target": "1"}).pk)
    assert run.result["population"] == 40
    everyone = sandbox_run_execute(run_id=create(policy={"acceptance_rate_target": "1"}).pk)
    assert run.result["candidate"]["approved"] < everyone.result["candidate"]["approved"]
    expected = MerchantScore.objects.filter(
        merchant__region="广东", grade__in=["A", "B", "C", "D"], line_fen__gt=0
    ).count()
    assert run.result["candidate"]["approved"] == expected


def test_a_segment_is_a_partner_kind_or_a_category(rated):
    b2b = sandbox_run_execute(run_id=create(segment="b2b").pk)
    assert b2b.result["population"] == 25
    clothes = sandbox_run_execute(run_id=create(segment="服装").pk)
    assert clothes.result["population"] == 50


def test_a_region_with_no_rated_merchant_ends_with_zeros(rated):
    MerchantFactory(region="西藏")
    run = sandbox_run_execute(run_id=create(region="西藏").pk)
    assert run.status == SandboxRun.Status.DONE and run.progress == 100
    assert run.result["population"] == 0
    assert run.result["candidate"]["approved"] == run.result["baseline"]["profit_fen"] == 0
    assert run.result["candidate"]["approval_rate"] == "0.0000"


def test_progress_is_kept_chunk_by_chunk_and_a_resumed_run_ends_like_one_that_never_stopped(rated):
    run = create(policy={"cutoff_grade": "C", "line_multiple": "0.5"})
    once = sandbox_run_execute(run_id=create(policy={"cutoff_grade": "C", "line_multiple": "0.5"}).pk)

    first = sandbox_run_execute(run_id=run.pk, chunk_size=30, stop_after_chunks=1)
    assert first.status == SandboxRun.Status.RUNNING and first.progress == 30
    second = sandbox_run_execute(run_id=run.pk, chunk_size=30, stop_after_chunks=1)
    assert second.progress == 60
    done = sandbox_run_execute(run_id=run.pk, chunk_size=30)
    assert done.status == SandboxRun.Status.DONE and done.progress == 100
    assert done.result["chunks"] == 4
    for side in ("baseline", "candidate"):
        assert done.result[side] == once.result[side]
    assert "partial" not in done.result and "worker" not in done.result


def test_a_rerun_of_a_done_run_changes_nothing(rated):
    run = sandbox_run_execute(run_id=create().pk)
    before = SandboxRun.objects.filter(pk=run.pk).values().get()
    MerchantScore.objects.filter(merchant__region="广东").delete()
    again = sandbox_run_execute(run_id=run.pk)
    assert SandboxRun.objects.filter(pk=run.pk).values().get() == before
    assert again.result == run.result


def test_a_resumed_run_whose_ratings_changed_starts_again(rated):
    run = create()
    sandbox_run_execute(run_id=run.pk, chunk_size=30, stop_after_chunks=1)
    MerchantScore.objects.filter(merchant__region="广东").delete()
    done = sandbox_run_execute(run_id=run.pk, chunk_size=30)
    assert done.result["population"] == 60
    assert done.result["chunks"] == 2


def test_a_failed_run_records_the_error_and_can_run_again(rated, monkeypatch):
    from scoring.sandbox import services

    run = create()
    monkeypatch.setattr(services, "funding_capacity_fen", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sandbox_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == SandboxRun.Status.FAILED and "ZeroDivisionError" in run.error
    monkeypatch.undo()
    assert sandbox_run_execute(run_id=run.pk).status == SandboxRun.Status.DONE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"region": "火星"}, "region"),
        ({"segment": "b2x"}, "segment"),
        ({"policy": {"cutoff_grade": "F"}}, "cutoff_grade"),
        ({"policy": {"daily_rate": "-0.0005"}}, "daily_rate"),
        ({"policy": {"draw_rate": "-0.1"}}, "draw_rate"),
        # 0.07 %/day is 25.55 % a year: above the 24 % cap by lending's own cost calculation.
        ({"policy": {"daily_rate": "0.0007"}}, "daily_rate"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 721}, "horizon_days"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(rated, overrides, field):
    runs = SandboxRun.objects.count()
    with pytest.raises(ApplicationError) as caught:
        create(**overrides)
    assert field in caught.value.extra["fields"]
    assert field in caught.value.message
    assert SandboxRun.objects.count() == runs


def test_a_rate_within_the_cap_is_accepted(rated):
    run = create(policy={"daily_rate": "0.0006"})
    assert run.policy["daily_rate"] == "0.0006"


def test_the_task_executes_the_run_and_skips_a_missing_one(rated):
    run = create()
    assert sandbox_execute(run.pk) == {"run": run.pk, "status": "done", "progress": 100}
    assert sandbox_execute(run.pk)["status"] == "done"
    assert sandbox_execute(987654)["status"] == "missing"
    with pytest.raises(NotFoundError):
        sandbox_run_execute(run_id=987654)


# --- The screen --------------------------------------------------------------------------------


@pytest.fixture
def risk_manager(db):
    user = User.objects.create_user(username="risk", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="risk_manager")[0])
    return user


def form_data(**overrides):
    data = {"name": "浙江 B 级准入", "region": "", "segment": "", "horizon_days": "180", "cutoff_grade": "B"}
    data.update(overrides)
    return data


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    for url in (
        reverse("risk:sandbox"),
        reverse("risk:sandbox-run", args=[1]),
        "/risk/sandbox/1/status.json",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_merchants_and_staff_without_the_permission_get_403(client, rated):
    User.objects.create_user(username="seller", password=PASSWORD)
    User.objects.create_user(username="officer", password=PASSWORD, is_staff=True)
    run = create()
    for username in ("seller", "officer"):
        client.login(username=username, password=PASSWORD)
        assert client.get(reverse("risk:sandbox")).status_code == 403
        assert client.post(reverse("risk:sandbox"), form_data()).status_code == 403
        assert client.get(reverse("risk:sandbox-run", args=[run.pk])).status_code == 403
        assert client.get(reverse("risk:sandbox-run-status", args=[run.pk])).status_code == 403
    assert SandboxRun.objects.count() == 1


def test_staff_with_the_permission_may_use_it(client, rated):
    user = User.objects.create_user(username="analyst", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_sandboxrun"))
    client.login(username="analyst", password=PASSWORD)
    assert client.get(reverse("risk:sandbox")).status_code == 200


@pytest.fixture
def eager_tasks():
    """Celery runs tasks in the caller (what a worker would do, without one)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_a_risk_manager_starts_a_run_on_a_worker_and_reads_the_result(
    client, rated, risk_manager, django_capture_on_commit_callbacks, eager_tasks
):
    client.login(username="risk", password=PASSWORD)
    assert client.get(reverse("risk:sandbox")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("risk:sandbox"), form_data(region="浙江"))
    assert len(callbacks) == 1
    run = SandboxRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("risk:sandbox-run", args=[run.pk])
    assert (run.created_by, run.region, run.policy["cutoff_grade"]) == (risk_manager, "浙江", "B")
    status = client.get(reverse("risk:sandbox-run-status", args=[run.pk])).json()
    assert status["done"] and status["progress"] == 100
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "当前政策" in page.text and "候选政策" in page.text
    assert 'data-testid="row-profit_fen"' in page.text


def test_a_form_with_bad_input_shows_the_field_error_and_starts_nothing(client, rated, risk_manager):
    client.login(username="risk", password=PASSWORD)
    for bad in ({"horizon_days": "0"}, {"daily_rate": "0.0009"}, {"region": "火星"}, {"cutoff_grade": "F"}):
        response = client.post(reverse("risk:sandbox"), form_data(**bad))
        assert response.status_code == 200
        field = next(iter(bad))
        assert response.context["form"].errors.get(field), bad
    assert SandboxRun.objects.count() == 0


def test_an_unknown_run_is_404_not_500(client, risk_manager):
    client.login(username="risk", password=PASSWORD)
    assert client.get(reverse("risk:sandbox-run", args=[424242])).status_code == 404
    assert client.get(reverse("risk:sandbox-run-status", args=[424242])).status_code == 404


def test_the_rate_in_ppb_is_lendings(rated):
    # The stored rates the baseline reads are exact in parts per 10^8.
    score = MerchantScore.objects.exclude(daily_rate=None).first()
    assert rate_to_ppb(score.daily_rate) == int(score.daily_rate * 10**8)
