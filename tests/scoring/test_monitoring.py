"""Model monitoring: PSI by hand and by property, drift reports per week against the reference,
an alert logged and emailed once, and predicted versus actual default by grade once a cohort of
loans has matured."""

import datetime as dt
import logging
import math

import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.utils import timezone

import scoring.admin_risk  # noqa: F401 - the workbench's lists (scoring.admin imports it; before the URLconf)
from common.business_date import business_date_set
from lending.models import Loan
from merchants.models import Merchant
from scoring.features import features_as_of
from scoring.models import DriftReport, GradeOutcome, MerchantDay, MerchantDayRun, MerchantScore, ScoringModel
from scoring.monitoring import psi as psi_math
from scoring.monitoring.services import (
    closed_periods,
    drift_reports_build,
    grade_outcomes_build,
    monitoring_run,
    period_end,
    psi_thresholds,
)
from scoring.monitoring.tasks import monitoring_nightly
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory
from tests.scoring.factories import POINTS_TABLE

# --- PSI ---------------------------------------------------------------------------------------


def test_psi_of_a_worked_example():
    # (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5) = 0.17329 + 0.10137 = 0.27465
    assert psi_math.psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.274653, abs=1e-6)


def test_an_empty_bin_counts_as_epsilon():
    # (0.5 − 1)·ln(0.5/1) + (0.5 − 0.0001)·ln(0.5/0.0001)
    expected = 0.5 * math.log(2) + 0.4999 * math.log(5000)
    assert psi_math.psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(expected)
    assert math.isfinite(psi_math.psi([0.0, 1.0], [1.0, 0.0]))


def test_psi_of_identical_distributions_is_about_zero():
    rng = np.random.default_rng(1)
    reference = rng.normal(600, 40, 100_000)
    assert psi_math.drift(reference, reference).psi == pytest.approx(0.0, abs=1e-12)
    assert psi_math.drift(reference, rng.normal(600, 40, 100_000)).psi < 0.01


def test_a_shifted_distribution_is_above_the_alert_threshold():
    rng = np.random.default_rng(2)
    reference = rng.normal(600, 40, 50_000)
    shifted = psi_math.drift(reference, rng.normal(640, 40, 50_000)).psi
    _, alert = psi_thresholds()
    assert shifted > alert
    assert psi_math.status_for(shifted, warning=0.1, alert=0.25) == "alert"


def test_continuous_values_are_cut_at_the_references_deciles_with_a_bin_for_missing():
    reference = np.concatenate([np.arange(1000, dtype=float), [np.nan] * 10])
    bins = psi_math.bins_for(reference)
    assert bins.kind == "numeric" and len(bins.edges) == 9 and bins.size == 11
    shares = bins.shares(reference)
    assert shares[-1] == pytest.approx(10 / 1010)
    assert shares[:-1] == pytest.approx([100 / 1010] * 10)
    # A value equal to a cut point belongs to the bin below it (right-closed bins).
    assert bins.counts([bins.edges[0]])[0] == 1


def test_ties_merge_deciles_and_a_constant_reference_still_has_bins():
    mostly_zero = np.array([0.0] * 800 + list(range(1, 201)), dtype=float)
    bins = psi_math.bins_for(mostly_zero)
    assert bins.edges[0] == 0.0 and len(set(bins.edges)) == len(bins.edges)
    assert bins.shares(mostly_zero)[0] == pytest.approx(0.8)
    constant = psi_math.bins_for(np.full(100, 7.0))
    assert constant.edges == (7.0,)
    assert psi_math.drift_against(constant, constant.shares(np.full(100, 7.0)), np.full(50, 9.0)).psi > 0.25


def test_categories_the_reference_never_saw_go_to_other():
    bins = psi_math.bins_for(["a", "b", "b", None], "categorical")
    assert bins.categories == ("a", "b")
    assert list(bins.counts(["a", "c", "", None, "b"])) == [1, 1, 1, 2]
    assert bins.labels() == ["a", "b", "other", "missing"]


