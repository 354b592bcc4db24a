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
    chart_clashes,
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
    # Readable: no label, legend entry or axis name over another or cut off by the chart's edge.
    clashes = {name: found for name in CHARTS if (found := chart_clashes(page, name))}
    assert not clashes, clashes
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


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_the_model_report_draws_its_charts_in_the_workbench(new_page, live_server, model, width):
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    page = new_page(viewport={"width": width, "height": 900})
    errors = watch_console(page)
    log_in(page, live_server, "root")
    page.goto(f"{live_server.url}/admin/scoring/scoringmodel/{model.pk}/change/")
    for name in test_report_charts.NAMES:
        assert_drawn(page, name)
        assert_chart_fits(page, name, width)
    screenshot(page, f"model-report-{width}")
    clashes = {name: found for name in test_report_charts.NAMES if (found := chart_clashes(page, name))}
    assert not clashes, clashes
    assert not errors, errors


def _long_portfolio_charts() -> list[dict]:
    """The portfolio's PAR, vintage and roll-rate charts over three years of month ends (a
    portfolio's history as the risk manager reads it after years, longer than the test book's)."""
    import datetime as dt
    from types import SimpleNamespace

    from scoring import portfolio as pf
    from scoring import views_portfolio as views

    first = pf.month_index(dt.date(2023, 1, 1))
    month_ends = [pf.month_of(first + n + 1) - dt.timedelta(days=1) for n in range(36)]
    history = [
        {
            "on": on,
            "bucket": bucket,
            "outstanding_fen": 1_000_000 * (n + 1) // (k + 1),
            "loans": 3,
            "next": nxt,
        }
        for n, on in enumerate(month_ends)
        for k, (bucket, nxt) in enumerate(zip(pf.BUCKETS, (*pf.BUCKETS[1:], pf.WRITTEN_OFF), strict=True))
    ]
    vintages = [{"cohort": first + n, "loans": 10, "mob": mob} for n in range(24) for mob in (None, 3, 5)]
    data = SimpleNamespace(history=history, vintages=vintages, as_of=month_ends[-1])
    return [views._par(data), views._vintages(data), views._roll_rates(data)]


@pytest.mark.parametrize("width", [PHONE_WIDTH, 1280])
def test_the_portfolio_charts_stay_readable_over_years_of_month_ends(new_page, live_server, width):
    """Three years of month ends on the PAR chart's axis, two years of cohorts in the vintage
    chart's legend: on a phone as on a desktop no label lies over another or is cut off."""
    from django.template.loader import render_to_string

    charts = _long_portfolio_charts()
    body = "".join(
        f'<section class="card">{render_to_string("components/chart.html", {"chart": c})}</section>'
        for c in charts
    )
    html = (
        '<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="/static/portal/portal.css">'
        f"{render_to_string('components/chart_scripts.html')}</head>"
        f'<body><main><div class="chart-grid">{body}</div></main></body></html>'
    )
    page = new_page(viewport={"width": width, "height": 800})
    errors = watch_console(page)
    page.goto(f"{live_server.url}/login/")
    page.set_content(html, wait_until="load")
    names = [c["name"] for c in charts]
    for name in names:
        assert_drawn(page, name)
        assert_chart_fits(page, name, width)
    screenshot(page, f"portfolio-long-{width}")
    clashes = {name: found for name in names if (found := chart_clashes(page, name))}
    assert not clashes, clashes
    assert not errors, errors
