"""A scoring model's page names its features, its held-out column and its source in the
reader's language (Chinese and English); a feature's code at most as a small technical hint."""

import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring.models import ScoringModel

pytestmark = pytest.mark.django_db

REPORT = {
    "target": "target",
    "source": "platform",
    "rows": {"given": 100, "used": 90, "train": 70, "holdout": 20, "default_rate": 0.1},
    "split": {
        "kind": "time",
        "column": "disbursed_on",
        "holdout_from": "2026-10-01",
        "holdout_to": "2026-11-30",
    },
    "metrics": {"auc": 0.8, "ks": 0.5},
    "iv": {"days_since_last_order": 0.3, "gmv_90d_yuan": 0.2},
    "messages": [
        "column 'days_since_last_order' says almost nothing about default (information value 0.01 "
        "< 0.02): not used"
    ],
    "unused_columns": {"days_since_last_order": "is constant"},
}


@pytest.mark.parametrize(
    ("language", "feature", "source", "column"),
    [
        ("zh-hans", "距最近一笔订单的天数", "平台的贷款", "放款日期"),
        ("en", "Days since the last order", "the platform's loans", "disbursement date"),
    ],
)
def test_a_models_page_names_features_column_and_source_in_words(language, feature, source, column):
    chief = get_user_model().objects.create_superuser("chief", "chief@xiaodai.example", "x")
    model = ScoringModel.objects.create(
        version="m-words",
        points_table={},
        report=REPORT,
        source="platform",
        target="target",
        trained_at=timezone.now(),
        trained_by="test",
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(chief)
    page = client.get(reverse("admin:scoring_scoringmodel_change", args=[model.pk])).content.decode()
    text = html.unescape(
        re.sub(r"<small[^>]*>.*?</small>", "", page, flags=re.S)
    )  # the technical hints aside
    report = text[text.index("scoring-report") :]
    assert "days_since_last_order" not in report
    assert "disbursed_on" not in report
    assert "来源 platform" not in report and "source platform" not in report
    assert feature in report
    assert column in report
    assert source in report
    listing = client.get(reverse("admin:scoring_scoringmodel_changelist")).content.decode()
    assert ">platform<" not in listing
