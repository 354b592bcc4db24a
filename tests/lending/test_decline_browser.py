"""A seller that does not qualify, in Debian's Chromium on a 375 px phone, in Chinese and in
English: the terms it previews say why in plain words and show no empty figures (no "¥" with
nothing after it); applying anyway, it is told why and from when it may apply again, the
application's reference whole inside its card; its list of applications shows the status without
a swipe; its home offers it the products of its own kind (a B2B member the member's products)."""

import re

import pytest
from django.contrib.auth.models import User

from lending.models import Application
from scoring.selectors import policy_get
from tests.browser_support import BROWSER_MARKS, NARROW, PASSWORD, assert_fits, expect, log_in
from tests.lending.test_apply_browser import TODAY, seller_with_an_offer_and_orders
from tests.scoring.factories import rated_merchant

pytestmark = BROWSER_MARKS

LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}


def a_seller_below_the_cut_off():
    seller_with_an_offer_and_orders()  # the world: products, the pool, a champion
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    weak = rated_merchant(gmv=2_000.0, refund=0.4)
    weak.user = User.objects.create_user(username="weak", password=PASSWORD)
    weak.save(update_fields=["user"])
    return weak


def _inside(page, test_id: str) -> None:
    """The element's right edge lies within its card's (nothing cut off by the card)."""
    edges = page.get_by_test_id(test_id).evaluate(
        "el => [el.getBoundingClientRect().right, el.closest('.card').getBoundingClientRect().right]"
    )
    assert edges[0] <= edges[1], f"{test_id} runs {edges[0] - edges[1]:.0f} px out of its card"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_seller_that_does_not_qualify_is_told_why_and_when_to_apply_again(new_page, live_server, language):
    weak = a_seller_below_the_cut_off()
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True, locale=LANGUAGES[language])
    log_in(page, live_server, "weak")
    if language != "zh-hans":
        page.get_by_test_id(f"lang-{language}").click()
        page.wait_for_load_state()

    # The preview as the amount is typed: declined, with the reasons, and no empty figures.
    page.goto(f"{live_server.url}/apply/?product=credit_loan")
    page.get_by_test_id("amount").fill("2000.00")
    expect(page.get_by_test_id("terms")).to_be_visible()
    expect(page.get_by_test_id("terms-reasons").locator("li").first).to_be_visible()
    values = page.get_by_test_id("terms").locator(".figure .value").all()
    shown = [v.inner_text() for v in values if v.is_visible()]
    assert not [text for text in shown if not re.search(r"[0-9A-E]", text)], f"empty figures {shown}"
    assert_fits(page)

    page.get_by_test_id("submit").click()
    expect(page).to_have_url(re.compile(r"/applications/A[0-9-]+/$"))
    application = Application.objects.get(merchant=weak)
    assert application.status == Application.Status.DECLINED
    expect(page.get_by_test_id("reasons").locator("li").first).to_be_visible()
    expect(page.get_by_test_id("reapply-on")).to_contain_text(application.reapply_on.isoformat())
    assert application.reapply_on > TODAY
    _inside(page, "application-reference")
    assert_fits(page)

    # The list: the status readable on the phone without swiping the table.
    page.goto(f"{live_server.url}/applications/")
    status = page.get_by_test_id("applications").locator("tbody tr").first.locator(".status")
    expect(status).to_be_in_viewport(ratio=1)


def test_a_member_s_home_offers_the_member_s_products(new_page, live_server):
    seller_with_an_offer_and_orders()
    member = rated_merchant(kind="b2b", gmv=90_000.0, refund=0.01)
    member.user = User.objects.create_user(username="member", password=PASSWORD)
    member.save(update_fields=["user"])
    page = new_page(viewport=NARROW, locale="zh-CN")
    log_in(page, live_server, "member")
    links = page.get_by_test_id("home-offer").get_by_test_id("apply-links").locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs and all("/apply/member/" in href for href in hrefs), hrefs
    links.first.click()
    expect(page.get_by_test_id("member-apply")).to_be_visible()


def test_a_seller_asking_more_than_its_line_is_told_the_terms_are_for_less(new_page, live_server):
    seller_with_an_offer_and_orders()
    page = new_page(viewport=NARROW, is_mobile=True, has_touch=True, locale="zh-CN")
    log_in(page, live_server, "seller")
    page.goto(f"{live_server.url}/apply/?product=credit_loan")
    page.get_by_test_id("amount").fill("900000")
    expect(page.get_by_test_id("terms-smaller")).to_be_visible()
    granted = page.get_by_test_id("terms-amount").inner_text()
    assert granted and granted != "900,000.00"
    expect(page.get_by_test_id("terms-smaller")).to_contain_text("900,000.00")
    expect(page.get_by_test_id("terms-smaller")).to_contain_text(granted)
    # Asking what can be granted, the note goes.
    page.get_by_test_id("amount").fill(granted.replace(",", ""))
    expect(page.get_by_test_id("terms-smaller")).to_be_hidden()
    assert_fits(page)
