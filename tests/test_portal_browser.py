"""The merchant portal, the officers' workbench and the API docs in a real browser: Debian's
Chromium driven by Playwright against pytest-django's live server."""

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from common.money import format_yuan
from tests.browser_support import (
    BROWSER_MARKS,
    NARROW,
    PASSWORD,
    assert_fits,
    expect,
    log_in,
    screenshot,
)
from tests.lending.conftest import open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory, OrderFactory
from tests.one_language import han_labels

pytestmark = BROWSER_MARKS


def merchant_with_recent_orders(username: str = "seller"):
    """A merchant login with three orders in the last days and one from before the 30-day window;
    returns the merchant and the 30-day sales figure the portal must show."""
    user = User.objects.create_user(username=username, password=PASSWORD)
    merchant = MerchantFactory(user=user, shop_name="晨光小店 Morning Light")
    now = timezone.now()
    recent = {1: 123_456, 2: 78_900, 5: 5}
    for days_ago, amount_fen in recent.items():
        OrderFactory(merchant=merchant, amount_fen=amount_fen, placed_at=now - dt.timedelta(days=days_ago))
    OrderFactory(merchant=merchant, amount_fen=999_999, placed_at=now - dt.timedelta(days=45))
    return merchant, format_yuan(sum(recent.values()))


def test_merchant_logs_in_and_sees_thirty_day_sales(page, live_server):
    merchant, sales_30d = merchant_with_recent_orders()
    assert sales_30d == "2,023.61"

    log_in(page, live_server, "seller")

    expect(page).to_have_url(f"{live_server.url}/overview/")
    page.goto(f"{live_server.url}/shop/")
    expect(page.locator("main h1")).to_have_text(merchant.shop_name)
    expect(page.get_by_test_id("sales-30d")).to_have_text(sales_30d)


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(page, live_server):
    merchant_with_recent_orders()

    log_in(page, live_server, "seller", password="not-the-password")

    expect(page.locator("main .errorlist")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_test_id("sales-30d")).to_have_count(0)


def test_shop_page_fits_a_phone_screen_without_horizontal_scroll(new_page, live_server):
    _, sales_30d = merchant_with_recent_orders()
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True)

    log_in(page, live_server, "seller")
    expect(page).to_have_url(f"{live_server.url}/overview/")
    page.goto(f"{live_server.url}/shop/")

    expect(page.get_by_test_id("sales-30d")).to_have_text(sales_30d)
    assert_fits(page)


def test_staff_user_logging_in_lands_on_the_workbench(page, live_server):
    User.objects.create_user(username="officer", password=PASSWORD, is_staff=True)

    log_in(page, live_server, "officer")

    expect(page).to_have_url(f"{live_server.url}/admin/")


def test_superuser_sees_the_merchant_in_the_workbench(page, live_server):
    merchant, _ = merchant_with_recent_orders()
    User.objects.create_superuser(username="admin", password=PASSWORD, email="admin@example.com")

    log_in(page, live_server, "admin")
    expect(page).to_have_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/merchants/merchant/")

    expect(page.locator("#result_list")).to_contain_text(merchant.shop_name)


def test_api_docs_load_swagger_ui_from_local_static_files_only(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator("#swagger-ui")).to_have_count(1)
    # Rendered by the bundle with the schema it fetched, so script and schema both loaded.
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("Xiaodai partner API")
    page.wait_for_load_state("networkidle")  # whatever the rendered page fetches late, too
    host = urlsplit(live_server.url).netloc
    network = [url for url in requested if urlsplit(url).scheme in {"http", "https", "ws", "wss"}]
    elsewhere = [url for url in network if urlsplit(url).netloc != host]
    assert not elsewhere
    assert any(
        re.search(r"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle\.js$", url)
        for url in network
    )
    assert any(urlsplit(url).path == "/api/schema/" for url in network)


def merchant_with_a_credit_line(username: str = "seller"):
    """A merchant login with an open credit line and money in the funding pool to draw it."""
    open_pool()
    merchant, _ = merchant_with_recent_orders(username)
    product = ProductFactory(code="phone", credit_loan=True, term=3, daily_rate=Decimal("0.0005"))
    line = CreditLineFactory(
        merchant=merchant, product=product, limit_fen=5_000_000, daily_rate=product.daily_rate
    )
    return merchant, line


