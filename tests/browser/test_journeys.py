"""The journeys issue 13 must hold, in Debian's Chromium against pytest-django's live server: a
merchant logs in, reads its home page, applies for a credit loan, repays part of it early and
downloads its statement, in Chinese and in English, on a 390 × 844 phone and a 1280 × 800
desktop; a risk manager opens the portfolio and a chart draws with data; an officer opens a
merchant's credit file. On every page: no console error, no uncaught exception, and on a phone no
sideways scroll. Screenshots of the main pages go to var/screenshots/ (not committed)."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.urls import NoReverseMatch, reverse

from common.roles import LOAN_OFFICER, RISK_MANAGER, roles_sync
from lending.models import Loan, LoanEvent
from tests.browser_support import BROWSER_MARKS, DESKTOP, NARROW, PASSWORD, PHONE, expect, log_in
from tests.lending.test_apply_browser import seller_with_an_offer_and_orders
from tests.one_language import HAN

pytestmark = BROWSER_MARKS

LANGUAGES = {"zh-hans": "lang-zh-hans", "en": "lang-en"}
HOME_PARTS = [
    "home-lines",
    "home-offer",
    "home-wallet",
    "home-next-deduction",
    "home-applications",
    "home-warnings",
]
VIEWPORTS = {"phone-390": PHONE, "desktop-1280": DESKTOP}


def _switch_language(watched, language: str) -> None:
    """Chinese by default; English by the header's button, remembered for the next pages."""
    page = watched.page
    if language != "zh-hans":
        page.get_by_test_id(LANGUAGES[language]).click()
        page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}", re.IGNORECASE))


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_merchant_applies_repays_early_and_downloads_its_statement(
    watched_page, live_server, language, viewport
):
    merchant, _wallet, _orders = seller_with_an_offer_and_orders()
    # A merchant's phone in China asks for Chinese (Accept-Language: zh-CN).
    watched = watched_page(base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="zh-CN")
    page = watched.page

    log_in(watched.page, live_server, "seller")
    expect(page).to_have_url(f"{live_server.url}/overview/")
    _switch_language(watched, language)
    watched.check()

    # Home: lines, the offer, the wallet, next deductions, applications and warnings on one page.
    watched.screenshot(f"home-{language}")
    # Amounts as ¥1,234.50: the wallet's figure carries its currency sign.
    wallet = page.locator(".value", has=page.get_by_test_id("home-wallet"))
    expect(wallet).to_have_text(re.compile(r"^¥[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2}$"))
    # The next deduction appears once there is a loan (below).
    home_missing = [
        part for part in HOME_PARTS if part != "home-next-deduction" and not page.get_by_test_id(part).count()
    ]

    # Apply for a credit loan and accept its agreement.
    page.goto(f"{live_server.url}/apply/?product=credit_loan")
    page.get_by_test_id("amount").fill("2000.00")
    expect(page.get_by_test_id("terms-amount")).to_have_text("2,000.00")
    watched.check()
    page.get_by_test_id("accept").check()
    page.get_by_test_id("submit").click()
    expect(page).to_have_url(re.compile(r"/applications/A[0-9-]+/$"))
    expect(page.get_by_test_id("loan-link")).to_be_visible()
    watched.check()
    page.locator("#loan-anchor").click()
    expect(page).to_have_url(re.compile(r"/loans/[^/]+/$"))
    loan = Loan.objects.get(merchant=merchant)
    watched.screenshot(f"loan-{language}")
    watched.check()

    # Repay 500.00 early from the wallet.
    repay = page.locator('form[action$="/repay/"]')
    repay.locator('input[name="amount"]').fill("500.00")
    repay.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/loans/{loan.reference}/")
    watched.check()
    repaid = LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.REPAID)
    assert sum(e.principal_fen + e.interest_fen + e.fee_fen + e.penalty_fen for e in repaid) == 50_000

    assert not home_missing, f"the home page lacks {home_missing}"
    # Home now names the loan's next deduction: "¥X on date Y".
    page.goto(f"{live_server.url}/overview/")
    deduction = page.get_by_test_id("home-next-deduction")
    expect(deduction).to_have_count(1)
    expect(deduction).to_contain_text(loan.reference)
    expect(deduction).to_contain_text(re.compile(r"¥[0-9,]+\.[0-9]{2}"))
    watched.check()
    page.goto(f"{live_server.url}/loans/{loan.reference}/")

    # The agreement and the statement download, as PDF and CSV.
    for test_id, starts in (("agreement-pdf", b"%PDF"), ("statement-pdf", b"%PDF"), ("statement-csv", b"")):
        with page.expect_download() as download:
            page.get_by_test_id(test_id).click()
        body = Path(download.value.path()).read_bytes()
        assert body.startswith(starts) and len(body) > 100, test_id
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert loan.reference in csv_text or "500.00" in csv_text
    watched.check()


