"""Operations in Debian's Chromium on the demo's world: the assembly-line screen on a 1280 px
desktop (the workbench's sidebar open) shows every column of its stages' table, each late case
under its queue's name; finance moves the demo on a business date from /demo/advance/, the page's
header follows the new date, and the screen's figures have moved: the new date's applicants are in
its counts."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

from common.business_date import business_date_today
from common.roles import FINANCE, LOAN_OFFICER, roles_sync
from tests.browser_support import BROWSER_MARKS, DESKTOP, NARROW, PASSWORD, expect
from tests.lending.test_workbench_browser import admin_log_in

pytestmark = BROWSER_MARKS


@pytest.fixture
def eager_tasks():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _eligibility_total(page) -> int:
    row = page.get_by_test_id("ops-stage-lending.stages.eligibility")
    return int(row.locator("td").last.inner_text())


def test_the_assembly_line_fits_and_moves_when_the_demo_moves_on(new_page, live_server, eager_tasks):
    from tests.conftest import skip_unless_demo
    from tests.page_catalogue import demo_world_build

    skip_unless_demo()
    demo_world_build(merchants=12, days=30, closed_days=6)
    roles_sync()
    _staff("ops-officer", LOAN_OFFICER)
    _staff("ops-finance", FINANCE)

    desk = new_page(viewport=DESKTOP)
    admin_log_in(desk, live_server, "ops-officer")
    desk.goto(f"{live_server.url}/ops/assembly-line/")
    table = desk.get_by_test_id("ops-stages")
    expect(table).to_be_visible()
    # The last column (each stage's total) is on the screen, not past its right edge.
    expect(table.locator("thead th").last).to_be_in_viewport(ratio=1)
    before = _eligibility_total(desk)
    expect(desk.get_by_test_id("ops-business-date")).to_contain_text(business_date_today().isoformat())

    # On a phone, in Chinese, a stage's kind (系统判断, 人工) stood one character a line.
    phone = new_page(viewport=NARROW)
    phone.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "url": live_server.url}]
    )
    admin_log_in(phone, live_server, "ops-officer")
    phone.goto(f"{live_server.url}/ops/assembly-line/")
    kinds = phone.get_by_test_id("ops-stages").locator("tbody td:nth-child(2)")
    assert kinds.count() > 0
    tall = phone.evaluate(
        """() => [...document.querySelectorAll('[data-testid=ops-stages] tbody td:nth-child(2)')]
            .filter(td => { const r = document.createRange(); r.selectNodeContents(td);
                              return r.getClientRects().length > 1; })
            .map(td => td.innerText)"""
    )
    assert tall == [], tall

    money = new_page(viewport=DESKTOP, locale="zh-CN")
    admin_log_in(money, live_server, "ops-finance")
    money.goto(f"{live_server.url}/demo/advance/")
    money.locator('input[name="days"]').fill("1")
    money.get_by_test_id("advance-form").locator("button[type=submit]").click()
    expect(money.get_by_test_id("advance-result")).to_be_visible(timeout=60_000)
    moved_to = business_date_today().isoformat()
    # The header's business date follows the job's result (it was drawn before the day closed).
    expect(money.get_by_test_id("business-date")).to_contain_text(moved_to)
    expect(money.get_by_test_id("advance-result")).not_to_contain_text(re.compile(r"[\u4e00-\u9fff]: "))

    desk.reload()
    expect(desk.get_by_test_id("ops-business-date")).to_contain_text(moved_to)
    assert _eligibility_total(desk) > before, "the new date's applicants are not on the screen"
