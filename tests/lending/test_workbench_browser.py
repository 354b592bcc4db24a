"""Two officers work a B2B application through the workbench in Debian's Chromium against
pytest-django's live server: the first claims it in the video-check queue and passes it, the
second approves it in the approval queue, and the application ends approved with its line."""

from django.contrib.auth.models import Group, Permission, User

from lending.models import Application
from tests.browser_support import BROWSER_MARKS, PASSWORD, expect
from tests.lending.test_applications import STRONG, b2b_application, world  # noqa: F401 (fixture)
from tests.lending.test_workbench import OFFICER_PERMS
from tests.scoring.factories import rated_merchant

pytestmark = BROWSER_MARKS


def officer(name: str) -> User:
    group, _ = Group.objects.get_or_create(name="loan_officer")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="lending", codename__in=OFFICER_PERMS)
    )
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def admin_log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('#login-form input[type="submit"]').click()
    expect(page.locator("#site-name")).to_be_visible()


def test_two_officers_take_a_b2b_application_from_the_video_check_to_approval(
    world,  # noqa: F811 (the imported fixture)
    new_page,
    live_server,
):
    application = b2b_application(rated_merchant(kind="b2b", **STRONG))
    assert application.status == Application.Status.REFERRED
    officer("video-officer")
    officer("approver")
    reference = application.reference

    first = new_page(locale="en-US")  # the workbench in English: the checks below read its wording
    admin_log_in(first, live_server, "video-officer")
    first.goto(f"{live_server.url}/admin/lending/application/")
    first.get_by_test_id("queue-tab-video_check").click()
    expect(first.get_by_test_id("queue-count")).to_contain_text("1 case waiting")
    first.get_by_test_id(f"claim-{reference}").click()
    expect(first.get_by_test_id("case-holder")).to_have_text("video-officer")
    first.locator('select[name="check_sales"]').select_option("agrees")
    first.locator('input[name="recording_ref"]').fill("rec-2026-0301-01")
    first.locator('textarea[name="note"]').fill("sales and warehouse confirmed on the call")
    first.get_by_test_id("pass").click()
    expect(first.locator(".messagelist")).to_contain_text("Officer approval")
    expect(first.get_by_test_id("queue-count")).to_contain_text("0 cases waiting")

    second = new_page(locale="en-US")
    admin_log_in(second, live_server, "approver")
    second.goto(f"{live_server.url}/admin/lending/application/queue/officer_approval/")
    expect(second.get_by_test_id(f"case-{reference}")).to_be_visible()
    second.get_by_test_id(f"claim-{reference}").click()
    second.locator('textarea[name="note"]').fill("terms fit the declared figures")
    second.get_by_test_id("pass").click()
    expect(second.locator(".messagelist")).to_contain_text("Approved")

    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert application.line is not None and application.line.video_checked_at is not None
    second.goto(f"{live_server.url}/admin/lending/application/{application.pk}/case/")
    expect(second.get_by_test_id("case-status")).to_contain_text("Approved")
    expect(second.get_by_test_id("case-line")).to_contain_text(f"line #{application.line_id}")
