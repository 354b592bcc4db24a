"""A seller in Debian's Chromium (Playwright against pytest-django's live server): logs in, finds
its order-loan offer on the home page, applies with two of its shipped orders ticked (the amount it
can get follows the ticks at once), accepts the agreement and finds the money in its wallet; on a
desktop and on a 390 × 844 phone, where no page scrolls sideways."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User

from common.business_date import business_date_set
from common.money import format_yuan
from lending.models import Application, Pledge, Product
from payments import selectors as payment_selectors
from payments import services as payments
from scoring import services as scoring
from scoring.models import Offer
from scoring.selectors import policy_get
from tests.browser_support import BROWSER_MARKS, PASSWORD, PHONE, assert_fits, expect, log_in
from tests.merchants.factories import OrderFactory
from tests.scoring.factories import champion_create, products, rated_merchant

pytestmark = BROWSER_MARKS

TODAY = dt.date(2026, 3, 1)
ORDERS_FEN = [150_000, 80_000, 60_000, 40_000, 25_000]


def seller_with_an_offer_and_orders():
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    merchant = rated_merchant(gmv=90_000.0, refund=0.01)
    merchant.user = User.objects.create_user(username="seller", password=PASSWORD)
    merchant.save(update_fields=["user"])
    score = scoring.merchant_rate(merchant=merchant, as_of=TODAY)
    Offer.objects.create(
        merchant=merchant,
        product=Product.objects.get(code="order_loan"),
        score=score,
        line_fen=3_000_000,
        daily_rate="0.00050000",
        grade=score.grade,
        rank=1,
        issued_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=14),
    )
    # Some money in the wallet already, so "increased" means something.
    wallet = payments.wallet_open(merchant=merchant)
    orders = [OrderFactory(merchant=merchant, amount_fen=fen, shipped=True) for fen in ORDERS_FEN]
    return merchant, wallet, orders


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone-390"])
def test_a_seller_applies_for_an_order_loan_from_its_offer_and_is_paid(new_page, live_server, viewport):
    merchant, wallet, orders = seller_with_an_offer_and_orders()
    before_fen = wallet.balance_fen
    options = {"viewport": viewport, "is_mobile": True, "has_touch": True} if viewport else {}
    page = new_page(**options)
    phone = viewport is not None

    log_in(page, live_server, "seller")
    expect(page).to_have_url(f"{live_server.url}/overview/")
    expect(page.get_by_test_id("home-wallet")).to_have_text(format_yuan(before_fen))
    if phone:
        assert_fits(page)
    page.get_by_test_id("apply-order_loan").click()

    expect(page.get_by_test_id("orders")).to_be_visible()
    max_shown = page.get_by_test_id("order-max")
    expect(max_shown).to_have_text("0.00")
    if phone:
        assert_fits(page)
    second, fourth = orders[1], orders[3]
    product = Product.objects.get(code="order_loan")
    page.get_by_test_id(f"order-{second.external_id}").check()
    one = int(second.amount_fen * product.advance_rate)
    expect(max_shown).to_have_text(format_yuan(one))
    page.get_by_test_id(f"order-{fourth.external_id}").check()
    cover = int((second.amount_fen + fourth.amount_fen) * product.advance_rate)
    expect(max_shown).to_have_text(format_yuan(cover))
    # The amount follows the ticks until the seller types one; the terms refresh by themselves.
    expect(page.get_by_test_id("amount")).to_have_value(f"{cover / 100:.2f}")
    expect(page.get_by_test_id("terms-amount")).to_have_text(format_yuan(cover))
    contract = page.get_by_test_id("contract-text")
    # The browser asks for English (its locale): the agreement is shown in English alone.
    expect(contract).to_contain_text(f"order numbers {second.external_id}, {fourth.external_id}")
    expect(contract).to_contain_text("Pledged orders (shipped)")
    expect(contract).not_to_contain_text("质押订单")
    if phone:
        assert_fits(page)

    page.get_by_test_id("accept").check()
    page.get_by_test_id("submit").click()

    expect(page).to_have_url(re.compile(r"/applications/A[0-9-]+/$"))
    expect(page.get_by_test_id("status")).to_have_text("Money paid")
    expect(page.get_by_test_id("loan-link")).to_be_visible()
    expect(page.get_by_test_id("steps")).to_contain_text("Eligibility")
    if phone:
        assert_fits(page)
    application = Application.objects.get(merchant=merchant)
    assert sorted(Pledge.objects.filter(loan=application.loan).values_list("order_id", flat=True)) == [
        second.pk,
        fourth.pk,
    ]

    page.goto(f"{live_server.url}/wallet/")
    expect(page.get_by_test_id("wallet-balance")).to_have_text(format_yuan(before_fen + cover))
    assert payment_selectors.wallet_for_merchant(merchant=merchant).balance_fen == before_fen + cover
    if phone:
        assert_fits(page)
    page.goto(f"{live_server.url}/overview/")
    expect(page.get_by_test_id("home-deductions")).to_contain_text(application.loan.reference)
    if phone:
        assert_fits(page)


def test_the_application_page_updates_itself_when_an_asynchronous_payout_lands(
    new_page,
    live_server,
    settings,
    monkeypatch,
):
    from lending import tasks
    from lending.services import applications as apps

    merchant, wallet, _ = seller_with_an_offer_and_orders()
    settings.LENDING_INSTANT_PAYOUT = "async"
    sent = []
    monkeypatch.setattr(tasks.application_fulfil, "delay", lambda *args: sent.append(args))
    page = new_page()
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/apply/?product=credit_loan")
    page.get_by_test_id("amount").fill("2000.00")
    expect(page.get_by_test_id("terms-amount")).to_have_text("2,000.00")
    page.get_by_test_id("accept").check()
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    expect(page.get_by_test_id("loan-link")).to_be_hidden()
    page.evaluate("window.stillTheSamePage = true")
    application = Application.objects.get(merchant=merchant)
    assert sent == [(application.pk, TODAY.isoformat())]

    # The worker's task lands the money while the page is open.
    apps.application_fulfil(application_id=application.pk, on=TODAY)

    expect(page.get_by_test_id("status")).to_have_text("Money paid", timeout=10_000)
    expect(page.get_by_test_id("loan-link")).to_be_visible()
    expect(page.get_by_test_id("loan-link")).to_contain_text("2,000.00")
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, not reloaded
    balance_fen = payment_selectors.wallet_for_merchant(merchant=merchant).balance_fen
    assert balance_fen == wallet.balance_fen + 200_000
