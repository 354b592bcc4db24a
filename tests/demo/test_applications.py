"""The demo's applicants go through the credit assembly line: B2C shops are decided at once (paid
out or declined with reasons), B2B members wait in the video-check queue with an interview
booked; the demo's own logins never apply by themselves; the same seed and date give the same
applications; nothing arrives before scoring has a champion."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from demo import applications
from lending.models import Application, ApplicationStage
from scoring.models import ScoringModel
from tests.lending.test_applications import STRONG, TODAY, world  # noqa: F401 - a fixture
from tests.merchants.factories import OrderFactory
from tests.scoring.factories import rated_merchant


class Rollback(Exception):
    pass


def shop(**kwargs):
    merchant = rated_merchant(**kwargs)
    for _ in range(4):
        OrderFactory(merchant=merchant, shipped=True, amount_fen=300_000)
    return merchant


def outcomes() -> list[tuple]:
    return sorted(
        Application.objects.values_list("merchant__external_id", "product__code", "amount_fen", "status")
    )


@pytest.fixture
def market(world):  # noqa: F811 - the fixture imported above
    sellers = [shop(**STRONG) for _ in range(5)]
    members = [rated_merchant(kind="b2b", **STRONG) for _ in range(3)]
    login = shop(**STRONG)
    login.user = User.objects.create_user("seller")
    login.save(update_fields=["user"])
    return sellers, members, login


@pytest.mark.django_db
def test_demo_applicants_are_decided_at_once_or_wait_for_their_video_interview(market):
    sellers, members, login = market
    arrivals = applications.applications_arrive(on=TODAY, b2c=6, b2b=3)

    b2c = Application.objects.filter(merchant__in=sellers)
    assert b2c.filter(status=Application.Status.DISBURSED).exists()
    assert set(b2c.values_list("status", flat=True)) <= {"disbursed", "declined"}
    for declined in b2c.filter(status=Application.Status.DECLINED):
        assert declined.reasons, declined.reference
    for paid in b2c.filter(status=Application.Status.DISBURSED):
        assert paid.loan is not None and paid.loan.contract.sha256 == paid.accepted_sha256
    assert (
        b2c.filter(product__code="order_loan").exclude(pledged_order_ids=[]).exists()
        or not b2c.filter(product__code="order_loan").exists()
    )

    b2b = Application.objects.filter(merchant__in=members)
    assert b2b.count() == 3
    for application in b2b:
        assert application.status == Application.Status.REFERRED
        assert application.declared["sales_fen"] > 0 and application.questionnaire
        waiting = application.stages.get(status=ApplicationStage.Status.WAITING)
        assert waiting.queue == "video_check"
        assert application.interviews.filter(outcome="booked").count() == 1
    assert arrivals.interviews == 3
    assert not Application.objects.filter(merchant=login).exists()


@pytest.mark.django_db
def test_the_same_seed_and_date_give_the_same_applications(market):
    with pytest.raises(Rollback), transaction.atomic():
        applications.applications_arrive(on=TODAY, b2c=3, b2b=2)
        first = outcomes()
        raise Rollback
    assert not Application.objects.exists()
    applications.applications_arrive(on=TODAY, b2c=3, b2b=2)
    assert outcomes() == first and len(first) >= 3


@pytest.mark.django_db
def test_nothing_arrives_before_scoring_has_a_champion(market):
    ScoringModel.objects.update(status=ScoringModel.Status.RETIRED)
    arrivals = applications.applications_arrive(on=TODAY, b2c=6, b2b=3)
    assert arrivals.by_status == {} and not Application.objects.exists()


@pytest.fixture
def large_members(world, settings):  # noqa: F811 - the fixture imported above
    """Four rated members and the demo's two officers; the four-eyes amount set within what the
    members' ratings grant (the test world's ratings grant lines smaller than the seed's)."""
    from django.contrib.auth.models import Group

    from scoring.services.rating import merchant_rate

    members = [rated_merchant(kind="b2b", **STRONG) for _ in range(4)]
    lines = []
    for member in members:
        score = merchant_rate(merchant=member, as_of=TODAY)
        lines += [int(t.get("line_fen") or 0) for t in (score.components.get("products") or {}).values()]
    positive = sorted(line for line in lines if line > 0)
    assert positive, "the test world's members are granted no B2B line"
    settings.LENDING_SECOND_APPROVAL_FROM_FEN = positive[0] // 1_000_000 * 1_000_000 or positive[0]
    group, _ = Group.objects.get_or_create(name="loan_officer")
    for name in ("officer", "officer2"):
        User.objects.create_user(name, is_staff=True).groups.add(group)
    return members


@pytest.mark.django_db
def test_demo_members_ask_for_large_lines_upload_documents_and_large_cases_wait_for_a_second_officer(
    large_members, settings
):
    from lending.forms_member import APPLY_DOCUMENT_KINDS
    from lending.services import applications as apps

    arrivals = applications.applications_arrive(on=TODAY, b2c=0, b2b=4)

    b2b = Application.objects.filter(merchant__in=large_members)
    assert b2b.count() == 4
    threshold = settings.LENDING_SECOND_APPROVAL_FROM_FEN
    # Half of them asked for the line their rating grants, from the four-eyes amount up; at the
    # demo's start those applied LARGE_EARLIER_DAYS earlier.
    large = [a for a in b2b if a.submitted_on < TODAY]
    assert len(large) == 2, [(a.amount_fen, a.decided_limit_fen, a.submitted_on) for a in b2b]
    for application in large:
        assert application.amount_fen >= threshold and application.decided_limit_fen >= threshold
        assert application.submitted_on == TODAY - dt.timedelta(days=applications.LARGE_EARLIER_DAYS)
    # Every member uploaded the documents the form asks for: files in storage, PDF or PNG.
    for application in b2b:
        documents = list(application.documents.all())
        assert sorted(d.kind for d in documents) == sorted(APPLY_DOCUMENT_KINDS)
        for document in documents:
            assert document.content_type in ("application/pdf", "image/png")
            with document.file.open("rb") as stored:
                head = stored.read(8)
            assert head.startswith(b"%PDF-1.4") or head == b"\x89PNG\r\n\x1a\n"
    # The large ones applied earlier, their interviews have begun: the demo's officer passed the
    # video check and gave the first approval; they wait for a second officer.
    assert arrivals.first_approvals == 2
    officer = User.objects.get(username="officer")
    for application in large:
        case = application.stages.get(status=ApplicationStage.Status.WAITING)
        assert case.queue == "officer_approval" and case.assignee is None
        assert [a["user_id"] for a in case.detail["approvals"]] == [officer.pk]
    # The small ones wait in the video-check queue for a person.
    for application in b2b.exclude(pk__in=[a.pk for a in large]):
        assert application.stages.get(status=ApplicationStage.Status.WAITING).queue == "video_check"

    # End to end: the same officer may not approve again; a second, different officer does, and
    # the money is there (a fixed loan paid out, a revolving line opened).
    case = large[0].stages.get(status=ApplicationStage.Status.WAITING)
    from common.errors import ConflictError

    with pytest.raises(ConflictError):
        apps.application_stage_claim(stage=case, user=officer)
    second = User.objects.get(username="officer2")
    apps.application_stage_claim(stage=case, user=second)
    after = apps.application_stage_decide(stage=case, user=second, outcome="pass", note="ok", on=TODAY)
    assert after.status in (Application.Status.APPROVED, Application.Status.DISBURSED)
    assert after.line is not None and after.line.limit_fen >= threshold
