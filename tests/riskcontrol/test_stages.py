"""Risk control's stages in the credit pipeline: each decision names its reason in plain words and
the rule set's version; moderate fraud evidence waits in the fraud-review queue for a person."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone, translation

from common.crypto import blind_index
from common.texts import stored_text
from lending.models import Application, ApplicationStage, CreditLine, Product
from lending.pipeline import stage_replay
from lending.services import applications as apps
from merchants.models import Merchant, MerchantDevice, OrderStatus, Verification
from riskcontrol import rulesets, stages
from riskcontrol.models import BlacklistEntry
from tests.lending.test_applications import STRONG, TODAY, b2b_application, instant, world  # noqa: F401
from tests.merchants.factories import MerchantFactory, OrderFactory, OwnerFactory
from tests.scoring.factories import rated_merchant


def reasons(application) -> list[str]:
    return [r["code"] for r in application.reasons]


def stopped_at(application) -> ApplicationStage:
    return application.stages.order_by("-position").first()


def trade(merchant, *, days: int, per_day: int = 1, buyer=None, first_on=TODAY - dt.timedelta(days=60)):
    """Settled orders on `days` consecutive days from `first_on`, bought by `buyer` (a merchant)
    or by a different consumer each time."""
    for day in range(days):
        placed = timezone.make_aware(dt.datetime.combine(first_on + dt.timedelta(days=day), dt.time(10)))
        for n in range(per_day):
            OrderFactory(
                merchant=merchant,
                buyer_merchant=buyer,
                buyer_ref=f"shop-{buyer.pk}" if buyer else f"consumer-{merchant.pk}-{day}-{n}",
                status=OrderStatus.SETTLED,
                placed_at=placed,
                paid_at=placed,
                shipped_at=placed + dt.timedelta(hours=5),
                delivered_at=placed + dt.timedelta(days=2),
                settled_at=placed + dt.timedelta(days=3),
            )


def test_a_clean_merchant_passes_every_risk_stage_with_the_rule_set_version(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    trade(merchant, days=25)
    _, application = instant(merchant)
    assert application.status == Application.Status.DISBURSED
    risk = application.stages.filter(name__startswith="riskcontrol.")
    assert risk.count() == 6
    for row in risk:
        assert row.status == ApplicationStage.Status.PASSED and row.version == "rules-1", row.name
        assert stage_replay(row).outcome == "pass"
    assert (
        application.stages.get(name="riskcontrol.stages.antifraud").detail["facts"]["signals"]["orders"] == 25
    )


@pytest.mark.parametrize("kind", ["national_id", "phone", "bank_card"])
def test_a_blacklisted_owner_is_declined_with_the_reason(world, kind):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    owner = merchant.owner
    rulesets.blacklist_add(kind=kind, value=getattr(owner, kind), reason="known fraud", user=None)
    _, application = instant(merchant)
    assert application.status == Application.Status.DECLINED
    assert reasons(application) == ["blacklisted"]
    row = stopped_at(application)
    assert row.name == "riskcontrol.stages.blacklist" and row.version == "rules-1"
    assert row.detail["facts"]["hits"] == [kind]
    # Only the digest is recorded, never the identifier.
    assert getattr(owner, kind) not in str(row.detail)
    assert application.reapply_on == TODAY + dt.timedelta(days=365)


def test_an_entry_taken_off_the_list_no_longer_declines(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    BlacklistEntry.objects.create(
        kind="phone", value_index=blind_index(merchant.owner.phone), reason="x", is_active=False
    )
    _, application = instant(merchant)
    assert application.status == Application.Status.DISBURSED


def test_a_restricted_shop_is_declined(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.RESTRICTED)
    merchant.refresh_from_db()
    _, application = instant(merchant)
    assert application.status == Application.Status.DECLINED
    assert "shop_not_active" in reasons(application)
    # The policy stage, asked directly, declines it as well, with its own words.
    draft = Application(
        merchant=merchant, product=Product.objects.get(code="credit_loan"), amount_fen=200_000
    )
    facts = stages.policy.facts(draft, on=TODAY)
    verdict = stages.policy.decide(facts)
    assert verdict.outcome == "decline" and [r.code for r in verdict.reasons] == ["shop_restricted"]
    assert verdict.version == "rules-1"
    # Its words are stored as the English msgid and read in the reader's language.
    reason = stages.policy.decide(facts).reasons[0].as_dict()
    with translation.override("en"):
        assert stored_text(reason) == "The shop is restricted: it cannot borrow now"
    with translation.override("zh-hans"):
        assert stored_text(reason) == "店铺已被限制，暂不能借款"


def test_a_young_shop_and_a_shop_with_few_days_of_sales_are_declined_by_policy(world):  # noqa: F811
    young = rated_merchant(**STRONG)
    Merchant.objects.filter(pk=young.pk).update(opened_on=TODAY - dt.timedelta(days=30))
    young.refresh_from_db()
    _, application = instant(young)
    assert reasons(application) == ["shop_too_young"]
    assert stopped_at(application).name == "riskcontrol.stages.policy"

    sparse = rated_merchant(**STRONG)
    trade(sparse, days=5)
    _, application = instant(sparse)
    assert reasons(application) == ["trading_too_short"]
    assert "20" in application.reasons[0]["text"]


def test_a_failed_licence_check_declines_at_identity(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    Verification.objects.create(merchant=merchant, kind="business_licence", provider="SAMR", result="failed")
    _, application = instant(merchant)
    assert reasons(application) == ["business_licence_failed"]
    assert stopped_at(application).name == "riskcontrol.stages.identity"


def test_velocity_declines_a_burst_of_applications_behind_one_phone(world):  # noqa: F811
    draft = rulesets.ruleset_draft_create(user=None)
    rulesets.ruleset_draft_update(rule_set=draft, params={"velocity_max_phone": 2}, note="", user=None)
    rulesets.ruleset_activate(rule_set=draft, user=None)
    phone = "13912345678"
    shops = []
    for _ in range(3):
        shop = rated_merchant(**STRONG)
        shop.owner.phone = phone
        shop.owner.save(update_fields=["phone"])
        shops.append(shop)
    first, second, third = (instant(shop)[1] for shop in shops)
    assert first.status == second.status == Application.Status.DISBURSED
    assert third.status == Application.Status.DECLINED and reasons(third) == ["too_many_applications"]
    row = stopped_at(third)
    assert row.name == "riskcontrol.stages.velocity" and row.version == "rules-2"
    assert row.detail["facts"]["counts"]["phone"] == 2 and row.detail["over"] == ["phone_velocity"]
    assert third.reapply_on == TODAY + dt.timedelta(days=30)


def test_velocity_declines_a_burst_of_applications_from_shops_on_one_device(world):  # noqa: F811
    draft = rulesets.ruleset_draft_create(user=None)
    rulesets.ruleset_draft_update(rule_set=draft, params={"velocity_max_device": 2}, note="", user=None)
    rulesets.ruleset_activate(rule_set=draft, user=None)
    # Three shops of three different owners (no shared ID, phone or card), run from one phone.
    shops = [rated_merchant(**STRONG) for _ in range(3)]
    seen = timezone.now()
    for shop in shops:
        MerchantDevice.objects.create(
            merchant=shop,
            device_index=blind_index("one-phone-a3f9"),
            hint="one-…a3f9",
            first_seen_at=seen,
            last_seen_at=seen,
        )
    loner = rated_merchant(**STRONG)
    MerchantDevice.objects.create(
        merchant=loner,
        device_index=blind_index("own-phone"),
        hint="own-…hone",
        first_seen_at=seen,
        last_seen_at=seen,
    )
    first, second, third = (instant(shop)[1] for shop in shops)
    assert first.status == second.status == Application.Status.DISBURSED
    assert third.status == Application.Status.DECLINED and reasons(third) == ["too_many_applications"]
    row = stopped_at(third)
    assert row.detail["facts"]["counts"]["device"] == 2 and row.detail["over"] == ["device_velocity"]
    assert instant(loner)[1].status == Application.Status.DISBURSED


def test_orders_bought_by_linked_shops_decline_at_antifraud(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    # A shop of another person who gives the same payout card buys a third of the orders.
    accomplice = MerchantFactory(owner=OwnerFactory(bank_card=merchant.owner.bank_card))
    trade(merchant, days=20)
    trade(merchant, days=10, buyer=accomplice)
    _, application = instant(merchant)
    assert application.status == Application.Status.DECLINED
    assert reasons(application) == ["orders_not_genuine"]
    row = stopped_at(application)
    assert row.name == "riskcontrol.stages.antifraud"
    assert row.detail["finding"]["shares"]["linked"] == "0.3333"
    assert "score" not in application.reasons[0]["text"]


def test_moderate_evidence_waits_for_a_fraud_reviewer_who_may_let_it_go_on(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    accomplice = MerchantFactory(owner=OwnerFactory(address=merchant.owner.address))
    trade(merchant, days=28)
    trade(merchant, days=2, buyer=accomplice)  # 2 of 30: 6.7 %, above 5 %, below 20 %
    _, application = instant(merchant)
    assert application.status == Application.Status.REFERRED
    waiting = application.stages.get(status=ApplicationStage.Status.WAITING)
    assert waiting.queue == "fraud_review" and waiting.name == "riskcontrol.stages.antifraud"
    assert waiting.version == "rules-1"

    reviewer = User.objects.create_user("rita", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="risk_manager"))
    apps.application_stage_claim(stage=waiting, user=reviewer)
    after = apps.application_stage_decide(
        stage=waiting, user=reviewer, outcome="pass", note="the buyer is a genuine customer", on=TODAY
    )
    assert after.status in (Application.Status.APPROVED, Application.Status.DISBURSED)
    assert after.stages.get(name="riskcontrol.stages.group_exposure").status == ApplicationStage.Status.PASSED


def test_related_shops_share_one_group_limit(world):  # noqa: F811
    draft = rulesets.ruleset_draft_create(user=None)
    rulesets.ruleset_draft_update(rule_set=draft, params={"group_limit_fen": 5_000_000}, note="", user=None)
    rulesets.ruleset_activate(rule_set=draft, user=None)
    merchant = rated_merchant(**STRONG)
    sister = MerchantFactory(owner=merchant.owner)  # the same person's second shop
    CreditLine.objects.create(
        merchant=sister,
        product=Product.objects.get(code="credit_loan"),
        limit_fen=4_900_000,
        daily_rate="0.0005",
        opened_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=365),
    )
    _, application = instant(merchant, amount_fen=200_000)
    assert application.status == Application.Status.DECLINED and reasons(application) == ["group_limit"]
    row = stopped_at(application)
    assert row.name == "riskcontrol.stages.group_exposure"
    assert row.detail["group_total_fen"] == 5_100_000 and sorted(
        row.detail["facts"]["group_merchant_ids"]
    ) == sorted([merchant.pk, sister.pk])


def test_b2b_members_still_reach_the_video_check(world):  # noqa: F811
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_application(member)
    assert application.status == Application.Status.REFERRED
    assert application.stages.get(status=ApplicationStage.Status.WAITING).queue == "video_check"
    assert application.stages.filter(name__startswith="riskcontrol.", status="passed").count() == 6


def test_a_fraud_review_case_is_worked_from_its_queue_in_the_workbench(world, client):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    accomplice = MerchantFactory(owner=OwnerFactory(address=merchant.owner.address))
    trade(merchant, days=28)
    trade(merchant, days=2, buyer=accomplice)
    _, application = instant(merchant)
    waiting = application.stages.get(status=ApplicationStage.Status.WAITING)
    assert waiting.queue == "fraud_review"
    officer = User.objects.create_user("olga", is_staff=True)
    officer.groups.add(Group.objects.get(name="loan_officer"))
    client.force_login(officer)

    listed = client.get("/admin/lending/application/queue/fraud_review/")
    assert listed.status_code == 200
    assert application.reference in listed.content.decode()
    apps.application_stage_claim(stage=waiting, user=officer)
    case = client.get(f"/admin/lending/application/{application.pk}/case/", HTTP_ACCEPT_LANGUAGE="en")
    assert case.status_code == 200 and "Fraud review" in case.content.decode()
