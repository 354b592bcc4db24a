"""The assembly-line screen's figures on a small set of applications and stages whose answers were
worked out by hand: waiting and late cases, median and 90th-percentile dwell (the same on SQLite's
fallback and PostgreSQL's percentile_cont), stages ended per day, decision rates per product, the
risk mix and merchants per officer; and the page itself."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from lending import ops
from lending.models import Application, ApplicationChange, ApplicationStage, CreditLine
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=SHANGHAI)
HOUR = dt.timedelta(hours=1)
VIDEO = "lending.stages.video_check"
APPROVAL = "lending.stages.officer_approval"


def test_percentile_cont_interpolates_as_postgresql_does():
    # Position p × (n − 1) in the sorted values, linear between neighbours.
    assert ops.percentile_cont([1, 2, 3, 4, 10], 0.5) == 3
    assert ops.percentile_cont([10, 1, 4, 3, 2], 0.9) == pytest.approx(7.6)
    assert ops.percentile_cont([30, 90], 0.5) == 60
    assert ops.percentile_cont([30, 90], 0.9) == pytest.approx(84)
    assert ops.percentile_cont([5], 0.9) == 5
    assert ops.percentile_cont([], 0.5) is None
    with pytest.raises(ValueError):
        ops.percentile_cont([1], 1.5)


def test_stages_are_listed_in_pipeline_order_across_products():
    names = [name for name, _, _ in ops.stage_order()]
    assert names[:10] == [
        "lending.stages.eligibility",
        "riskcontrol.stages.identity",
        "riskcontrol.stages.blacklist",
        "riskcontrol.stages.velocity",
        "riskcontrol.stages.antifraud",
        "riskcontrol.stages.policy",
        "scoring.stages.rate",
        "lending.stages.record",
        "lending.stages.exposure",
        "riskcontrol.stages.group_exposure",
    ]
    assert names.index("lending.stages.declared_check") < names.index(VIDEO) < names.index(APPROVAL)
    assert "lending.stages.auto_decide" in names and len(names) == len(set(names))
    kinds = {name: kind for name, kind, _ in ops.stage_order()}
    assert kinds[VIDEO] == "human" and kinds["lending.stages.eligibility"] == "machine"


def application(product, merchant=None, *, status="submitted", grade="", days_ago=1, referred=False):
    merchant = merchant or MerchantFactory()
    row = Application.objects.create(
        reference=f"A-{Application.objects.count() + 1}",
        merchant=merchant,
        product=product,
        channel="portal",
        amount_fen=1_000_000,
        status=status,
        decided_grade=grade,
        submitted_on=(NOW - dt.timedelta(days=days_ago)).date(),
        submitted_at=NOW - dt.timedelta(days=days_ago),
    )
    if referred:
        ApplicationChange.objects.create(
            application=row, kind="referred", from_status="submitted", to_status="referred", actor="t"
        )
    return row


def stage(app, name, *, started_at, ended_at=None, position=0, due_at=None):
    return ApplicationStage.objects.create(
        application=app,
        position=position,
        name=name,
        kind="human",
        queue="video_check" if name == VIDEO else "officer_approval",
        status="waiting" if ended_at is None else "passed",
        started_at=started_at,
        ended_at=ended_at,
        due_at=due_at,
    )


@pytest.fixture
def line_of_work(db):
    """Video check: ended after 1, 2, 3 and 4 hours (two today, two yesterday), one waiting for 10
    hours and late, one ended 40 days ago (outside the window). Officer approval: 30 and 90
    minutes, both ended today. Product 'revolving': approved (A, referred first), approved (B),
    declined, referred and waiting; product 'fixed': disbursed (A), and one submitted 40 days ago."""
    revolving = ProductFactory(code="revolving")
    fixed = ProductFactory(code="fixed_loan", name="Fixed loan", is_revolving=False)
    approved_a = application(revolving, status="approved", grade="A", referred=True)
    approved_b = application(revolving, status="approved", grade="B")
    declined = application(revolving, status="declined", grade="C")
    open_case = application(revolving, status="referred", referred=True)
    paid = application(fixed, status="disbursed", grade="A")
    old = application(fixed, status="declined", days_ago=40)
    for app, hours, ended_ago in [
        (approved_a, 1, 1 * HOUR),
        (approved_b, 2, 2 * HOUR),
        (declined, 3, 26 * HOUR),
        (paid, 4, 27 * HOUR),
    ]:
        stage(app, VIDEO, started_at=NOW - ended_ago - hours * HOUR, ended_at=NOW - ended_ago)
    stage(open_case, VIDEO, started_at=NOW - 10 * HOUR, due_at=NOW - HOUR)
    stage(old, VIDEO, started_at=NOW - dt.timedelta(days=40, hours=1), ended_at=NOW - dt.timedelta(days=40))
    stage(
        approved_a,
        APPROVAL,
        position=1,
        started_at=NOW - 3 * HOUR,
        ended_at=NOW - 150 * dt.timedelta(minutes=1),
    )
    stage(
        approved_b,
        APPROVAL,
        position=1,
        started_at=NOW - 3 * HOUR,
        ended_at=NOW - 90 * dt.timedelta(minutes=1),
    )
    # A line keeps one more merchant looked after; a closed one does not.
    CreditLineFactory(merchant=MerchantFactory(), product=revolving)
    CreditLineFactory(merchant=MerchantFactory(), product=revolving, status=CreditLine.Status.CLOSED)
    officers, _ = Group.objects.get_or_create(name="loan_officer")
    for name, is_active, is_staff in [
        ("o1", True, True),
        ("o2", True, True),
        ("gone", False, True),
        ("x", True, False),
    ]:
        User.objects.create_user(name, is_active=is_active, is_staff=is_staff).groups.add(officers)
    return {"open_case": open_case}


def by_name(figures):
    return {row.name: row for row in figures}


def test_waiting_late_and_dwell_per_stage(line_of_work):
    days, figures = ops.stage_figures(now=NOW)
    rows = by_name(figures)
    video, approval = rows[VIDEO], rows[APPROVAL]

    assert (video.waiting, video.late) == (1, 1)
    assert (approval.waiting, approval.late) == (0, 0)
    # Dwell in the last 30 days: 1, 2, 3, 4 hours ended and 10 hours waiting (now − started).
    assert video.dwell_rows == 5
    assert video.dwell_median_seconds == pytest.approx(3 * 3600)
    assert video.dwell_p90_seconds == pytest.approx(7.6 * 3600)
    assert approval.dwell_median_seconds == pytest.approx(60 * 60)
    assert approval.dwell_p90_seconds == pytest.approx(84 * 60)
    assert rows["lending.stages.eligibility"].dwell_median_seconds is None
    # Ended per day over 14 days, the last being today (Asia/Shanghai).
    assert len(days) == 14 and days[-1] == dt.date(2026, 3, 1)
    assert video.ended_per_day[-1] == 2 and video.ended_per_day[-2] == 2 and video.ended_total == 4
    assert approval.ended_per_day[-1] == 2 and approval.ended_total == 2


def test_decision_rates_risk_mix_late_cases_and_merchants_per_officer(line_of_work):
    rates = {row["code"]: row for row in ops.decision_rates(now=NOW)}
    revolving = rates["revolving"]
    assert (revolving["total"], revolving["approved"], revolving["declined"]) == (4, 2, 1)
    assert (revolving["referred"], revolving["open"]) == (2, 1)
    assert revolving["approval_rate"] == 0.5 and revolving["decline_rate"] == 0.25
    assert revolving["referral_rate"] == 0.5
    # The application submitted 40 days ago is outside the window.
    assert (rates["fixed_loan"]["total"], rates["fixed_loan"]["approved"]) == (1, 1)

    mix = ops.risk_mix()
    assert [(m["grade"], m["count"]) for m in mix] == [("A", 2), ("B", 1)]
    assert mix[0]["share"] == pytest.approx(2 / 3)

    assert [s.application for s in ops.late_cases(now=NOW)] == [line_of_work["open_case"]]

    # Looked after: the two approved, the referred one, the one with an active line = 4 merchants;
    # two active staff officers.
    coverage = ops.coverage()
    assert (coverage["merchants"], coverage["officers"], coverage["per_officer"]) == (4, 2, 2)
    assert coverage["target"] == 1000


def test_the_assembly_line_page_renders_for_staff_who_may_view_applications(
    line_of_work, client, monkeypatch
):
    monkeypatch.setattr("lending.views_ops.business_now", lambda: NOW)
    url = reverse("ops-assembly-line")
    user = User.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(url).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")  # the checks below read its English

    assert page.status_code == 200
    text = page.content.decode()
    assert '<meta http-equiv="refresh" content="30">' in text
    assert f'data-testid="ops-stage-{VIDEO}"' in text
    assert "50.0%" in text  # the revolving product's approval rate
    assert line_of_work["open_case"].reference in text  # the late case
    assert "= <strong>2.0</strong> per officer" in text


def test_an_empty_line_of_work_renders(db, client):
    user = User.objects.create_user("ops", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    client.force_login(user)
    page = client.get(reverse("ops-assembly-line"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "No applications" in page.content.decode()
