"""The workbench's score and promotion lists show a scoring model by its name and never read the
model's report, points table or pickled challenger (hundreds of kilobytes a model): the score list
read all three for each of its 100 rows (3 s a page on a year of loans)."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.business_date import business_date_set
from payments import services as payments
from scoring.models import ModelPromotion, ScoringModel
from scoring.services import model_promote
from tests.scoring.factories import candidate_create, champion_create, products, rated_merchant

HEAVY = ("report", "points_table", "challenger")


@pytest.fixture
def scored(db):
    business_date_set(on=dt.date(2026, 3, 2), allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    for gmv in (80_000.0, 40_000.0, 5_000.0):
        rated_merchant(gmv=gmv)
    call_command("score_all", stdout=io.StringIO())
    model_promote(model=candidate_create("m-test-02"), actor="risk", reason="better")
    assert ModelPromotion.objects.exists()


def _model_columns_read(url: str) -> tuple[int, list[str]]:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@xiaodai.test", "pw-boss-123"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    table = ScoringModel._meta.db_table
    read = [
        column
        for column in HEAVY
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and f'"{table}"."{column}"' in q["sql"]
    ]
    return response.status_code, read


@pytest.mark.parametrize(
    "name", ["admin:scoring_merchantscore_changelist", "admin:scoring_modelpromotion_changelist"]
)
def test_lists_read_a_scoring_model_s_name_not_its_report(scored, name):
    status, read = _model_columns_read(reverse(name))
    assert status == 200
    assert read == []


def test_the_score_list_still_shows_and_filters_by_model(scored):
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@xiaodai.test", "pw-boss-123"))
    champion = ScoringModel.objects.get(version="m-test-01")
    page = client.get(reverse("admin:scoring_merchantscore_changelist")).content.decode()
    assert str(champion) in page and "m-test-02" in page  # the filter's choices
    filtered = client.get(
        reverse("admin:scoring_merchantscore_changelist") + f"?model__id__exact={champion.pk}"
    )
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 3
