"""People with the platform's own roles (common.roles, as a migration makes them) work a B2B case
through every person's stage in Debian's Chromium: an officer claims it in the video-check queue
and sends it to a field inspection, gives the visit to an inspector, the inspector (its own
browser) sees only its visit and records it, and above the four-eyes amount two different
officers approve. The video-check queue fits a 1280 px desktop with its claim buttons on screen."""

from django.contrib.auth.models import Group, User

from common.roles import INSPECTOR, LOAN_OFFICER, roles_sync
from lending.models import Application, FieldInspection
from tests.browser_support import BROWSER_MARKS, DESKTOP, PASSWORD, expect
from tests.lending.test_applications import STRONG, b2b_application, world  # noqa: F401 (fixture)
from tests.lending.test_workbench_browser import admin_log_in
from tests.scoring.factories import rated_merchant

pytestmark = BROWSER_MARKS


def person(username: str, role: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_an_officer_sends_a_case_to_an_inspector_and_two_officers_approve_it(
    world,  # noqa: F811 (fixture)
    new_page,
    live_server,
    settings,
):
    roles_sync()  # the roles' groups, gone with a transactional test's flush
    application = b2b_application(rated_merchant(kind="b2b", **STRONG))
    assert application.decided_limit_fen
    settings.LENDING_SECOND_APPROVAL_FROM_FEN = application.decided_limit_fen  # four eyes on this one
    person("officer", LOAN_OFFICER)
    person("officer2", LOAN_OFFICER)
    inspector = person("inspector", INSPECTOR)
    person("inspector2", INSPECTOR)
    reference = application.reference

    desk = new_page(viewport=DESKTOP)
    admin_log_in(desk, live_server, "officer")
    desk.goto(f"{live_server.url}/admin/lending/application/queue/video_check/")
    claim = desk.get_by_test_id(f"claim-{reference}")
    expect(claim).to_be_in_viewport()  # not pushed off the screen by a wide column
    claim.click()
    desk.locator('input[name="recording_ref"]').fill("rec-7")
    desk.locator('textarea[name="note"]').fill("sales look high: visit the warehouse")
    desk.get_by_test_id("inspect").click()
    expect(desk.locator(".messagelist")).to_be_visible()

    # The same officer takes the field case and gives the visit to an inspector.
    desk.goto(f"{live_server.url}/admin/lending/application/queue/field_inspection/")
    desk.get_by_test_id(f"claim-{reference}").click()
    desk.locator('select[name="inspector"]').select_option(label="inspector")
    desk.locator('input[name="address"]').fill("1 Warehouse Road")
    desk.locator('button[value="assign"]').click()
    visit = FieldInspection.objects.get(application=application)
    assert visit.inspector == inspector

    # The inspector sees its visit (and only its own), records it, and the case moves on.
    field = new_page(viewport=DESKTOP)
    admin_log_in(field, live_server, "inspector")
    field.goto(f"{live_server.url}/admin/lending/fieldinspection/")
    expect(field.locator("#result_list tbody tr")).to_have_count(1)
    field.goto(f"{live_server.url}/admin/lending/fieldinspection/{visit.pk}/record/")
    field.locator('input[name="visited_on"]').fill("2026-03-02")
    field.locator('input[name="result"][value="passed"]').check()
    field.locator('textarea[name="findings"]').fill("stock as declared")
    field.locator("#content form button[type=submit]").click()
    expect(field.locator(".messagelist")).to_be_visible()
    visit.refresh_from_db()
    assert visit.result == FieldInspection.Result.PASSED

    # Four eyes: the first officer's approval waits for a second, different officer.
    for username, page in (("officer", desk), ("officer2", new_page(viewport=DESKTOP))):
        if username == "officer2":
            admin_log_in(page, live_server, username)
        page.goto(f"{live_server.url}/admin/lending/application/queue/officer_approval/")
        page.get_by_test_id(f"claim-{reference}").click()
        page.locator('textarea[name="note"]').fill("terms fit")
        page.get_by_test_id("pass").click()
        expect(page.locator(".messagelist")).to_be_visible()
        application.refresh_from_db()
        if username == "officer":
            assert application.status == Application.Status.REFERRED
    assert application.status == Application.Status.APPROVED
