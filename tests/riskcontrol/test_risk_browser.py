"""Risk control's pages in Debian's Chromium, on a desktop and on a 375-pixel phone: a shop its
platform closed is watched overnight; the seller reads at /risk/ what was done and why; a risk
officer finds it at the top of the monitoring list in the workbench and its warning; a
collections agent takes the case risk control sent from the queue, opens it and logs a call."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User

from common.roles import roles_sync
from lending import cob
from merchants import partner_signals
from merchants.models import Merchant
from riskcontrol.models import Warning
from riskcontrol.monitoring import services
from tests.browser_support import BROWSER_MARKS, NARROW, assert_fits, expect, signed_in_page
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory

pytestmark = BROWSER_MARKS


ON = DAY + dt.timedelta(days=2)
VIEWPORTS = [None, {**NARROW, "height": 812}]
IDS = ["desktop", "phone-375"]


def red_shop():
    """A shop with a loan that its platform closed, after the night's monitoring; and a calm one."""
    open_pool()
    roles_sync()
    line = CreditLineFactory()
    calm = CreditLineFactory()
    loan = draw(line, 1_000_000, key="red")
    cob.close_through(through=ON)
    partner_signals.merchant_status_record_batch(
        partner=line.merchant.partner,
        changes=[
            {
                "id": "close-1",
                "merchant_id": line.merchant.external_id,
                "status": "closed",
                "reason": "owner closed the shop",
                "changed_at": dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC),
            }
        ],
    )
    services.monitoring_run(on=ON)
    return line.merchant, calm.merchant, loan


def signed_in(new_page, live_server, user, viewport):
    options = {"viewport": viewport, "is_mobile": True, "has_touch": True} if viewport else {}
    return signed_in_page(new_page, live_server, user, **options)


def staff(name: str, role: str) -> User:
    person = User.objects.create_user(username=name, password="x", is_staff=True)
    person.groups.add(Group.objects.get(name=role))
    return person


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=IDS)
def test_the_seller_reads_what_was_done_and_why(new_page, live_server, viewport):
    shop, _, _ = red_shop()
    seller = User.objects.create_user(username="seller", password="x")
    Merchant.objects.filter(pk=shop.pk).update(user=seller)
    page = signed_in(new_page, live_server, seller, viewport)
    page.goto(f"{live_server.url}/risk/")
    notice = page.get_by_test_id("risk-notice")
    expect(notice).to_be_visible()
    expect(page.get_by_test_id("shop-status")).to_contain_text("Closed")
    for kind in ("freeze_line", "demand_repayment", "send_to_collections"):
        expect(page.get_by_test_id(f"notice-{kind}")).to_be_visible()
    expect(page.get_by_test_id("notice-demand_repayment")).to_contain_text("the platform closed the shop")
    expect(page.get_by_test_id("notice-watch")).to_have_count(0)
    if viewport:
        assert_fits(page)


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=IDS)
def test_a_risk_officer_finds_the_red_shop_first_with_its_warning(new_page, live_server, viewport):
    shop, _, _ = red_shop()
    page = signed_in(new_page, live_server, staff("rita", "risk_manager"), viewport)
    page.goto(f"{live_server.url}/admin/riskcontrol/merchantrisk/")
    rows = page.locator("#result_list tbody tr")
    expect(rows.first).to_contain_text(shop.shop_name)
    expect(rows.first).to_contain_text("Red")
    page.goto(f"{live_server.url}/admin/riskcontrol/warning/?kind=shop_closed")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody tr").first).to_contain_text(shop.shop_name)
    assert Warning.objects.filter(merchant=shop, kind="shop_closed", status="open").exists()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=IDS)
def test_a_collections_agent_takes_the_case_risk_control_sent_and_logs_a_call(
    new_page,
    live_server,
    viewport,
):
    shop, _, loan = red_shop()
    agent = staff("ann", "collections_agent")
    page = signed_in(new_page, live_server, agent, viewport)
    page.goto(f"{live_server.url}/admin/lending/collectioncase/queue/")
    row = page.get_by_test_id(f"case-{loan.reference}")
    expect(row).to_contain_text(shop.shop_name)
    expect(page.get_by_test_id("queue-count")).to_contain_text("1")
    if viewport:
        # The wide table scrolls inside its box; the page itself does not move sideways.
        assert_fits(page)
    assign = page.get_by_test_id(f"assign-{loan.reference}")
    assign.scroll_into_view_if_needed()
    assign.click()
    row = page.get_by_test_id(f"case-{loan.reference}")
    expect(row).to_contain_text("ann")
    row.get_by_role("link", name="Open").click()
    expect(page.get_by_test_id("case-assignee")).to_contain_text("ann")
    form = page.get_by_test_id("contact-form")
    form.locator("select[name=channel]").select_option("phone")
    form.locator("select[name=outcome]").select_option("promised")
    form.locator("input[name=note]").fill("will pay on Friday")
    form.get_by_role("button").click()
    expect(page.locator("body")).to_contain_text("will pay on Friday")
    assert loan.collection_cases.get().contacts.get().note == "will pay on Friday"
