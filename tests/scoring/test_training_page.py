"""Training a model from a page (/risk/training/): a risk manager starts it, a worker trains it as a
job (common/jobs.py), and the page shows the model when it is done, or the reason it could not."""

import datetime as dt
import random

import pandas as pd
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from common.business_date import business_date_set
from common.models import Job
from scoring.models import ScoringModel
from scoring.tasks import TRAINING_KIND

TODAY = dt.date(2026, 3, 1)


@pytest.fixture
def risk_client(db):
    business_date_set(on=TODAY, allow_backwards=True)
    user = User.objects.create_user(username="risk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="risk_manager")[0])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def eager_tasks():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def platform_frame(loans: int = 600, seed: int = 3) -> pd.DataFrame:
    """Matured loans as the platform's training frame has them: defaults fall with sales."""
    rng = random.Random(seed)
    gmv = [rng.uniform(1_000, 200_000) for _ in range(loans)]
    return pd.DataFrame(
        {
            "loan_id": range(loans),
            "merchant_id": range(loans),
            "product_code": "credit_loan",
            "disbursed_on": [TODAY - dt.timedelta(days=400 - i // 2) for i in range(loans)],
            "target": [1 if rng.random() < max(0.02, 0.35 - g / 400_000) else 0 for g in gmv],
            "gmv_90d_yuan": gmv,
        }
    )


def start(client, **fields):
    data = {"outcome_days": "90", "bad_dpd": "30", "seed": "0", "promote": "on", **fields}
    return client.post(reverse("risk:training"), data)


def test_a_risk_manager_trains_a_model_from_the_page_and_reads_it(
    risk_client, eager_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("scoring.services.registry.training_frame", lambda **kwargs: platform_frame())
    with django_capture_on_commit_callbacks(execute=True):
        response = start(risk_client)
    job = Job.objects.get(kind=TRAINING_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("risk:training-job", args=[job.pk])
    assert job.status == Job.Status.DONE and job.done == job.total == 2, job.error
    model = ScoringModel.objects.get()
    assert job.result["version"] == model.version and model.status == ScoringModel.Status.CHAMPION

    status = risk_client.get(reverse("job-status", args=[job.pk])).json()
    assert status["finished"] and status["result_url"] == reverse("risk:training-result", args=[job.pk])
    fragment = risk_client.get(status["result_url"]).content.decode()
    assert model.version in fragment and 'data-testid="metric-auc"' in fragment
    page = risk_client.get(response["Location"]).content.decode()
    assert model.version in page  # a done job's page shows the result at once


def test_a_platform_without_matured_loans_fails_the_job_with_the_reason(
    risk_client, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start(risk_client)
    job = Job.objects.get(kind=TRAINING_KIND)
    assert job.status == Job.Status.FAILED and "no loan has been disbursed at least 90 days" in job.error
    status = risk_client.get(reverse("job-status", args=[job.pk])).json()
    assert status["status"] == "failed" and "90 days" in status["error"]
    assert not ScoringModel.objects.exists()


def test_bad_input_names_the_field_and_starts_nothing(risk_client):
    for bad in ({"outcome_days": "abc"}, {"bad_dpd": "0"}, {"seed": "-1"}):
        response = start(risk_client, **bad)
        assert response.status_code == 200
        assert response.context["form"].errors.get(next(iter(bad))), bad
    assert not Job.objects.exists()


def test_only_risk_managers_train_and_only_the_starter_sees_the_job(risk_client, db):
    officer = User.objects.create_user(username="officer", password="pw", is_staff=True)
    client = Client()
    client.force_login(officer)
    assert client.get(reverse("risk:training")).status_code == 403
    assert Client().get(reverse("risk:training")).status_code == 302
    job = Job.objects.create(kind=TRAINING_KIND, created_by=officer)
    assert risk_client.get(reverse("risk:training-job", args=[job.pk])).status_code == 404
