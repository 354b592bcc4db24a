"""Risk control's stage reasons are stored as a code, the English msgid and its parameters, so
the merchant's application page, the workbench's case page and the partner API read them in
their reader's language, whatever language was active when the stage decided."""

import datetime as dt

from django.contrib.auth.models import Group, User
from django.utils import translation

from common.texts import stored_text
from lending.models import Application
from merchants.models import Merchant
from riskcontrol import stages
from tests.lending.test_applications import STRONG, TODAY, instant, world  # noqa: F401
from tests.lending.test_applications_api import client_of
from tests.scoring.factories import rated_merchant
from tests.scoring.test_portal import merchant_client

EN = "The shop has been open less than 90 days"
ZH = "开店未满 90 天"


def declined_young_shop_in_chinese():
    young = rated_merchant(**STRONG)
    Merchant.objects.filter(pk=young.pk).update(opened_on=TODAY - dt.timedelta(days=30))
    young.refresh_from_db()
    with translation.override("zh-hans"):  # decided while Chinese is active
        _, application = instant(young)
    assert application.status == Application.Status.DECLINED
    return young, application


def test_a_policy_decline_keeps_the_msgid_and_its_parameters(world):  # noqa: F811
    _, application = declined_young_shop_in_chinese()
    (reason,) = application.reasons
    assert reason["code"] == "shop_too_young"
    assert reason["msgid"] == "The shop has been open less than %(days)s days"
    assert reason["params"] == {"days": 90}
    assert reason["text"] == EN
    with translation.override("en"):
        assert stored_text(reason) == EN
    with translation.override("zh-hans"):
        assert stored_text(reason) == ZH


def test_the_portal_application_page_reads_the_reason_in_the_merchants_language(world):  # noqa: F811
    young, application = declined_young_shop_in_chinese()
    client = merchant_client(young)
    url = f"/applications/{application.reference}/"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert EN in english and ZH not in english
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ZH in chinese and EN not in chinese


def test_the_workbench_case_page_reads_the_reason_in_the_officers_language(world, client):  # noqa: F811
    _, application = declined_young_shop_in_chinese()
    officer = User.objects.create_user("olga", is_staff=True)
    officer.groups.add(Group.objects.get(name="loan_officer"))
    client.force_login(officer)
    url = f"/admin/lending/application/{application.pk}/case/"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert EN in english and ZH not in english
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    # The application's reasons, the policy stage's row and the decline in the status history.
    assert chinese.count(ZH) == 3 and EN not in chinese


def test_the_partner_api_reads_the_reason_in_english_unless_asked(world):  # noqa: F811
    young, application = declined_young_shop_in_chinese()
    api = client_of(young.partner)
    url = f"/api/v1/applications/{application.reference}/"
    reply = api.get(url).json()
    assert reply["decision"]["reasons"] == [{"code": "shop_too_young", "text": EN}]
    stage = next(s for s in reply["stages"] if s["name"] == "riskcontrol.stages.policy")
    assert stage["reasons"] == [{"code": "shop_too_young", "text": EN}]
    asked = api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert asked["decision"]["reasons"] == [{"code": "shop_too_young", "text": ZH}]


def test_every_risk_stage_reason_is_an_untranslated_msgid_with_its_parameters(world):  # noqa: F811
    """Asked directly under Chinese, each stage's reasons stay English msgids; the readers'
    words come from the catalogue."""
    facts = {
        "rules_version": 1,
        "params": {
            "policy_min_shop_age_days": 90,
            "policy_min_days_with_sales": 20,
            "policy_sales_window_days": 30,
        },
        "status": Merchant.Status.RESTRICTED,
        "shop_age_days": 10,
        "days_with_sales": 0,
    }
    with translation.override("zh-hans"):
        verdict = stages.policy.decide(facts)
    stored = [r.as_dict() for r in verdict.reasons]
    assert [r["code"] for r in stored] == ["shop_restricted", "shop_too_young", "trading_too_short"]
    assert all(r["msgid"].isascii() for r in stored)
    with translation.override("en"):
        assert [stored_text(r) for r in stored] == [
            "The shop is restricted: it cannot borrow now",
            "The shop has been open less than 90 days",
            "Fewer than 20 days with sales in the last 30 days",
        ]
    with translation.override("zh-hans"):
        assert stored_text(stored[0]) == "店铺已被限制，暂不能借款"
        assert stored_text(stored[2]) == "近 30 天内有销售的天数不足 20 天"
