"""The officers' workbench through the Django test client: the people's queues, claiming a case,
the decisions at the video check and the approval (four eyes), field visits seen only by the
inspector they were given to, documents served only to staff who may see them, and the
permissions that guard each page."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from common.business_date import business_date_today, business_now
from lending.models import Application, ApplicationStage, FieldInspection
from lending.services import applications as apps
from tests.lending.test_applications import (  # noqa: F401 (the world fixture)
    STRONG,
    b2b_application,
    waiting,
    world,
)
from tests.scoring.factories import rated_merchant


@pytest.fixture(autouse=True)
def in_english(settings):
    """The workbench answers in Chinese first; these checks read its English wording."""
    settings.LANGUAGE_CODE = "en"


OFFICER_PERMS = [
    "view_application",
    "view_applicationstage",
    "change_applicationstage",
    "view_applicationdocument",
    "add_fieldinspection",
]
INSPECTOR_PERMS = ["view_fieldinspection", "change_fieldinspection"]


def _group(name: str, codenames: list[str]) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    permissions = Permission.objects.filter(content_type__app_label="lending", codename__in=codenames)
    group.permissions.add(*permissions)
    return group


def officer(name: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(_group("loan_officer", OFFICER_PERMS))
    return user


def inspector(name: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(_group("inspector", INSPECTOR_PERMS))
    return user


def client_for(client_factory, user):
    client = client_factory()
    client.force_login(user)
    return client


@pytest.fixture
def clients():
    from django.test import Client

    return lambda user: client_for(Client, user)


@pytest.fixture
def case(world):  # noqa: F811 (the imported fixture)
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_application(member)
    assert application.status == Application.Status.REFERRED
    return waiting(application)


def queue_url(queue: str) -> str:
    return reverse("admin:lending_queue", args=[queue])


def case_url(application_id: int) -> str:
    return reverse("admin:lending_case", args=[application_id])


def post(client, stage, action: str, **data):
    return client.post(
        case_url(stage.application_id), {"stage": stage.pk, "action": action, **data}, follow=True
    )


def test_the_video_check_queue_lists_waiting_cases_oldest_first_with_the_late_ones_marked(case, clients):
    other = b2b_application(rated_merchant(kind="b2b", **STRONG), code="fixed_loan")
    late = waiting(other)
    ApplicationStage.objects.filter(pk=late.pk).update(
        started_at=case.started_at - dt.timedelta(days=3), due_at=business_now() - dt.timedelta(hours=1)
    )
    apps.interview_book(
        application=case.application,
        starts_at=apps.interview_slots(on=case.application.submitted_on)[0]["starts_at"],
        on=case.application.submitted_on,
    )
    page = clients(officer("o1")).get(queue_url("video_check"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "<strong>2</strong> cases waiting" in text
    assert "1 past the time limit" in text
    # Oldest first, and the late one highlighted.
    assert text.index(other.reference) < text.index(case.application.reference)
    assert f'wb-late" data-testid="case-{other.reference}"' in text
    assert f'wb-late" data-testid="case-{case.application.reference}"' not in text
    # Merchant, amount in yuan, the booked interview and its meeting link.
    assert case.application.merchant.shop_name in text
    assert "100,000.00" in text
    assert f"https://meet.example.com/xiaodai/{case.application.reference}" in text


def test_a_case_claimed_by_one_officer_is_refused_to_another_with_a_message(case, clients):
    first, second = officer("o1"), officer("o2")
    answer = post(clients(first), case, "claim")
    assert answer.status_code == 200 and "claimed" in answer.content.decode()

    answer = post(clients(second), case, "claim")

    assert answer.status_code == 200
    assert "another officer holds this case" in answer.content.decode().lower()
    case.refresh_from_db()
    assert case.assignee == first
    # Deciding a case one does not hold is refused too, never a 500.
    answer = post(clients(second), case, "decide", outcome="pass", note="ok")
    assert answer.status_code == 200
    assert "claim the case before deciding it" in answer.content.decode().lower()
    case.refresh_from_db()
    assert case.status == ApplicationStage.Status.WAITING


def test_the_case_page_shows_the_checklist_and_the_whole_history(case, clients):
    user = officer("o1")
    post(clients(user), case, "claim")
    page = clients(user).get(case_url(case.application_id))

    text = page.content.decode()
    assert page.status_code == 200
    for code in ("sales", "margin", "debts"):
        assert f'name="check_{code}"' in text
    for name in ("lending.stages.eligibility", "lending.stages.declared_check", "lending.stages.video_check"):
        # Each stage by its title in the reader's language, not its dotted name.
        with translation.override("en"):  # the page's language here
            assert f"<td>{ApplicationStage(name=name).title}</td>" in text
        assert name not in text.replace(f'value="{name}"', "")
    assert "submitted" in text and "referred" in text  # the status changes
    assert 'data-testid="pass"' in text and 'data-testid="inspect"' in text


def test_a_pass_at_the_video_check_sends_the_application_to_officer_approval(case, clients):
    user = officer("o1")
    client = clients(user)
    post(client, case, "claim")

    answer = post(
        client,
        case,
        "decide",
        outcome="pass",
        note="sales confirmed on the call",
        recording_ref="rec-42",
        check_sales="agrees",
        remark_sales="bank statements match",
    )

    assert answer.status_code == 200
    case.refresh_from_db()
    assert case.status == ApplicationStage.Status.PASSED and case.decided_by == "o1"
    decision = case.detail["decisions"][0]
    assert decision["findings"]["sales"] == {"agrees": True, "remark": "bank statements match"}
    assert case.detail["recording_ref"] == "rec-42"
    application = Application.objects.get(pk=case.application_id)
    assert application.status == Application.Status.REFERRED
    assert waiting(application).queue == "officer_approval"
    assert application.reference in clients(user).get(queue_url("officer_approval")).content.decode()


def test_a_decline_needs_a_reason(case, clients):
    client = clients(officer("o1"))
    post(client, case, "claim")

    answer = post(client, case, "decide", outcome="decline", note="  ")

    assert "Note: a decline needs the reason" in answer.content.decode()
    assert Application.objects.get(pk=case.application_id).status == Application.Status.REFERRED

    post(client, case, "decide", outcome="decline", note="the warehouse in the video is not theirs")
    application = Application.objects.get(pk=case.application_id)
    assert application.status == Application.Status.DECLINED
    assert application.reasons[0]["text"] == "the warehouse in the video is not theirs"
    assert application.decided_on == business_date_today()
    page = client.get(case_url(case.application_id)).content.decode()
    assert f'data-testid="decided-on">{application.decided_on.isoformat()}<' in page


def test_inspect_sends_the_case_to_the_field_queue_and_only_its_inspector_sees_the_visit(case, clients):
    user = officer("o1")
    client = clients(user)
    own, other = inspector("insp1"), inspector("insp2")
    post(client, case, "claim")
    post(client, case, "decide", outcome="inspect", note="visit the warehouse")
    visit = waiting(Application.objects.get(pk=case.application_id))
    assert visit.queue == "field_inspection"
    assert case.application.reference in client.get(queue_url("field_inspection")).content.decode()

    post(client, visit, "claim")
    page = client.get(case_url(case.application_id)).content.decode()
    assert f'<option value="{own.pk}">insp1</option>' in page
    post(client, visit, "assign", inspector=own.pk, address="1 Warehouse Road")
    inspection = FieldInspection.objects.get(application_id=case.application_id)
    assert inspection.inspector == own and inspection.address == "1 Warehouse Road"

    changelist = reverse("admin:lending_fieldinspection_changelist")
    record = reverse("admin:lending_inspection_record", args=[inspection.pk])
    assert "1 Warehouse Road" in clients(own).get(changelist).content.decode()
    assert "1 Warehouse Road" not in clients(other).get(changelist).content.decode()
    assert clients(other).get(record).status_code == 404
    assert clients(other).post(record, {"result": "passed", "findings": "x"}).status_code == 404

    answer = clients(own).post(record, {"result": "passed", "findings": "", "visited_on": "2026-03-01"})
    assert "What was seen on the visit" in answer.content.decode()
    answer = clients(own).post(
        record, {"result": "passed", "findings": "stock as declared", "visited_on": "2026-03-01"}, follow=True
    )
    assert answer.status_code == 200
    inspection.refresh_from_db()
    assert inspection.result == FieldInspection.Result.PASSED and inspection.findings == "stock as declared"
    assert waiting(Application.objects.get(pk=case.application_id)).queue == "officer_approval"


def test_four_eyes_at_the_approval_queue(case, clients, settings):
    settings.LENDING_SECOND_APPROVAL_FROM_FEN = 1
    first, second = officer("o1"), officer("o2")
    post(clients(first), case, "claim")
    post(clients(first), case, "decide", outcome="pass", note="ok")
    approval = waiting(Application.objects.get(pk=case.application_id))
    assert approval.queue == "officer_approval"

    post(clients(first), approval, "claim")
    answer = post(clients(first), approval, "decide", outcome="pass", note="terms fit")
    assert "waiting for a second officer" in answer.content.decode()
    assert Application.objects.get(pk=case.application_id).status == Application.Status.REFERRED
    second_client = clients(second)
    assert "waiting for a second officer" in second_client.get(queue_url("officer_approval")).content.decode()
    assert 'data-testid="second-officer"' in second_client.get(case_url(case.application_id)).content.decode()

    # The same officer cannot approve again.
    answer = post(clients(first), approval, "claim")
    assert "a second officer must approve it" in answer.content.decode().lower()
    approval.refresh_from_db()
    assert approval.assignee is None

    post(clients(second), approval, "claim")
    post(clients(second), approval, "decide", outcome="pass", note="agreed")
    application = Application.objects.get(pk=case.application_id)
    assert application.status == Application.Status.APPROVED
    assert application.line is not None and application.line.video_checked_at is not None


def test_people_without_the_permissions_are_kept_out(case, client):
    pages = [
        queue_url("video_check"),
        case_url(case.application_id),
        reverse("ops-assembly-line"),
        reverse("admin:lending_fieldinspection_changelist"),
    ]
    User.objects.create_user("shopper", password="x")
    client.login(username="shopper", password="x")
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 302 and "/admin/login/" in answer["Location"], url

    bare = User.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(bare)
    for url in pages:
        assert client.get(url).status_code == 403, url
    claim = {"stage": case.pk, "action": "claim"}
    assert client.post(case_url(case.application_id), claim).status_code == 403
    case.refresh_from_db()
    assert case.assignee is None

    # Seeing a case is not working it: a viewer may not claim.
    viewer = User.objects.create_user("auditor", password="x", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_application", "view_applicationstage"])
    )
    client.force_login(viewer)
    assert client.get(queue_url("video_check")).status_code == 200
    assert client.post(case_url(case.application_id), claim).status_code == 403


def test_a_document_is_served_only_to_staff_who_may_view_documents(case, clients, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = b"%PDF-1.4\n% statement\n"
    document = apps.application_document_add(
        application=case.application,
        kind="bank_statement",
        upload=SimpleUploadedFile("statement.pdf", content, content_type="application/pdf"),
    )
    url = reverse("admin:lending_document", args=[document.pk])
    user = officer("o1")
    assert url in clients(user).get(case_url(case.application_id)).content.decode()
    answer = clients(user).get(url)
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == content
    assert "statement.pdf" in answer["Content-Disposition"]

    viewer = User.objects.create_user("auditor", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_application"))
    assert clients(viewer).get(url).status_code == 403
    assert url not in clients(viewer).get(case_url(case.application_id)).content.decode()


def test_an_unknown_queue_or_stage_is_a_clear_answer_not_a_500(case, clients):
    client = clients(officer("o1"))
    assert client.get(queue_url("nowhere")).status_code == 404
    assert client.get("/admin/lending/application/abc/change/").status_code == 404
    change = client.get(f"/admin/lending/application/{case.application_id}/change/")
    assert change.status_code == 302 and change["Location"] == case_url(case.application_id)
    answer = client.post(case_url(case.application_id), {"stage": "abc", "action": "claim"}, follow=True)
    assert answer.status_code == 200 and "No such case" in answer.content.decode()


@pytest.mark.parametrize(
    ("language", "reason", "not_shown"),
    [("zh-hans", "您没有领取该案件。", "not yours"), ("en", "You do not hold this case", "没有领取")],
)
def test_releasing_a_case_one_does_not_hold_gives_the_reason_in_the_readers_language(
    case, clients, settings, language, reason, not_shown
):
    """The service's reason in the officer's language; in Chinese without the fields' entries
    for programs ("stage: not yours")."""
    settings.LANGUAGE_CODE = language

    page = post(clients(officer("o1")), case, "release").content.decode()

    assert reason in page
    assert not_shown not in page
    case.refresh_from_db()
    assert case.status == ApplicationStage.Status.WAITING and case.assignee is None
