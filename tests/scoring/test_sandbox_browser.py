"""The sandbox screen in a real browser (Debian's Chromium through Playwright, against
pytest-django's live server): a risk manager starts a run, watches its progress, then reads today's
policy and the candidate side by side."""

import re

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from scoring.models import SandboxRun
from scoring.sandbox.services import sandbox_run_execute
from tests.browser_support import BROWSER_MARKS, PASSWORD, expect, log_in
from tests.scoring import test_sandbox

pytestmark = BROWSER_MARKS
# The sandbox tests' rated merchants and risk manager.
rated, risk_manager = test_sandbox.rated, test_sandbox.risk_manager


@pytest.fixture
def page(new_page):
    """A browser that asks for Chinese first, as the platform's users do."""
    return new_page(locale="zh-CN")


def start_run(page, live_server, **fields) -> SandboxRun:
    log_in(page, live_server, "risk")
    page.goto(f"{live_server.url}/risk/sandbox/")
    expect(page.locator("main h1")).to_contain_text("沙盘推演")
    form = page.get_by_test_id("sandbox-form")
    form.locator('input[name="name"]').fill(fields.get("name", "浙江 B 级准入"))
    form.locator('select[name="region"]').select_option(fields.get("region", "浙江"))
    form.locator('select[name="cutoff_grade"]').select_option(fields.get("cutoff_grade", "B"))
    form.locator('input[name="horizon_days"]').fill(fields.get("horizon_days", "180"))
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/risk/sandbox/\d+/$"))
    page.evaluate("window.startedHere = true")  # gone if the page reloads
    return SandboxRun.objects.get()


def test_a_risk_manager_runs_the_sandbox_on_a_worker_and_reads_the_comparison(
    page, live_server, rated, risk_manager
):
    from config.celery import app

    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=settings.CELERY_QUEUES_ALL
    ):
        run = start_run(page, live_server)
        expect(page.get_by_test_id("run-progress-bar")).to_be_visible()
        result = page.get_by_test_id("run-result")
        expect(result).to_be_visible(timeout=30_000)
    run.refresh_from_db()
    assert run.status == SandboxRun.Status.DONE and run.region == "浙江"
    expect(page.get_by_test_id("run-progress")).to_have_text("100")
    approved = page.get_by_test_id("row-approved").locator("td")
    expect(approved.nth(0)).to_have_text(str(run.result["baseline"]["approved"]))
    expect(approved.nth(1)).to_have_text(str(run.result["candidate"]["approved"]))
    expect(result).to_contain_text("当前政策")
    expect(result).to_contain_text("预计利润")
    # The result arrived without a reload: the page that started the run is still the same page.
    assert page.evaluate("window.startedHere") is True
    assert page.evaluate("document.querySelector('[data-job]').dataset.jobState") == "done"


def test_the_run_page_shows_progress_as_chunks_finish_then_the_table(page, live_server, rated, risk_manager):
    run = start_run(page, live_server, region="", cutoff_grade="C")
    # No worker here: the test plays the worker's part, one chunk of 30 merchants at a time.
    expect(page.get_by_test_id("run-progress")).to_have_text("0")
    expect(page.get_by_test_id("run-result")).to_have_count(0)

    sandbox_run_execute(run_id=run.pk, chunk_size=30, stop_after_chunks=1)
    expect(page.get_by_test_id("run-progress")).to_have_text("30", timeout=10_000)
    expect(page.get_by_test_id("run-status")).to_contain_text("运行中")

    sandbox_run_execute(run_id=run.pk, chunk_size=30, stop_after_chunks=2)
    expect(page.get_by_test_id("run-progress")).to_have_text("90", timeout=10_000)

    sandbox_run_execute(run_id=run.pk, chunk_size=30)
    expect(page.get_by_test_id("run-result")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("run-status")).to_contain_text("完成")
    run.refresh_from_db()
    profit = run.result["candidate"]["profit_fen"]
    assert run.result["population"] == 100
    expect(page.get_by_test_id("row-profit_fen").locator("td").nth(1)).not_to_be_empty()
    assert isinstance(profit, int)


def test_a_loan_officer_is_refused_without_a_server_error(page, live_server, db):
    from django.contrib.auth.models import User

    User.objects.create_user(username="officer", password=PASSWORD, is_staff=True)
    log_in(page, live_server, "officer")
    response = page.goto(f"{live_server.url}/risk/sandbox/")
    assert response.status == 403