@pytest.mark.parametrize("kind", ["numeric", "categorical"])
def test_bins_kept_in_a_report_rebuild_the_same_bins(kind):
    values = np.arange(100, dtype=float) if kind == "numeric" else ["x", "y", "z", None]
    bins = psi_math.bins_for(values, kind)
    entries = bins.entries(bins.shares(values))
    assert psi_math.Bins.from_entries(entries) == bins
    assert [e["share"] for e in entries] == pytest.approx(list(bins.shares(values)), abs=1e-6)


def test_thresholds_are_settings_with_defaults(settings):
    assert psi_thresholds() == (0.1, 0.25)
    settings.SCORING_PSI_WARNING, settings.SCORING_PSI_ALERT = 0.05, 0.2
    assert psi_thresholds() == (0.05, 0.2)


def test_closed_weeks_and_months():
    weeks = closed_periods("week", first_on=dt.date(2026, 3, 4), last_closed=dt.date(2026, 3, 22), limit=12)
    assert weeks == [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 8)),
        (dt.date(2026, 3, 9), dt.date(2026, 3, 15)),
        (dt.date(2026, 3, 16), dt.date(2026, 3, 22)),
    ]
    months = closed_periods(
        "month", first_on=dt.date(2025, 12, 20), last_closed=dt.date(2026, 2, 28), limit=6
    )
    assert months == [
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ]
    assert period_end("month", dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
    assert closed_periods("week", first_on=dt.date(2026, 1, 5), last_closed=dt.date(2026, 6, 1), limit=2) == [
        (dt.date(2026, 5, 18), dt.date(2026, 5, 24)),
        (dt.date(2026, 5, 25), dt.date(2026, 5, 31)),
    ]


# --- Drift reports -----------------------------------------------------------------------------

WEEK_1, WEEK_2, WEEK_3 = dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 3, 16)
N = 400


def model_create(**overrides) -> ScoringModel:
    values = {
        "version": "m-watch-01",
        "points_table": POINTS_TABLE,
        "report": {"outcome": {"outcome_days": 90, "bad_dpd": 30}},
        "source": "test.csv",
        "target": "bad",
        "trained_at": timezone.now(),
        "trained_by": "test",
        "status": ScoringModel.Status.CHAMPION,
    }
    values.update(overrides)
    return ScoringModel.objects.create(**values)


def trade(merchants, on: dt.date, paid_fen: list[int], refund_share: list[float]) -> None:
    MerchantDayRun.objects.get_or_create(business_on=dt.date(2026, 1, 1), defaults={"is_final": True})
    MerchantDay.objects.bulk_create(
        MerchantDay(
            merchant=m,
            business_on=on,
            paid_count=10,
            paid_fen=p,
            placed_count=10,
            placed_fen=p,
            refund_fen=round(p * r),
            refund_count=1,
        )
        for m, p, r in zip(merchants, paid_fen, refund_share, strict=True)
    )


def rate(model, merchants, on: dt.date, points) -> None:
    MerchantScore.objects.filter(merchant__in=merchants, is_current=True).update(is_current=False)
    MerchantScore.objects.bulk_create(
        MerchantScore(
            merchant=m,
            model=model,
            as_of=on,
            points=int(p) + 5,  # the 360° terms move the final points; monitoring reads the model's
            probability=1 / (1 + math.exp((p - 487.1) / 28.85)),
            grade="C",
            components={"model": {"points": int(p)}},
        )
        for m, p in zip(merchants, points, strict=True)
    )


@pytest.fixture
def watched(db):
    """N merchants rated by the champion in three weeks: the second like the first, the third with
    higher scores and ten times the sales."""
    rng = np.random.default_rng(7)
    merchants = [MerchantFactory() for _ in range(N)]
    model = model_create()
    trade(
        merchants,
        dt.date(2026, 2, 1),
        list(rng.integers(100_000, 10_000_000, N)),
        list(rng.uniform(0, 0.1, N)),
    )
    rate(model, merchants, WEEK_1 + dt.timedelta(days=1), rng.normal(600, 40, N))
    rate(model, merchants, WEEK_2 + dt.timedelta(days=1), rng.normal(600, 40, N))
    trade(merchants, WEEK_3 + dt.timedelta(days=2), list(rng.integers(50_000_000, 90_000_000, N)), [0.01] * N)
    rate(model, merchants, WEEK_3 + dt.timedelta(days=1), rng.normal(660, 40, N))
    return model


