"""A merchant on a phone asks for a drawdown that would cost more than the legal cap on the day it
starts, and reads why on the form, in Debian's Chromium against pytest-django's live server."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import User

from common.business_date import business_date_set
from lending.models import Loan
from tests.browser_support import BROWSER_MARKS, NARROW, PASSWORD, assert_fits, expect, log_in
from tests.lending.conftest import open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

pytestmark = BROWSER_MARKS


def test_a_drawdown_over_the_cap_on_28_february_is_refused_on_the_form_and_quoted_on_1_march(
    new_page,
    live_server,
):
    open_pool()
    user = User.objects.create_user(username="greedy-shop", password=PASSWORD)
    merchant = MerchantFactory(user=user)
    product = ProductFactory(code="greedy", credit_loan=True, term=3, daily_rate=Decimal("0.000657"))
    line = CreditLineFactory(
        merchant=merchant, product=product, limit_fen=100_000_000, daily_rate=product.daily_rate
    )
    business_date_set(on=dt.date(2026, 2, 28), allow_backwards=True)
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True, locale="zh-CN")
    log_in(page, live_server, "greedy-shop")

    page.goto(f"{live_server.url}/loans/draw/{line.pk}/")
    page.locator('input[name="amount"]').fill("100000")
    page.get_by_role("button", name="试算").click()

    expect(page.locator("main .errorlist")).to_contain_text("综合年化成本超过法定上限")
    expect(page.locator("main .errorlist")).to_contain_text("24.54%")
    expect(page.get_by_test_id("contract-text")).to_have_count(0)
    assert_fits(page)

    business_date_set(on=dt.date(2026, 3, 1))
    page.get_by_role("button", name="试算").click()
    expect(page.get_by_test_id("contract-text")).to_contain_text("综合年化成本（IRR）：23.")
    assert_fits(page)
    page.get_by_role("button", name="同意合同并借款").click()
    expect(page).to_have_url(f"{live_server.url}/loans/{Loan.objects.get().reference}/")
