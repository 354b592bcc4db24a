"""The network page in Debian's Chromium: a risk manager opens a flagged merchant's network and
sees the drawing with its nodes."""

from tests.browser_support import BROWSER_MARKS, expect, signed_in_page
from tests.riskcontrol.test_network_view import ring_of_three, risk_manager

pytestmark = BROWSER_MARKS


def test_a_risk_manager_opens_a_merchants_network_and_sees_the_graph(new_page, live_server):
    shops, _ = ring_of_three()
    page = signed_in_page(new_page, live_server, risk_manager())

    page.goto(f"{live_server.url}/risk/network/{shops[0].pk}/")

    svg = page.get_by_test_id("network-svg")
    expect(svg).to_be_visible()
    expect(svg.locator("g.node")).to_have_count(3)
    expect(svg.locator('g.node[data-flagged="true"] circle')).to_have_count(3)
    expect(svg.locator("g.edge")).to_have_count(3)
    expect(page.get_by_test_id("network-flag")).to_contain_text("Suspected ring")
    box = svg.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100

    # A node links to that merchant's own network.
    svg.locator(f'g.node[data-merchant="{shops[1].pk}"] a').click()
    expect(page).to_have_url(f"{live_server.url}/risk/network/{shops[1].pk}/")
    expect(page.get_by_test_id("network-merchant")).to_have_text(shops[1].shop_name)
