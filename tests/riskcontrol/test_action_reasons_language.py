"""What risk control writes into other apps' rows (a line's freeze, a collections case, a shop's
restriction, the partner's notice) is kept as a code, the English msgid and its parameters: each
reader gets it in their own language, whatever was active the night it was written; a partner's
webhook carries a stable code and English words."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from lending.models import CollectionCaseChange, CreditLineChange
from merchants.models import MerchantStatusChange
from merchants.webhooks.models import WebhookEvent
from riskcontrol.models import PartnerNotice
from riskcontrol.monitoring import services
from tests.riskcontrol.test_monitoring import ON, officer, pool, world  # noqa: F401

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def acted(pool):  # noqa: F811
    lines = world(pool)
    with translation.override("zh-hans"):  # the night's language: the platform's default
        services.monitoring_run(on=ON)
    return lines


def read(text_of, row) -> tuple[str, str]:
    with translation.override("en"):
        english = text_of(row)
    with translation.override("zh-hans"):
        chinese = text_of(row)
    return english, chinese


def test_a_frozen_line_reads_why_in_the_readers_language(acted):
    change = CreditLineChange.objects.get(line=acted["quiet"], kind="frozen")
    english, chinese = read(lambda c: c.reason_text, change)
    assert english.startswith("frozen: ") and "no order for 14 days" in english
    assert not HAN.search(english)
    assert chinese.startswith("冻结：") and "已14天没有订单" in chinese
    assert "no order" not in chinese
    assert change.reason == english[:200]  # the record keeps the English words


def test_a_collections_case_and_a_restriction_read_why_in_the_readers_language(acted):
    merchant = acted["defaulter"].merchant
    case = CollectionCaseChange.objects.get(case__loan__merchant=merchant, kind="opened")
    assert read(lambda c: c.reason_text, case) == (
        "sent by risk control: 95 days past due",
        "风控移交：已逾期95天",
    )
    restricted = MerchantStatusChange.objects.get(merchant=merchant, to_status="restricted")
    assert read(lambda c: c.reason_text, restricted) == ("defaulter: 95 days past due", "违约：已逾期95天")
    notice = PartnerNotice.objects.get(merchant=merchant, kind="shop_restricted")
    assert read(lambda n: n.message_text, notice) == (
        "shop restricted for default: 95 days past due",
        "店铺因违约被限制：已逾期95天",
    )


def test_the_partner_hears_a_stable_code_and_english_words(acted):
    merchant = acted["defaulter"].merchant
    restricted = WebhookEvent.objects.get(partner_id=merchant.partner_id, type="merchant.restricted")
    assert restricted.data == {
        "merchant": merchant.external_id,
        "status": "restricted",
        "reason_code": "defaulter",
        "reason": "defaulter: 95 days past due",
    }
    raised = WebhookEvent.objects.filter(type="warning.raised")
    assert raised.exists()
    for event in raised:
        for reason in event.data["reasons"]:
            assert reason["code"] and not HAN.search(reason["text"]), reason


def test_a_lifted_restriction_keeps_the_officers_words_in_the_readers_sentence(acted):
    merchant = acted["defaulter"].merchant
    restrict = services.RiskAction.objects.get(merchant=merchant, kind="restrict_shop")
    with translation.override("zh-hans"):
        services.risk_action_reverse(action_id=restrict.pk, user=officer(), reason="paid in full", on=ON)
    notice = PartnerNotice.objects.get(merchant=merchant, kind="shop_reinstated")
    assert read(lambda n: n.message_text, notice) == (
        "restriction lifted: paid in full",
        "店铺限制解除：paid in full",
    )
    lifted = WebhookEvent.objects.get(partner_id=merchant.partner_id, type="merchant.reinstated")
    assert lifted.data["reason_code"] == "restriction_lifted"
    assert lifted.data["reason"] == "restriction lifted: paid in full"


def test_a_row_written_before_reads_as_it_was_written(acted):
    change = CreditLineChange.objects.get(line=acted["quiet"], kind="frozen")
    CreditLineChange.objects.filter(pk=change.pk).update(reasons=[], reason="冻结：已14天没有订单")
    change.refresh_from_db()
    assert read(lambda c: c.reason_text, change) == ("冻结：已14天没有订单",) * 2


def test_the_workbench_pages_show_the_reasons_in_the_officers_language(acted, client):
    admin = User.objects.create_superuser("root", password="x")
    client.force_login(admin)
    merchant = acted["defaulter"].merchant
    case = CollectionCaseChange.objects.get(case__loan__merchant=merchant, kind="opened").case
    pages = {
        reverse("admin:lending_collections_case", args=[case.pk]): ("sent by risk control", "风控移交"),
        reverse("admin:lending_creditline_change", args=[acted["quiet"].pk]): ("frozen: ", "冻结："),
        reverse("admin:merchants_merchant_change", args=[merchant.pk]): ("defaulter: 95", "违约：已逾期95天"),
    }
    for url, (english, chinese) in pages.items():
        en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert english in en and chinese not in en, url
        assert chinese in zh and english not in zh, url
