"""The credit page in a real browser (Debian's Chromium driven by Playwright against the live
server): a merchant sees its pre-approved offer and accepts it, and the line is on the loans page;
a merchant the rating declines sees the reasons, in Chinese and English."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import User

from common.business_date import business_date_set, business_date_today
from lending.models import CreditLine
from merchants.models import Verification
from payments import services as payments
from scoring.models import Offer
from scoring.selectors import policy_get
from scoring.services import offers_issue, scores_refresh_all
from tests.browser_support import BROWSER_MARKS, PASSWORD, expect, log_in
from tests.scoring.factories import champion_create, products, rated_merchant

pytestmark = BROWSER_MARKS

TODAY = dt.date(2026, 3, 1)


def world() -> None:
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.acceptance_rate_target = Decimal("1")
    policy.cutoff_grade = "C"
    policy.save()


def login_for(merchant, username: str) -> None:
    merchant.user = User.objects.create_user(username=username, password=PASSWORD)
    merchant.save(update_fields=["user"])


def test_a_merchant_sees_its_offer_and_accepts_it(page, live_server):
    world()
    merchant = rated_merchant()
    login_for(merchant, "seller")
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")

    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/credit/")
    row = page.get_by_test_id(f"offer-{offer.pk}")
    expect(row).to_contain_text("36,000.00")
    expect(row).to_contain_text("21.90 %")
    page.get_by_test_id(f"accept-{offer.pk}").click()

    expect(page).to_have_url(f"{live_server.url}/loans/")
    line = CreditLine.objects.get(merchant=merchant, product__code="credit_loan")
    expect(page.get_by_test_id(f"line-{line.pk}")).to_contain_text("36,000.00")
    assert line.limit_fen == offer.line_fen


def test_a_declined_merchant_sees_the_reasons(new_page, live_server):
    world()
    page = new_page(locale="zh-CN")  # a Chinese phone: the portal answers in Chinese
    merchant = rated_merchant(gmv=2_000.0, refund=0.3)
    Verification.objects.create(
        merchant=merchant, kind="business_licence", provider="t", result="failed", checked_on=TODAY
    )
    login_for(merchant, "seller")

    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/credit/")
    page.get_by_test_id("ask").click()

    decline = page.get_by_test_id("decline")
    expect(decline).to_contain_text("暂时无法为您提供新额度")
    reasons = page.get_by_test_id("reasons").locator("li")
    # Most points lost first: sales (60), refunds (40), the failed licence (≈ 35).
    expect(reasons).to_have_count(3)
    expect(reasons.first).to_contain_text("近90天销售额偏低")
    expect(reasons.nth(2)).to_contain_text("营业执照核验未通过")

    # In English the same page gives the reasons in English only.
    page.goto(f"{live_server.url}/credit/")
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("decline")).to_contain_text("Your rating")
    expect(reasons.first).to_contain_text("low sales over 90 days")
    expect(reasons.nth(2)).to_contain_text("business licence check failed")
    expect(reasons.first).not_to_contain_text("近90天销售额偏低")
