"""A merchant on a phone asks for a drawdown that would cost more than the legal cap on the day it
starts, and reads why on the form, in Debian's Chromium against pytest-django's live server."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from common.business_date import business_date_set
from lending.models import Loan
from tests.lending.conftest import open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory
from tests.test_portal_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    PASSWORD,
    PHONE_WIDTH,
    browser,
    expect,
    fast_password_hashing,
    log_in,
    new_page,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)),
        reason=f"no Chromium executable at {CHROMIUM} (install Debian's chromium or set XIAODAI_CHROMIUM)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_a_drawdown_over_the_cap_on_28_february_is_refused_on_the_form_and_quoted_on_1_march(
    new_page,  # noqa: F811 (the imported fixture)
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
    page = new_page(
        viewport={"width": PHONE_WIDTH, "height": 740}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    log_in(page, live_server, "greedy-shop")

    page.goto(f"{live_server.url}/loans/draw/{line.pk}/")
    page.locator('input[name="amount"]').fill("100000")
    page.get_by_role("button", name="试算").click()

    expect(page.locator("main .errorlist")).to_contain_text("综合年化成本超过法定上限")
    expect(page.locator("main .errorlist")).to_contain_text("24.54%")
    expect(page.get_by_test_id("contract-text")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH

    business_date_set(on=dt.date(2026, 3, 1))
    page.get_by_role("button", name="试算").click()
    expect(page.get_by_test_id("contract-text")).to_contain_text("综合年化成本（IRR）：23.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.get_by_role("button", name="同意合同并借款").click()
    expect(page).to_have_url(f"{live_server.url}/loans/{Loan.objects.get().reference}/")
