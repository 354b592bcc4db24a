"""A merchant in Debian's Chromium on a 390 × 844 phone (Playwright against pytest-django's live
server): logs in, lands on its home page (lines, offer card, wallet, next deduction, applications,
warnings), follows its loan's next deduction to the loan, downloads the statement as CSV and PDF
and the agreement as PDF, and opens the monthly statements; no page scrolls sideways."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from common.money import format_yuan
from lending.models import Loan
from payments import services as payments
from tests.browser_support import BROWSER_MARKS, PASSWORD, PHONE, assert_fits, expect, log_in, screenshot
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

pytestmark = BROWSER_MARKS


def merchant_with_a_loan() -> Loan:
    open_pool()
    merchant = MerchantFactory(shop_name="晨光小店")
    merchant.user = User.objects.create_user(username="seller", password=PASSWORD)
    merchant.save(update_fields=["user"])
    line = CreditLineFactory(
        merchant=merchant, product=ProductFactory(credit_loan=True), limit_fen=10_000_000
    )
    loan = draw(line, 1_234_50)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=5_000, idempotency_key="s-1")
    return loan


@pytest.mark.parametrize(("locale", "heading"), [("zh-CN", "下次扣款"), ("en-US", "Next deductions")])
def test_a_merchant_goes_home_then_to_its_loan_and_downloads_its_statement(
    new_page,
    live_server,
    locale,
    heading,
):
    loan = merchant_with_a_loan()
    page = new_page(viewport=PHONE, accept_downloads=True, locale=locale)
    log_in(page, live_server, "seller")
    expect(page).to_have_url(f"{live_server.url}/overview/")
    for testid in ["home-lines", "home-offer", "home-wallet", "home-applications", "home-warnings"]:
        expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_test_id("home-wallet")).to_have_text(format_yuan(1_234_50 + 5_000))
    expect(page.get_by_test_id("home-deductions")).to_contain_text(heading)
    deduction = page.get_by_test_id("home-next-deduction")
    expect(deduction).to_have_count(1)
    expect(deduction).to_contain_text("¥")
    assert_fits(page)
    screenshot(page, f"home-phone-{locale}")

    deduction.get_by_role("link", name=loan.reference).click()
    expect(page).to_have_url(f"{live_server.url}/loans/{loan.reference}/")
    assert_fits(page)
    screenshot(page, f"loan-phone-{locale}")

    with page.expect_download() as caught:
        page.locator('a[data-testid="statement-csv"]').click()
    download = caught.value
    assert download.suggested_filename == f"statement-{loan.reference}.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and b"1234.50" in content

    with page.expect_download() as caught:
        page.locator('a[data-testid="statement-pdf"]').click()
    assert caught.value.suggested_filename == f"statement-{loan.reference}.pdf"
    assert Path(caught.value.path()).read_bytes().startswith(b"%PDF-")

    with page.expect_download() as caught:
        page.locator('a[data-testid="agreement-pdf"]').click()
    assert caught.value.suggested_filename == f"agreement-{loan.reference}.pdf"
    assert loan.contract.sha256.encode() in Path(caught.value.path()).read_bytes()

    page.goto(f"{live_server.url}/statements/")
    expect(page.get_by_test_id("statements")).to_be_visible()
    assert_fits(page)
    page.goto(f"{live_server.url}/statements/download.csv?month=2026-13")
    expect(page.get_by_test_id("month-error")).to_contain_text("YYYY-MM")
    assert_fits(page)
    screenshot(page, f"statements-phone-{locale}")