@pytest.fixture
def risk_managers(db):
    group = Group.objects.get_or_create(name="risk_manager")[0]
    risk = User.objects.create_user(username="risk", email="risk@xiaodai.test", is_staff=True)
    risk.groups.add(group)
    User.objects.create_user(username="quiet", is_staff=True).groups.add(group)  # no address
    User.objects.create_user(username="officer", email="officer@xiaodai.test", is_staff=True)
    return risk


def reports(**filters) -> dict[tuple, DriftReport]:
    return {(r.period_start, r.subject): r for r in DriftReport.objects.filter(**filters)}


def test_weekly_drift_against_the_first_week_and_one_alert_email(watched, risk_managers, mailoutbox, caplog):
    with caplog.at_level(logging.WARNING, logger="scoring.monitoring.services"):
        summary = monitoring_run(as_of=dt.date(2026, 3, 23))
    found = reports(model=watched, period="week")
    subjects = {"score", "gmv_90d_yuan", "refund_rate_90d"}
    assert {s for _, s in found} == subjects and {d for d, _ in found} == {WEEK_1, WEEK_2, WEEK_3}
    assert not DriftReport.objects.filter(period="month").exists()  # March has not closed
    for subject in subjects:
        assert found[(WEEK_1, subject)].psi == pytest.approx(0, abs=1e-9)  # the reference itself
        assert found[(WEEK_1, subject)].reference_start == WEEK_1
        assert found[(WEEK_1, subject)].reference_end == WEEK_1 + dt.timedelta(days=6)
    assert found[(WEEK_2, "score")].psi < 0.1 and found[(WEEK_2, "score")].status == "ok"
    assert found[(WEEK_2, "gmv_90d_yuan")].psi == pytest.approx(0, abs=1e-9)
    assert found[(WEEK_3, "score")].psi > 0.25 and found[(WEEK_3, "score")].status == "alert"
    assert found[(WEEK_3, "gmv_90d_yuan")].status == "alert"
    expected = found[(WEEK_3, "score")].expected
    assert sum(e["share"] for e in expected) == pytest.approx(1, abs=1e-5)
    assert expected[-1]["bin"] == "missing"
    assert sum(e["count"] for e in expected) == sum(e["count"] for e in found[(WEEK_3, "score")].actual) == N
    # Logged at WARNING and emailed to the risk manager with an address, once.
    assert summary["emails"] == 1
    assert [m.to for m in mailoutbox] == [["risk@xiaodai.test"]]
    assert "score" in mailoutbox[0].body and "gmv_90d_yuan" in mailoutbox[0].body
    assert any(r.levelno == logging.WARNING and "score" in r.getMessage() for r in caplog.records)

    again = monitoring_run(as_of=dt.date(2026, 3, 23))
    later = monitoring_run(as_of=dt.date(2026, 3, 30))
    assert again["drift"]["reports"] == later["drift"]["reports"] == 0
    assert again["emails"] == later["emails"] == 0 and len(mailoutbox) == 1
    assert DriftReport.objects.count() == 9


def test_the_score_monitored_is_the_models_own_points(watched):
    drift_reports_build(as_of=dt.date(2026, 3, 23))
    week_1 = MerchantScore.objects.filter(as_of=WEEK_1 + dt.timedelta(days=1))
    model_points = [s.components["model"]["points"] for s in week_1]
    bins = psi_math.bins_for(np.array(model_points, dtype=float))
    report = DriftReport.objects.get(period="week", period_start=WEEK_1, subject="score")
    assert psi_math.Bins.from_entries(report.expected) == bins


def test_features_are_read_as_of_the_day_after_the_period(watched):
    drift_reports_build(as_of=dt.date(2026, 3, 23))
    ids = list(Merchant.objects.values_list("pk", flat=True))
    reference = features_as_of(ids, WEEK_1 + dt.timedelta(days=7))["gmv_90d_yuan"].to_numpy()
    week_3 = features_as_of(ids, WEEK_3 + dt.timedelta(days=7))["gmv_90d_yuan"].to_numpy()
    expected = psi_math.drift(reference, week_3).psi
    report = DriftReport.objects.get(period="week", period_start=WEEK_3, subject="gmv_90d_yuan")
    assert report.psi == pytest.approx(expected, abs=1e-6)


