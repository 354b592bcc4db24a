"""The credit file in Debian's Chromium: an officer opens a merchant's file on a phone (375 px)
and on a desktop; the page renders every section and never scrolls sideways. The workbench's
language switch turns the page into English and the choice is remembered."""

import pytest
from django.urls import reverse

from common import roles
from common.roles import roles_sync
from tests.browser_support import (
    BROWSER_MARKS,
    DESKTOP,
    NARROW,
    assert_fits,
    expect,
    signed_in_page,
    watch_console,
)
from tests.lending.test_applications import world  # noqa: F401 - a fixture
from tests.riskcontrol.test_credit_file import SECTIONS, user_in, with_history

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(
    "viewport",
    [NARROW, {**DESKTOP, "height": 900}],
    ids=["phone", "desktop"],
)
def test_an_officer_reads_a_credit_file_without_scrolling_sideways(world, new_page, live_server, viewport):  # noqa: F811
    roles_sync()  # the live server's tests flush the groups the migration made
    merchant = with_history(3)
    page = signed_in_page(new_page, live_server, user_in(roles.ADMINISTRATOR), viewport=viewport)
    errors = watch_console(page)
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
    assert_fits(page)
    assert not missing, missing
    assert not errors, errors


def test_the_language_switch_turns_the_workbench_english_and_remembers_it(world, new_page, live_server):  # noqa: F811
    roles_sync()
    merchant = with_history(1)
    page = signed_in_page(new_page, live_server, user_in(roles.LOAN_OFFICER), locale="zh-CN")
    url = live_server.url + reverse("credit-file", args=[merchant.pk])
    page.goto(url)
    expect(page.get_by_test_id("credit-file-trading")).to_contain_text("经营概况")

    page.get_by_test_id("lang-en").click()

    expect(page).to_have_url(url)
    expect(page.get_by_test_id("credit-file-trading")).to_contain_text("Trading summary")
    page.goto(live_server.url + reverse("admin:index"))
    expect(page.locator("#site-name")).to_contain_text("officers' workbench")
    page.get_by_test_id("lang-zh-hans").click()
    expect(page.locator("#site-name")).to_contain_text("员工工作台")
