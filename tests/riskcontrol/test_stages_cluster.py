"""Likely rings before they have a trading record: new shops linked by an owner's phone, address,
ID or card applying together, or a shop the network's latest runs flag, wait for a fraud
reviewer; an established shop with a linked sibling does not."""

import datetime as dt

from django.utils import timezone

from lending.models import Application, ApplicationStage
from lending.pipeline import stage_replay
from merchants.models import Merchant
from riskcontrol import rules
from riskcontrol.models import NetworkRun, RingFlag
from tests.lending.test_applications import STRONG, TODAY, instant, world  # noqa: F401
from tests.riskcontrol.test_stages import trade
from tests.scoring.factories import rated_merchant

NEW = TODAY - dt.timedelta(days=120)  # old enough for the policy, new for the cluster rule


def test_the_cluster_rule_on_worked_examples():
    assert rules.application_cluster(new_shops_applying=2, min_shops=3, ring_flagged=False).outcome == "pass"
    at = rules.application_cluster(new_shops_applying=3, min_shops=3, ring_flagged=False)
    assert at.outcome == "refer" and at.codes == ("new_shops_applying_together",)
    flagged = rules.application_cluster(new_shops_applying=1, min_shops=3, ring_flagged=True)
    assert flagged.outcome == "refer" and flagged.codes == ("network_ring_flag",)


def _new_shop(phone: str | None = None):
    merchant = rated_merchant(**STRONG)
    Merchant.objects.filter(pk=merchant.pk).update(opened_on=NEW)
    if phone:
        merchant.owner.phone = phone
        merchant.owner.save()
    merchant.refresh_from_db()
    trade(merchant, days=25)
    return merchant


def test_the_third_new_shop_behind_one_phone_applying_in_the_window_is_referred(world):  # noqa: F811
    first = _new_shop()
    second = _new_shop(first.owner.phone)
    _, one = instant(first)
    _, two = instant(second)
    assert one.status != Application.Status.REFERRED and two.status != Application.Status.REFERRED
    third = _new_shop(first.owner.phone)
    _, three = instant(third)
    assert three.status == Application.Status.REFERRED
    waiting = three.stages.get(status=ApplicationStage.Status.WAITING)
    assert waiting.queue == "fraud_review" and waiting.name == "riskcontrol.stages.antifraud"
    assert [r["code"] for r in waiting.reasons] == ["likely_ring"]
    assert waiting.detail["facts"]["cluster"]["new_shops_applying"] == 3
    assert stage_replay(waiting).outcome == "refer"


def test_an_established_shop_with_linked_siblings_is_not_a_cluster(world):  # noqa: F811
    old = rated_merchant(**STRONG)  # opened in 2020
    trade(old, days=25)
    sibling = _new_shop(old.owner.phone)
    instant(sibling)
    _, again = instant(old)
    assert again.status != Application.Status.REFERRED


def test_a_shop_flagged_by_the_network_waits_for_a_reviewer(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    trade(merchant, days=25)
    run = NetworkRun.objects.create(
        business_on=TODAY,
        detector="shared_attributes",
        version="sa-2",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    RingFlag.objects.create(
        run=run, merchant=merchant, ring=1, score=2.0, members=[merchant.pk], reasons=["x"]
    )
    _, application = instant(merchant)
    assert application.status == Application.Status.REFERRED
    stage = application.stages.get(status=ApplicationStage.Status.WAITING)
    assert stage.detail["facts"]["cluster"]["ring_flag"] == {
        "detector": "shared_attributes",
        "business_on": TODAY.isoformat(),
    }
