"""The business clock (common.business_date.business_now) and the case times that follow it: the
assembly line's dwell, late cases and days, the queue's and case page's "late", and the video
check that waits for its booked slot to begin. The demo moves the business date on many days in
minutes, so none of these may read the wall clock."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone, translation

from common.business_date import business_date_set, business_day_end, business_now
from common.errors import ApplicationError
from common.models import BusinessCalendar
from lending.admin_applications import application_where
from lending.models import Application, ApplicationStage, VideoInterview
from lending.services import applications as apps
from tests.lending import test_applications_api as api
from tests.lending.factories import ProductFactory
from tests.lending.test_applications import (  # noqa: F401 (the world fixture)
    STRONG,
    TODAY,
    b2b_application,
    waiting,
    world,
)
from tests.lending.test_ops import APPROVAL, VIDEO, application, stage
from tests.lending.test_workbench import case_url, officer, post
from tests.scoring.factories import rated_merchant

HOUR = dt.timedelta(hours=1)


def at(on: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(on, dt.time(hour, minute)))


def calendar_set(on: dt.date, *, wall: dt.datetime) -> None:
    business_date_set(on=on, allow_backwards=True)
    BusinessCalendar.objects.filter(pk=1).update(updated_at=wall)


# --- The clock ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_calendar_the_business_clock_is_the_wall_clock():
    wall = at(dt.date(2026, 5, 4), 10)
    assert business_now(wall) == wall


@pytest.mark.django_db
def test_a_business_date_begins_at_the_wall_clocks_hour_runs_with_it_and_stops_at_its_end():
    wall = at(dt.date(2026, 12, 7), 14, 30)
    # The demo: a business date months behind the wall date (make run), then moved on.
    calendar_set(dt.date(2026, 7, 10), wall=wall)
    assert business_now(wall) == at(dt.date(2026, 7, 10), 14, 30)
    assert business_now(wall + 2 * HOUR) == at(dt.date(2026, 7, 10), 16, 30)
    # Past its last instant the clock waits for the next date.
    assert business_now(wall + 12 * HOUR) == business_day_end(dt.date(2026, 7, 10))
    # The next date begins at the hour the wall clock shows then: never back.
    calendar_set(dt.date(2026, 7, 11), wall=wall + 12 * HOUR)
    assert business_now(wall + 12 * HOUR) == at(dt.date(2026, 7, 11), 2, 30)
    # Ahead of the wall date too.
    calendar_set(dt.date(2027, 1, 20), wall=wall)
    assert business_now(wall + HOUR) == at(dt.date(2027, 1, 20), 15, 30)


@pytest.mark.django_db
def test_setting_the_same_date_again_leaves_the_clock_running():
    business_date_set(on=dt.date(2026, 7, 10), allow_backwards=True)
    wall = timezone.now()
    BusinessCalendar.objects.filter(pk=1).update(updated_at=wall - 3 * HOUR)
    before = business_now(wall)
    business_date_set(on=dt.date(2026, 7, 10))
    assert business_now(wall) == before


# --- The assembly line --------------------------------------------------------------------------


@pytest.fixture
def demo_days_on(db):
    """The demo moved on ten business days in a few wall-clock minutes: the business date is
    2026-07-20, set at 14:00 (wall). Video check: one case waiting since business 07-18 10:00
    (due 07-19 10:00: late), two ended on 07-19 and 07-20 after 2 and 4 business hours; approval:
    one ended on 07-20 after 30 minutes.

    The date was set at the last 14:00 (wall) before now, so the business clock reads between
    07-20 14:00 and the date's end whatever the hour the test runs at (set at the wall clock's
    hour itself, before noon the approval due at 12:00 would not yet be late)."""
    wall = timezone.localtime().replace(hour=14, minute=0, second=0, microsecond=0)
    if wall > timezone.now():
        wall -= dt.timedelta(days=1)
    on = dt.date(2026, 7, 20)
    calendar_set(on, wall=wall)
    product = ProductFactory(code="revolving")
    late = application(product, status="referred")
    stage(late, VIDEO, started_at=at(dt.date(2026, 7, 18), 10), due_at=at(dt.date(2026, 7, 19), 10))
    for day, hours in [(dt.date(2026, 7, 19), 2), (dt.date(2026, 7, 20), 4)]:
        done = application(product, status="referred")
        stage(done, VIDEO, started_at=at(day, 8), ended_at=at(day, 8 + hours))
        stage(
            done,
            APPROVAL,
            position=1,
            started_at=at(day, 12),
            ended_at=at(day, 12, 30) if day == on else None,
            due_at=None if day == on else at(day, 12) + 24 * HOUR,
        )
    return {"late": late, "on": on, "wall": wall}


def test_the_assembly_line_follows_the_business_clock(demo_days_on, client):
    user = User.objects.create_user("ops", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    client.force_login(user)

    page = client.get(reverse("ops-assembly-line"), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    assert timezone.localdate(page.context["now"]) == demo_days_on["on"]
    rows = {r["stage"].name: r["stage"] for r in page.context["rows"]}
    video = rows[VIDEO]
    assert (video.waiting, video.late) == (1, 1)
    # Dwell: 2 h and 4 h ended, and the waiting case since 07-18 10:00 (51 hours).
    assert video.dwell_rows == 3
    assert video.dwell_median_seconds == pytest.approx(4 * 3600)
    assert video.dwell_p90_seconds > 24 * 3600
    # Ended per business day: the last day of the bars is the business date.
    assert page.context["days"][-1] == demo_days_on["on"]
    assert video.ended_per_day[-2:] == [1, 1]
    assert rows[APPROVAL].ended_per_day[-1] == 1
    assert rows[APPROVAL].late == 1  # due 07-20 12:00, the business clock is past it
    assert demo_days_on["late"].reference in page.content.decode()


def test_decision_rates_count_the_applications_of_the_last_business_days(demo_days_on, client):
    user = User.objects.create_user("ops", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    client.force_login(user)
    Application.objects.update(submitted_on=dt.date(2026, 7, 15))

    page = client.get(reverse("ops-assembly-line"), HTTP_ACCEPT_LANGUAGE="en")

    assert [r["total"] for r in page.context["rates"]] == [3]


# --- The video check waits for its slot ---------------------------------------------------------


@pytest.fixture
def booked(world):  # noqa: F811 (the imported fixture)
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_application(member)
    case = waiting(application)
    slot = apps.interview_slots(on=TODAY)[0]["starts_at"]
    apps.interview_book(application=application, starts_at=slot, on=TODAY)
    return case, slot


def test_the_video_check_is_not_passed_before_the_booked_slot_begins(booked):
    case, slot = booked
    user = officer("o1")
    apps.application_stage_claim(stage=case, user=user)

    for outcome in ("pass", "inspect"):
        with pytest.raises(ApplicationError) as refused:
            apps.application_stage_decide(stage=case, user=user, outcome=outcome, note="ok", on=TODAY)
        assert "outcome" in refused.value.extra["fields"]
        assert f"{timezone.localtime(slot):%Y-%m-%d %H:%M}" in refused.value.message
    case.refresh_from_db()
    assert case.status == ApplicationStage.Status.WAITING and case.assignee_id == user.pk
    assert VideoInterview.objects.get(application=case.application).outcome == VideoInterview.Outcome.BOOKED

    # The business date moves on past the slot: the check may be passed.
    business_date_set(on=TODAY + dt.timedelta(days=3))
    after = apps.application_stage_decide(stage=case, user=user, outcome="pass", note="ok", on=TODAY)
    assert after.current_stage == APPROVAL


def test_a_video_check_may_be_declined_before_its_slot(booked):
    case, _slot = booked
    user = officer("o1")
    apps.application_stage_claim(stage=case, user=user)
    after = apps.application_stage_decide(
        stage=case, user=user, outcome="decline", note="documents forged", on=TODAY
    )
    assert after.status == Application.Status.DECLINED


def test_the_case_page_says_why_pass_is_not_available_yet(booked, client, settings):
    settings.LANGUAGE_CODE = "en"
    case, slot = booked
    user = officer("o1")
    client.force_login(user)
    post(client, case, "claim")

    page = client.get(case_url(case.application_id), HTTP_ACCEPT_LANGUAGE="en")

    text = page.content.decode()
    assert 'data-testid="interview-not-started"' in text
    assert f"{timezone.localtime(slot):%Y-%m-%d %H:%M}" in text
    assert 'value="pass" class="default" data-testid="pass" disabled' in text
    answer = post(client, case, "decide", outcome="pass", note="ok")
    assert "it can be passed once it has begun" in answer.content.decode()

    business_date_set(on=TODAY + dt.timedelta(days=3))
    text = client.get(case_url(case.application_id)).content.decode()
    assert 'data-testid="interview-not-started"' not in text
    assert 'data-testid="pass" disabled' not in text


# --- Where an application stands, in words ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "english", "chinese"),
    [
        (
            "disbursed",
            "Money paid · all stages passed (last: Officer approval)",
            "已放款 · 各环节均已通过（最后一环：审批）",
        ),
        ("referred", "With an officer · waiting at Officer approval", "人工审核中 · 等待环节：审批"),
        ("declined", "Declined at Officer approval", "未通过 · 于审批环节"),
    ],
)
@pytest.mark.django_db
def test_the_case_status_reads_right_after_payout_in_both_languages(status, english, chinese):
    row = Application(status=status, current_stage=APPROVAL)
    with translation.override("en"):
        assert application_where(row) == english
    with translation.override("zh-hans"):
        assert application_where(row) == chinese


# --- A decision's times --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_decision_through_the_api_is_stamped_on_the_business_clock(partner_client):
    """The partner API reads the business clock with its first read (no statement more), and the
    application's submission and every stage's start and end follow it: with the business date
    months from the wall date (the demo), dwell times stay true."""
    api.world_make()
    wall = timezone.now() - dt.timedelta(minutes=1)
    calendar_set(api.TODAY, wall=wall)
    api.shop(partner_client.partner, "SHOP-1")
    sha = api.quote(partner_client).json()["contract_sha256"]
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    assert api.apply(partner_client, body).status_code == 201
    application = Application.objects.get()
    began = at(api.TODAY, timezone.localtime(wall).hour, timezone.localtime(wall).minute)
    clock = business_now()
    assert began <= application.submitted_at <= clock
    stages = list(ApplicationStage.objects.filter(application=application))
    assert stages and all(began <= s.started_at <= s.ended_at <= clock for s in stages)
