"""A B2B member applies for a fixed loan, uploads its business licence and books the video
interview in Debian's Chromium; an officer, in a second browser context, passes the case; the
member accepts the agreement and sees the money in its wallet."""

import datetime as dt
import re

from django.contrib.auth.models import Group, Permission, User

from common.business_date import business_date_set
from common.money import format_yuan
from lending.models import Application, Loan
from merchants.questionnaire import QUESTIONS
from payments import services as payments
from scoring.selectors import policy_get
from tests.browser_support import BROWSER_MARKS, NARROW, PASSWORD, assert_fits, expect, log_in
from tests.scoring.factories import champion_create, products, rated_merchant

pytestmark = BROWSER_MARKS

TODAY = dt.date(2026, 3, 1)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
OFFICER_PERMISSIONS = (
    ("lending", "view_application"),
    ("lending", "change_application"),
    ("lending", "view_applicationstage"),
    ("lending", "change_applicationstage"),
    ("lending", "view_videointerview"),
    ("lending", "view_applicationdocument"),
)


def the_world():
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()


def a_member():
    merchant = rated_merchant(kind="b2b", gmv=90_000.0, refund=0.01)
    merchant.user = User.objects.create_user("member", email="boss@example.com", password=PASSWORD)
    merchant.save(update_fields=["user"])
    return merchant


def an_officer(username: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    group, _ = Group.objects.get_or_create(name="loan_officer")
    for app_label, codename in OFFICER_PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user.groups.add(group)
    return user


def officer_passes_from_the_queue(page, live_server, queue: str, reference: str, note: str) -> None:
    """An officer, in its own browser, takes the case from its queue in the workbench and passes it."""
    page.goto(f"{live_server.url}/admin/lending/application/queue/{queue}/")
    expect(page.get_by_test_id(f"case-{reference}")).to_be_visible()
    page.get_by_test_id(f"claim-{reference}").click()
    if queue == "video_check":
        page.locator('input[name="recording_ref"]').fill("rec-1")
    page.locator('textarea[name="note"]').fill(note)
    page.get_by_test_id("pass").click()
    expect(page.locator(".messagelist")).to_be_visible()


def test_a_member_applies_books_and_after_the_officers_pass_accepts_and_is_paid(
    new_page,
    live_server,
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    the_world()
    shop = a_member()
    an_officer("officer")
    an_officer("approver")

    member = new_page(viewport=NARROW, is_mobile=True, has_touch=True, locale="zh-CN")
    log_in(member, live_server, "member")
    expect(member).to_have_url(f"{live_server.url}/overview/")

    # Apply: the amount, last year's figures, the questionnaire, the business licence.
    member.goto(f"{live_server.url}/apply/member/?product=fixed_loan")
    expect(member.get_by_test_id("document-limits")).to_contain_text("10 MB")
    member.locator('input[name="amount"]').fill("100000")
    member.locator('input[name="sales"]').fill("5000000")
    member.locator('input[name="net_profit_margin"]').fill("8.5")
    member.locator('input[name="total_assets"]').fill("3000000")
    member.locator('input[name="total_liabilities"]').fill("1000000")
    member.locator('input[name="platform_sales_share"]').fill("50")
    for question in QUESTIONS:
        member.locator(f'input[name="q_{question.code}"][value="4"]').check()
    member.locator('input[name="doc_business_licence"]').set_input_files(
        files=[{"name": "licence.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    assert_fits(member)
    member.get_by_role("button", name="提交申请").click()

    expect(member).to_have_url(re.compile(r"/applications/[^/]+/member/$"))
    expect(member.get_by_test_id("application-status")).to_have_text("人工审核中")
    expect(member.get_by_test_id("stages")).to_contain_text("视频面签")
    expect(member.get_by_test_id("documents")).to_contain_text("licence.pdf")
    application = Application.objects.get(merchant=shop)
    assert application.documents.count() == 1
    assert_fits(member)

    # Book the first free slot; the page says when and where.
    member.get_by_test_id("book-link").click()
    member.get_by_test_id("slot").first.check()
    member.get_by_role("button", name="预约", exact=True).click()
    interview = application.interviews.get(outcome="booked")
    expect(member.get_by_test_id("interview-url")).to_have_text(interview.meeting_url)
    assert interview.starts_at.date() > TODAY
    # The interview's day comes: the video check may be passed once its slot has begun.
    business_date_set(on=interview.starts_at.date() + dt.timedelta(days=1))

    # An officer, in a browser of its own, claims the case in the video-check queue and passes
    # it; a second officer approves it from the approval queue.
    desk = new_page()
    log_in(desk, live_server, "officer")
    expect(desk).to_have_url(f"{live_server.url}/admin/")
    officer_passes_from_the_queue(
        desk, live_server, "video_check", application.reference, "figures confirmed"
    )
    second = new_page()
    log_in(second, live_server, "approver")
    officer_passes_from_the_queue(second, live_server, "officer_approval", application.reference, "terms fit")
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert application.stages.get(queue="video_check").detail["recording_ref"] == "rec-1"

    # The member, back in its own browser, reads the agreement, accepts it and is paid.
    member.reload()
    expect(member.get_by_test_id("application-status")).to_have_text("批准")
    expect(member.get_by_test_id("contract-text")).to_be_visible()
    member.get_by_test_id("accept").click()
    expect(member.get_by_test_id("disbursed")).to_be_visible()
    expect(member.get_by_test_id("application-status")).to_have_text("已放款")
    loan = Loan.objects.get(merchant=shop)
    member.get_by_test_id("wallet-link").click()
    expect(member.get_by_test_id("wallet-balance")).to_have_text(
        format_yuan(loan.principal_fen - loan.fee_fen)
    )
