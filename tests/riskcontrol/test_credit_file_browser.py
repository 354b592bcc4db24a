"""The credit file in Debian's Chromium: an officer opens a merchant's file on a phone (375 px)
and on a desktop; the page renders every section and never scrolls sideways. The workbench's
language switch turns the page into English and the choice is remembered."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from common import roles
from common.roles import roles_sync
from tests.lending.test_applications import world  # noqa: F401 - a fixture
from tests.riskcontrol.test_credit_file import SECTIONS, user_in, with_history

# The browser, its pages and the marks (skip without Chromium, live server transactions).
from tests.test_portal_browser import (  # noqa: F401
    PHONE_WIDTH,
    browser,
    expect,
    fast_password_hashing,
    new_page,
    pytestmark,
)


def logged_in_page(new_page, live_server, user, **context_options):  # noqa: F811
    page = new_page(**context_options)
    client = Client()
    client.force_login(user)
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
    return page


def scrolls_sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.mark.parametrize(
    "viewport",
    [{"width": PHONE_WIDTH, "height": 740}, {"width": 1280, "height": 900}],
    ids=["phone", "desktop"],
)
def test_an_officer_reads_a_credit_file_without_scrolling_sideways(world, new_page, live_server, viewport):  # noqa: F811
    roles_sync()  # the live server's tests flush the groups the migration made
    merchant = with_history(3)
    page = logged_in_page(new_page, live_server, user_in(roles.ADMINISTRATOR), viewport=viewport)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    missing = []
    page.on(
        "response", lambda r: missing.append(r.url) if r.status >= 400 and "favicon" not in r.url else None
    )

    page.goto(live_server.url + reverse("credit-file", args=[merchant.pk]))

    expect(page.get_by_test_id("credit-file")).to_be_visible()
    for section in SECTIONS:
        expect(page.get_by_test_id(f"credit-file-{section}")).to_be_attached()
    expect(page.get_by_test_id("credit-file-shop")).to_have_text(merchant.shop_name)
    expect(page.get_by_test_id("credit-file-loans")).to_contain_text("¥2,000.00")
    assert scrolls_sideways(page) <= 0
    assert not missing, missing
    assert all("404" in e for e in errors) and len(errors) <= 1, errors  # at most the favicon


def test_the_language_switch_turns_the_workbench_english_and_remembers_it(world, new_page, live_server):  # noqa: F811
    roles_sync()
    merchant = with_history(1)
    page = logged_in_page(new_page, live_server, user_in(roles.LOAN_OFFICER), locale="zh-CN")
    url = live_server.url + reverse("credit-file", args=[merchant.pk])
    page.goto(url)
    expect(page.get_by_test_id("credit-file-trading")).to_contain_text("经营概况")

    page.get_by_test_id("lang-en").click()

    expect(page).to_have_url(url)
    expect(page.get_by_test_id("credit-file-trading")).to_contain_text("Trading summary")
    page.goto(live_server.url + reverse("admin:index"))
    expect(page.locator("#site-name")).to_contain_text("officers' workbench")
    page.get_by_test_id("lang-zh-hans").click()
    expect(page.locator("#site-name")).to_contain_text("信贷员工作台")
