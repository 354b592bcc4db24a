"""The model report's charts: the curves training stores, worked by hand, and the workbench page
drawing ROC, KS, calibration, score distribution, PSI over time and predicted versus actual by grade."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring.modeling.metrics import curves, evaluate
from scoring.models import DriftReport, GradeOutcome, ScoringModel
from scoring.report_charts import model_report_charts

NAMES = ["roc", "ks", "calibration", "distribution", "psi", "grade-outcomes"]


def test_curves_worked_by_hand():
    # Riskiest first: 0.9 default, 0.8 repaid, 0.3 default, 0.1 repaid.
    got = curves([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1])
    assert got["roc"] == {"fpr": [0.0, 0.0, 0.5, 0.5, 1.0], "tpr": [0.0, 0.5, 0.5, 1.0, 1.0]}
    assert got["ks"]["population"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    gaps = [b - g for b, g in zip(got["ks"]["bad"], got["ks"]["good"], strict=True)]
    assert max(gaps) == 0.5 == evaluate([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1])["ks"]
    dist = got["distribution"]
    assert len(dist["edges"]) == 21 and dist["edges"][-1] == 0.9
    assert sum(dist["bad"]) == 2 and dist["bad"][-1] == 1 and dist["bad"][6] == 1  # 0.3 in 0.270–0.315
    assert sum(dist["good"]) == 2
    assert curves([0, 0], [0.1, 0.2]) is None


def test_curves_are_thinned_to_about_a_hundred_points():
    y = [i % 7 == 0 for i in range(5000)]
    p = [(i % 100) / 100 for i in range(5000)]
    got = curves(y, p)
    assert len(got["roc"]["fpr"]) <= 102 and got["roc"]["fpr"][-1] == 1.0 and got["roc"]["tpr"][-1] == 1.0


@pytest.fixture
def model(db):
    y, p = [1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.3, 0.1, 0.05, 0.2]
    metrics = evaluate(y, p)
    model = ScoringModel.objects.create(
        version="m-charts",
        points_table={},
        report={"metrics": {"auc": metrics["auc"], "ks": metrics["ks"]}, **metrics},
        source="platform",
        target="bad",
        trained_at=timezone.now(),
        trained_by="test",
    )
    for week, psi in ((dt.date(2026, 3, 2), 0.02), (dt.date(2026, 3, 9), 0.12)):
        DriftReport.objects.create(
            model=model,
            period="week",
            period_start=week,
            subject="score",
            psi=psi,
            status="ok" if psi < 0.1 else "warning",
            reference_start=dt.date(2026, 1, 1),
            reference_end=dt.date(2026, 2, 1),
        )
    for month, grade, loans, predicted, actual in (
        (dt.date(2026, 1, 1), "A", 30, 0.02, 0.0),
        (dt.date(2026, 2, 1), "A", 10, 0.06, 0.1),
        (dt.date(2026, 2, 1), "C", 20, 0.10, None),
    ):
        GradeOutcome.objects.create(
            model=model,
            grade=grade,
            cohort_month=month,
            loans=loans,
            predicted_default_rate=predicted,
            actual_default_rate=actual,
            matured=actual is not None,
        )
    return model


def test_predicted_versus_actual_by_grade_weighs_cohorts_by_loans(model):
    charts = {c["name"]: c for c in model_report_charts(model)}
    assert list(charts) == NAMES
    # A: predicted (30 × 2 % + 10 × 6 %) / 40 = 3 %; actual (30 × 0 + 10 × 10 %) / 40 = 2.5 %.
    assert charts["grade-outcomes"]["rows"] == [
        ["A", "40", "3.00", "40", "2.50"],
        ["C", "20", "10.00", "0", ""],
    ]
    assert [r[2] for r in charts["psi"]["rows"]] == ["0.0200", "0.1200"]
    assert charts["roc"]["caption"] == "AUC 0.8750"


def test_the_workbench_page_draws_the_six_charts(model):
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    html = client.get(reverse("admin:scoring_scoringmodel_change", args=[model.pk])).content.decode()
    for name in NAMES:
        assert f'data-testid="chart-{name}"' in html and f'id="chart-data-{name}"' in html
    assert "vendor/echarts/echarts.min.js" in html


def test_a_model_trained_before_the_curves_were_stored_shows_those_charts_empty(db):
    old = ScoringModel.objects.create(
        version="m-old",
        points_table={},
        report={},
        source="x",
        target="bad",
        trained_at=timezone.now(),
        trained_by="t",
    )
    charts = {c["name"]: c for c in model_report_charts(old)}
    assert all(chart["empty"] for chart in charts.values())
