"""Charts in a real browser (Debian's Chromium through Playwright, against pytest-django's live
server): the risk manager's portfolio draws every chart, on a phone without sideways scroll, and a
merchant's loan page draws its schedule; no console errors on the way."""

import pytest
from django.contrib.auth.models import Group, User

from common import roles
from tests import test_portal_browser as portal
from tests.browser_support import (
    BROWSER_MARKS,
    NARROW,
    PASSWORD,
    PHONE_WIDTH,
    assert_fits,
    expect,
    log_in,
    screenshot,
    watch_console,
)
from tests.scoring import test_portfolio, test_report_charts

pytestmark = BROWSER_MARKS
book = test_portfolio.book
CHARTS = ("outstanding", "classification", "par", "vintage", "roll-rates", "approval-loss", "funding")


def assert_drawn(page, name: str) -> None:
    chart = page.get_by_test_id(f"chart-{name}")
    expect(chart).to_have_attribute("data-rendered", "1")
    assert chart.locator("svg, canvas").count() >= 1, name


def assert_chart_fits(page, name: str, width: int) -> None:
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
        assert_chart_fits(page, name, width)
    screenshot(page, f"portfolio-{width}")
    # The numbers are there for screen readers too.
    expect(page.locator("figure.chart-figure details table").first).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not errors, errors


def test_a_merchant_sees_the_schedule_chart_of_a_loan(new_page, live_server, book):
    loan = book["l1"]
    merchant = loan.merchant
    merchant.user = User.objects.create_user("seller", password=PASSWORD)
    merchant.save(update_fields=["user"])
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True)
    errors = watch_console(page)
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/loans/{loan.reference}/")
    assert_drawn(page, "schedule")
    # The page's own width is the page's (its agreement hash); the chart keeps within the phone.
    assert_chart_fits(page, "schedule", PHONE_WIDTH)
    screenshot(page, "loan-schedule-375")
    assert not errors, errors


def test_a_merchant_sees_daily_sales_as_a_chart(new_page, live_server):
    portal.merchant_with_recent_orders()
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True)
    errors = watch_console(page)
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/shop/")
    assert_drawn(page, "sales")
    assert_chart_fits(page, "sales", PHONE_WIDTH)
    assert_fits(page)
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
    screenshot(page, "model-report-1280")
    assert not errors, errors