def test_a_later_run_reuses_the_kept_reference(watched):
    drift_reports_build(as_of=dt.date(2026, 3, 16))  # weeks 1 and 2
    # The first week's ratings are gone: the reference kept in the reports still serves.
    MerchantScore.objects.filter(as_of=WEEK_1 + dt.timedelta(days=1)).delete()
    drift_reports_build(as_of=dt.date(2026, 3, 23))
    week_3 = DriftReport.objects.get(period="week", period_start=WEEK_3, subject="score")
    assert week_3.reference_start == WEEK_1 and week_3.status == "alert"


def test_without_a_champion_nothing_is_written(db):
    assert drift_reports_build(as_of=dt.date(2026, 3, 23))["skipped"] == "no champion model"
    assert not DriftReport.objects.exists()


def test_no_email_address_means_the_alarm_is_only_logged(watched, mailoutbox, caplog):
    with caplog.at_level(logging.WARNING, logger="scoring.monitoring.services"):
        summary = monitoring_run(as_of=dt.date(2026, 3, 23))
    assert summary["emails"] == 0 and mailoutbox == []
    assert any("no risk manager has an email address" in r.getMessage() for r in caplog.records)


def test_the_reference_of_a_platform_model_is_its_training_window(db):
    open_pool()  # business date 2026-03-01
    merchants = [MerchantFactory() for _ in range(30)]
    rng = np.random.default_rng(3)
    trade(merchants, dt.date(2026, 2, 1), list(rng.integers(100_000, 10_000_000, 30)), [0.02] * 30)
    product = ProductFactory()
    for i, merchant in enumerate(merchants):
        draw(CreditLineFactory(merchant=merchant, product=product), 100_000, key=f"d-{i}")
    model = model_create(
        source="platform",
        report={"split": {"kind": "time", "train_from": "2026-03-01", "holdout_from": "2026-03-02"}},
    )
    rate(model, merchants, dt.date(2026, 3, 3), rng.normal(600, 40, 30))
    drift_reports_build(as_of=dt.date(2026, 3, 9))
    report = DriftReport.objects.get(period="week", period_start=WEEK_1, subject="gmv_90d_yuan")
    assert (report.reference_start, report.reference_end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    at_disbursement = features_as_of([m.pk for m in merchants], dt.date(2026, 3, 1))["gmv_90d_yuan"]
    assert psi_math.Bins.from_entries(report.expected) == psi_math.bins_for(at_disbursement.to_numpy())


# --- Predicted versus actual by grade ----------------------------------------------------------


@pytest.fixture
def march_loans(db):
    """Ten loans disbursed on 2026-03-01: five to A-rated merchants (PD 1 %), five to C (PD 8 %)."""
    open_pool()
    model = model_create()
    product = ProductFactory()
    loans = []
    for i in range(10):
        merchant = MerchantFactory()
        grade, probability = ("A", 0.01) if i < 5 else ("C", 0.08)
        MerchantScore.objects.create(
            merchant=merchant,
            model=model,
            as_of=dt.date(2026, 2, 25),
            points=600,
            probability=probability,
            grade=grade,
        )
        loans.append(draw(CreditLineFactory(merchant=merchant, product=product), 100_000, key=f"m-{i}"))
    # The rating after disbursement does not count.
    MerchantScore.objects.filter(merchant=loans[0].merchant).update(is_current=False)
    MerchantScore.objects.create(
        merchant=loans[0].merchant,
        model=model,
        as_of=dt.date(2026, 3, 5),
        points=500,
        probability=0.5,
        grade="E",
    )
    Loan.objects.filter(pk__in=[loans[5].pk, loans[6].pk]).update(max_days_past_due=45)
    Loan.objects.filter(pk=loans[7].pk).update(max_days_past_due=29)
    Loan.objects.filter(pk=loans[0].pk).update(status=Loan.Status.WRITTEN_OFF)
    return model, loans


def outcomes() -> dict[str, GradeOutcome]:
    return {o.grade: o for o in GradeOutcome.objects.filter(cohort_month=dt.date(2026, 3, 1))}


def test_a_cohort_gets_its_actual_rate_only_once_every_loan_is_past_its_window(march_loans):
    model, loans = march_loans
    grade_outcomes_build(as_of=dt.date(2026, 4, 15))
    young = outcomes()
    assert set(young) == {"A", "C"}
    assert young["A"].loans == young["C"].loans == 5
    assert young["A"].predicted_default_rate == pytest.approx(0.01)
    assert young["C"].predicted_default_rate == pytest.approx(0.08)
    assert not young["C"].matured and young["C"].actual_default_rate is None

    grade_outcomes_build(as_of=dt.date(2026, 5, 30))  # 2026-03-01 + 90 days = 05-30: not closed yet
    assert not outcomes()["C"].matured
    grade_outcomes_build(as_of=dt.date(2026, 5, 31))
    grown = outcomes()
    assert grown["C"].matured and grown["C"].actual_default_rate == pytest.approx(
        0.4
    )  # 45 and 45 dpd; 29 is not
    assert grown["A"].matured and grown["A"].actual_default_rate == pytest.approx(0.2)  # the written-off loan
    assert grown["A"].model == model

    # A matured cohort is not computed again.
    Loan.objects.filter(pk=loans[8].pk).update(max_days_past_due=90)
    grade_outcomes_build(as_of=dt.date(2026, 7, 1))
    assert outcomes()["C"].actual_default_rate == pytest.approx(0.4)


def test_the_nightly_task_and_the_command_run_monitoring(march_loans, capsys):
    business_date_set(on=dt.date(2026, 6, 1))
    summary = monitoring_nightly()
    assert summary["as_of"] == "2026-06-01" and summary["outcomes"]["matured"] == 2
    call_command("monitor_models", "--as-of", "2026-06-01")
    out = capsys.readouterr().out
    assert "Outcomes by grade" in out and "Drift of m-watch-01" in out


# --- The workbench -----------------------------------------------------------------------------


def test_the_workbench_lists_drift_outcomes_and_sandbox_runs_read_only(client, watched):
    from scoring.sandbox.services import sandbox_run_create

    monitoring_run(as_of=dt.date(2026, 4, 1))
    GradeOutcome.objects.create(
        model=watched,
        grade="B",
        cohort_month=dt.date(2025, 12, 1),
        loans=40,
        predicted_default_rate=0.04,
        actual_default_rate=0.05,
        matured=True,
    )
    admin = User.objects.create_superuser(username="boss", password="pw-boss-123", email="boss@xiaodai.test")
    sandbox_run_create(created_by=admin, name="all", region="", segment="", policy={}, horizon_days=90)
    client.force_login(admin)
    for model, filters in (
        ("driftreport", "?status__exact=alert&period__exact=week"),
        ("gradeoutcome", "?matured__exact=1"),
        ("sandboxrun", "?status__exact=pending"),
    ):
        listing = client.get(f"/admin/scoring/{model}/{filters}")
        assert listing.status_code == 200, model
        assert client.get(f"/admin/scoring/{model}/add/").status_code == 403
    report = DriftReport.objects.filter(status="alert").first()
    page = client.get(f"/admin/scoring/driftreport/{report.pk}/change/")
    # The bins, the missing values' among them, named in the reader's language (Chinese here)
    assert page.status_code == 200 and "缺失" in page.text
    outcome = GradeOutcome.objects.first()
    assert client.get(f"/admin/scoring/gradeoutcome/{outcome.pk}/change/").status_code == 200


def test_an_alarm_the_mail_server_refused_is_emailed_the_next_night(
    watched, risk_managers, mailoutbox, monkeypatch
):
    from scoring.monitoring import services as monitoring

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(monitoring, "send_mass_mail", refuse)
        first = monitoring_run(as_of=dt.date(2026, 3, 23))
    assert first["emails"] == 0 and mailoutbox == []
    assert DriftReport.objects.exclude(status="ok").filter(notified_at__isnull=True).exists()
    second = monitoring_run(as_of=dt.date(2026, 3, 23))
    assert second["drift"]["reports"] == 0 and second["emails"] == 1 and len(mailoutbox) == 1
    assert not DriftReport.objects.exclude(status="ok").filter(notified_at__isnull=True).exists()
    assert monitoring_run(as_of=dt.date(2026, 3, 23))["emails"] == 0 and len(mailoutbox) == 1
