"""Charts in a real browser (Debian's Chromium through Playwright, against pytest-django's live
server): the risk manager's portfolio draws every chart, on a phone without sideways scroll, and a
merchant's loan page draws its schedule; no console errors on the way."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from common import roles
from tests import test_portal_browser as portal
from tests.scoring import test_portfolio, test_report_charts

pytestmark = portal.pytestmark
browser, page, new_page = portal.browser, portal.page, portal.new_page
fast_password_hashing = portal.fast_password_hashing
book = test_portfolio.book
log_in, PASSWORD, PHONE_WIDTH = portal.log_in, portal.PASSWORD, portal.PHONE_WIDTH

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_sync.expect

# For reviewers, not committed (var/ is ignored).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHARTS = ("outstanding", "classification", "par", "vintage", "roll-rates", "approval-loss", "funding")


def watch_console(page) -> list[str]:
    """Console errors and uncaught exceptions; the browser's own favicon request is not the page's."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error" and not (message.location or {}).get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def assert_drawn(page, name: str) -> None:
    chart = page.get_by_test_id(f"chart-{name}")
    expect(chart).to_have_attribute("data-rendered", "1")
    assert chart.locator("svg, canvas").count() >= 1, name


def assert_fits(page, name: str, width: int) -> None:
    box = page.get_by_test_id(f"chart-{name}").locator("xpath=ancestor::figure").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)


@pytest.fixture
def risk_login(db):
    user = User.objects.create_user("risk", password=PASSWORD, is_staff=True)
    # get_or_create: a transactional test's flush takes the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=roles.RISK_MANAGER)[0])
    return user


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_a_risk_manager_sees_every_portfolio_chart_drawn(new_page, live_server, book, risk_login, width):
    page = new_page(viewport={"width": width, "height": 800})
    errors = watch_console(page)
    log_in(page, live_server, "risk")
    page.goto(f"{live_server.url}/risk/portfolio/")
    for name in CHARTS:
        assert_drawn(page, name)
        assert_fits(page, name, width)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"portfolio-{width}.png"), full_page=True)
    # The numbers are there for screen readers too.
    expect(page.locator("figure.chart-figure details table").first).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not errors, errors


def test_a_merchant_sees_the_schedule_chart_of_a_loan(new_page, live_server, book):
    loan = book["l1"]
    merchant = loan.merchant
    merchant.user = User.objects.create_user("seller", password=PASSWORD)
    merchant.save(update_fields=["user"])
    page = new_page(viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True, has_touch=True)
    errors = watch_console(page)
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/loans/{loan.reference}/")
    assert_drawn(page, "schedule")
    # The page's own width is the page's (its agreement hash); the chart keeps within the phone.
    assert_fits(page, "schedule", PHONE_WIDTH)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "loan-schedule-375.png"), full_page=True)
    assert not errors, errors


def test_a_merchant_sees_daily_sales_as_a_chart(new_page, live_server):
    portal.merchant_with_recent_orders()
    page = new_page(viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True, has_touch=True)
    errors = watch_console(page)
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/shop/")
    assert_drawn(page, "sales")
    assert_fits(page, "sales", PHONE_WIDTH)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert not errors, errors


model = test_report_charts.model


def test_the_model_report_draws_its_charts_in_the_workbench(new_page, live_server, model):
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    page = new_page(viewport={"width": 1280, "height": 900})
    errors = watch_console(page)
    log_in(page, live_server, "root")
    page.goto(f"{live_server.url}/admin/scoring/scoringmodel/{model.pk}/change/")
    for name in test_report_charts.NAMES:
        assert_drawn(page, name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "model-report-1280.png"), full_page=True)
    assert not errors, errors
