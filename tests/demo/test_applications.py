"""The demo's applicants go through the credit assembly line: B2C shops are decided at once (paid
out or declined with reasons), B2B members wait in the video-check queue with an interview
booked; the demo's own logins never apply by themselves; the same seed and date give the same
applications; nothing arrives before scoring has a champion."""

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