def test_the_language_switch_changes_the_portal_to_english_and_is_remembered(new_page, live_server):
    merchant_with_recent_orders()
    page = new_page(locale="zh-CN")
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/wallet/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("main h1")).to_have_text("钱包")
    expect(page.get_by_test_id("lang-zh-hans")).to_have_attribute("aria-pressed", "true")
    # On a desktop screen the menu is laid out in the header without being opened.
    expect(page.locator("header nav").get_by_role("link", name="借款")).to_be_visible()
    expect(page.get_by_test_id("menu")).to_be_hidden()

    page.get_by_test_id("lang-en").click()

    expect(page).to_have_url(f"{live_server.url}/wallet/")  # back where the switch was pressed
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Wallet")
    page.goto(f"{live_server.url}/loans/")  # remembered on the next page
    expect(page.locator("main h1")).to_have_text("Credit lines")
    expect(page.get_by_test_id("lang-en")).to_have_attribute("aria-pressed", "true")

    page.get_by_test_id("lang-zh-hans").click()
    expect(page.locator("main h1")).to_have_text("授信额度")


def test_the_favicon_is_served_from_the_projects_static_files(page, live_server):
    page.goto(f"{live_server.url}/login/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href and href.startswith("/static/")
    assert page.request.get(f"{live_server.url}{href}").ok


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_borrowing_on_a_phone_never_scrolls_sideways(new_page, live_server, locale):
    _, line = merchant_with_a_credit_line()
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True, locale=locale)
    log_in(page, live_server, "seller")
    expect(page).to_have_url(f"{live_server.url}/overview/")

    for path in ("/shop/", "/wallet/", "/loans/", "/credit/", "/applications/"):
        page.goto(f"{live_server.url}{path}")
        # The menu is folded on a phone: the header stays one short row.
        assert page.locator("header.site").bounding_box()["height"] < 120, path
        assert_fits(page)
        screenshot(page, f"portal-{path.strip('/')}-phone-{locale}")
    page.get_by_test_id("menu").click()
    expect(page.locator("header nav a").first).to_be_visible()
    screenshot(page, f"portal-menu-phone-{locale}")

    page.goto(f"{live_server.url}/loans/")
    page.locator(f'[data-testid="line-{line.pk}"] a.button').click()
    page.locator('input[name="amount"]').fill("20000")
    page.locator("main form.stack button[type=submit]").click()
    expect(page.get_by_test_id("contract-text")).to_be_visible()
    expect(page.get_by_test_id("total-cost")).not_to_be_empty()
    assert_fits(page)  # the agreement's SHA-256 wraps
    screenshot(page, f"portal-borrow-phone-{locale}")
    page.get_by_test_id("draw-accept").click()
    expect(page.get_by_test_id("owed-total")).to_have_text("20,000.00")
    assert_fits(page)
    screenshot(page, f"portal-loan-phone-{locale}")


# Latin words a Chinese page may show: the language switch's "English" and the page's own address.
LATIN_WORD = re.compile(r"\b[A-Za-z]{2,}\b")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_before_signing_in_read_in_one_language_on_a_phone(watched_page, live_server, language):
    """The sign-in page, a refused hand-off link and a missing page, as a visitor meets them."""
    watched = watched_page(base_url=live_server.url, viewport=NARROW, language=language)
    page = watched.page
    for path, status in (("/login/", 200), ("/enter/not-a-token/", 400), ("/404/", 404)):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == status, path
        # The browser logs the page's own error status as a console error: that one is expected.
        own = f"{page.url}: Failed to load resource: the server responded with a status of {status}"
        watched.errors[:] = [error for error in watched.errors if not error.startswith(own)]
        text = page.locator("body").inner_text()
        if language == "en":
            assert not han_labels(page.content()), (path, han_labels(page.content()))
        else:
            assert set(LATIN_WORD.findall(text)) <= {"English", "not", "token"}, (path, text)
        watched.check()
        watched.screenshot(f"visitor-{path.strip('/').replace('/', '-')}-{language}")
    # A refusal is a sentence, whichever language: it starts with a capital.
    page.goto(f"{live_server.url}/enter/not-a-token/")
    expect(page.get_by_test_id("refused")).to_have_text(re.compile(r"^[^a-z]"))
