"""The network page in Debian's Chromium: a risk manager opens a flagged merchant's network and
sees the drawing with its nodes."""

from urllib.parse import urlsplit

from django.test import Client

from tests.riskcontrol.test_network_view import ring_of_three, risk_manager

# The browser, its pages and the marks (skip without Chromium, live server transactions).
from tests.test_portal_browser import browser, expect, fast_password_hashing, new_page, pytestmark  # noqa: F401


def test_a_risk_manager_opens_a_merchants_network_and_sees_the_graph(new_page, live_server):  # noqa: F811
    shops, _ = ring_of_three()
    page = new_page()
    client = Client()
    client.force_login(risk_manager())
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": urlsplit(live_server.url).hostname,
                "path": "/",
            }
        ]
    )

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