def _user(username: str, group: str) -> User:
    roles_sync()  # the roles' groups, gone with a transactional test's flush
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _portfolio_url() -> str | None:
    try:
        return reverse("risk:portfolio")
    except NoReverseMatch:
        return None


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_a_risk_manager_opens_the_portfolio_and_a_chart_draws_with_data(watched_page, live_server, viewport):
    from tests.conftest import skip_unless_demo
    from tests.page_catalogue import demo_world_build

    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    _user("risk-manager", RISK_MANAGER)
    watched = watched_page(base_url=live_server.url, viewport=VIEWPORTS[viewport], language="zh-hans")
    page = watched.page

    log_in(watched.page, live_server, "risk-manager")
    page.goto(live_server.url + reverse("risk:portfolio"))
    # The products and the funding pool by their Chinese names on a Chinese page (the seed's
    # names are English msgids), in the charts' tables as in their legends and axes.
    for name in ("outstanding", "funding"):
        table = page.locator("figure.chart-figure", has=page.get_by_test_id(f"chart-{name}"))
        heads = table.locator("tbody th").all_text_contents()  # in a closed <details>
        assert heads and all(HAN.search(head) for head in heads), (name, heads)
    charts = page.locator("div.chart[data-testid^='chart-']")
    expect(charts.first).to_be_attached()
    drawn = page.locator("div.chart[data-testid^='chart-'][data-rendered='1']")
    expect(drawn.first).to_be_visible(timeout=15_000)
    # Drawn with data: the chart library left a canvas or an SVG with something in it.
    assert drawn.first.locator("canvas, svg").count() > 0
    watched.screenshot("portfolio")
    watched.check()


def _credit_file_url(merchant_id: int) -> str | None:
    """The officer's credit file of a merchant: whichever URL name says so."""
    from django.urls import get_resolver

    from tests.page_catalogue import _walk

    for namespace, name, _route, _pattern in _walk(get_resolver().url_patterns):
        if re.search(r"credit[-_]?file", name):
            full = f"{namespace}:{name}".strip(":")
            try:
                return reverse(full, args=[merchant_id])
            except NoReverseMatch:
                continue
    return None


def test_an_officer_opens_a_merchant_s_credit_file(watched_page, live_server):
    """On a 375 px phone and a desktop, in Chinese and in English: the credit file's dates,
    amounts and loan references each stay on one line (Watched.check), the page never scrolls
    sideways."""
    from tests.conftest import skip_unless_demo
    from tests.page_catalogue import demo_world_build

    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    _user("officer-on-duty", LOAN_OFFICER)
    from merchants.models import Merchant

    merchant = Merchant.objects.filter(user__username="seller").get()
    url = _credit_file_url(merchant.pk)
    assert url is not None, "no URL named like credit-file"
    for language in sorted(LANGUAGES):
        for viewport in (NARROW, DESKTOP):
            watched = watched_page(base_url=live_server.url, viewport=viewport, language=language)
            log_in(watched.page, live_server, "officer-on-duty")
            response = watched.page.goto(live_server.url + url)
            assert response.status == 200
            expect(watched.page.get_by_test_id("credit-file")).to_be_visible()
            # Its loans' table holds dates and references to keep whole.
            expect(watched.page.get_by_test_id("credit-file-loans")).to_contain_text(
                re.compile(r"\d{4}-\d\d-\d\d")
            )
            watched.screenshot(f"credit-file-{language}")
            watched.check()
            watched.page.context.close()
