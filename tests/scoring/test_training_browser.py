"""Training from a page in a real browser (Debian's Chromium through Playwright, against
pytest-django's live server and an in-process Celery worker): the progress bar follows the job to
done and the model appears without a reload."""

import re

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.auth.models import Group, User

from common.business_date import business_date_set
from common.models import Job
from scoring.models import ScoringModel
from tests.browser_support import BROWSER_MARKS, PASSWORD, expect, log_in
from tests.scoring.test_training_page import TODAY, platform_frame

pytestmark = BROWSER_MARKS


@pytest.fixture
def page(new_page):
    return new_page(locale="zh-CN")


@pytest.fixture
def risk_manager(db):
    business_date_set(on=TODAY, allow_backwards=True)
    user = User.objects.create_user(username="risk", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="risk_manager")[0])
    return user


def test_a_training_s_progress_bar_reaches_done_and_the_model_shows_without_a_reload(
    page, live_server, risk_manager, monkeypatch
):
    from config.celery import app

    monkeypatch.setattr("scoring.services.registry.training_frame", lambda **kwargs: platform_frame())
    log_in(page, live_server, "risk")
    page.goto(f"{live_server.url}/risk/training/")
    expect(page.locator("main h1")).to_contain_text("训练模型")
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=settings.CELERY_QUEUES_ALL
    ):
        page.get_by_test_id("training-form").locator("button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/risk/training/\d+/$"))
        page.evaluate("window.startedHere = true")  # gone if the page reloads
        expect(page.get_by_test_id("training-progress-bar")).to_be_visible()
        result = page.get_by_test_id("training-result")
        expect(result).to_be_visible(timeout=60_000)
    model = ScoringModel.objects.get()
    expect(result).to_contain_text(model.version)
    expect(page.get_by_test_id("training-progress")).to_have_text("100")
    expect(page.get_by_test_id("training-status")).to_have_text("完成")
    assert page.evaluate("window.startedHere") is True
    assert page.evaluate("document.querySelector('[data-job]').dataset.jobState") == "done"
    assert Job.objects.get().status == Job.Status.DONE
