"""Moving the demo on from the browser (/demo/advance/): staff who see close of business start it,
a worker trades and closes the dates as a job (common/jobs.py), and the page shows where it got."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from common.business_date import business_date_today
from common.models import Job
from demo.tasks import ADVANCE_KIND
from lending.models import CobRun

END = dt.date(2025, 3, 31)
pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_command("seed_demo", "--merchants", "20", "--days", "30", f"--end-date={END}", stdout=StringIO())


@pytest.fixture
def staff_client(db):
    user = User.objects.create_user(username="ops", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_cobrun"))
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


def test_staff_trade_and_close_two_dates_from_the_page(seeded, staff_client, eager_tasks):
    first = business_date_today()
    response = staff_client.post(reverse("demo:advance"), {"days": "2"})
    job = Job.objects.get(kind=ADVANCE_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("demo:advance-job", args=[job.pk])
    assert job.status == Job.Status.DONE and (job.done, job.total) == (2, 2), job.error
    closed = [first.isoformat(), (first + dt.timedelta(days=1)).isoformat()]
    assert job.result["closed"] == closed
    assert business_date_today() == first + dt.timedelta(days=2)
    assert set(CobRun.objects.values_list("business_on", flat=True)) >= {first, first + dt.timedelta(days=1)}
    status = staff_client.get(reverse("job-status", args=[job.pk])).json()
    assert status["percent"] == 100
    fragment = staff_client.get(status["result_url"]).content.decode()
    assert closed[1] in fragment and business_date_today().isoformat() in fragment


def test_bad_input_names_the_field_and_starts_nothing(staff_client):
    for bad in ("0", "abc", "1000", ""):
        response = staff_client.post(reverse("demo:advance"), {"days": bad})
        assert response.status_code == 200 and response.context["form"].errors.get("days"), bad
    assert not Job.objects.exists()


def test_people_who_do_not_see_close_of_business_are_refused(db):
    seller = User.objects.create_user(username="seller", password="pw")
    client = Client()
    client.force_login(seller)
    assert client.get(reverse("demo:advance")).status_code == 403
    assert Client().get(reverse("demo:advance")).status_code == 302
