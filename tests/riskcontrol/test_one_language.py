"""One language at a time: merchants', scoring's and risk control's labels, reasons and pages read
Chinese by default and English when switched, never both at once; reasons stored before they
carried their codes' parameters keep their stored text."""

import pytest
from django.conf import settings
from django.utils import translation

from common.texts import stored_text
from merchants.models import Merchant, OrderStatus
from merchants.questionnaire import QUESTIONS
from riskcontrol import stages
from riskcontrol.models import RiskAction
from riskcontrol.models import Warning as RiskWarning
from riskcontrol.monitoring import rules, services
from riskcontrol.monitoring.rules import reason_text
from riskcontrol.plain_words import action_reason
from scoring import calculations as calc
from scoring.models import Offer
from tests.one_language import HAN, han_labels
from tests.riskcontrol.test_monitoring import ON, pool, world  # noqa: F401
from tests.scoring.test_portal import merchant_client


def _both(value) -> tuple[str, str]:
    with translation.override("zh-hans"):
        zh = str(value)
    with translation.override("en"):
        en = str(value)
    return zh, en


@pytest.mark.parametrize(
    ("label", "zh", "en"),
    [
        (Merchant.Status.RESTRICTED.label, "受限", "Restricted"),
        (OrderStatus.SHIPPED.label, "卖家已发货", "Shipped"),
        (RiskWarning.Kind.SALES_CLIFF.label, "销售断崖", "Sales cliff"),
        (RiskAction.Kind.FREEZE_LINE.label, "冻结额度", "Freeze line"),
        (Offer.Status.DECLINED.label, "已谢绝", "Declined"),
        (stages.velocity.title, "申请频率", "Velocity"),
        (QUESTIONS[0].text, "我会提前规划店铺未来三个月的进货和资金。", QUESTIONS[0].text_en),
    ],
)
def test_a_label_reads_chinese_under_zh_hans_and_english_under_en(label, zh, en):
    assert _both(label) == (zh, en)
    assert not HAN.search(en)


def test_a_stage_reason_is_stored_as_its_msgid_and_read_in_one_language_with_its_parameters():
    facts = {"rules_version": 1, "params": {"velocity_window_days": 30}, "counts": {}}
    facts["params"].update({f"velocity_max_{k}": 0 for k in ("national_id", "phone", "bank_card", "device")})
    facts["counts"] = {"national_id": 1, "phone": 0, "bank_card": 0, "device": 0}
    with translation.override("zh-hans"):
        zh = stages.velocity.decide(facts).reasons[0]
    with translation.override("en"):
        en = stages.velocity.decide(facts).reasons[0]
    # Whatever language was active when the stage decided, it keeps the same msgid.
    assert zh == en and zh.code == "too_many_applications" and zh.params == {"days": 30}
    stored = zh.as_dict()
    with translation.override("zh-hans"):
        assert stored_text(stored) == "近 30 天内申请次数过多，请稍后再试"
    with translation.override("en"):
        assert stored_text(stored) == "Too many applications in the last 30 days: please apply again later"


def test_a_warning_reason_renders_from_its_code_and_parameters_in_the_readers_language():
    stored = rules.Signal("refund_spike", "medium", "refunds_up", {"count": 7, "days": 14, "rate": "20 %"})
    reason = stored.as_dict()
    with translation.override("zh-hans"):
        assert reason_text(reason) == "近14天退款7笔，退款率20 %"
    with translation.override("en"):
        assert reason_text(reason) == "7 refunds in 14 days (20 % of orders)"
    # Stored before the parameters were kept: the stored text stands, in any language.
    old = {"code": "refunds_up", "text": "7 refunds in 14 days (20 % of orders) 近14天退款7笔，退款率20 %"}
    with translation.override("en"):
        assert reason_text(old) == old["text"]


def test_a_rating_component_keeps_both_languages_from_the_catalogue():
    failed = calc.verification_components({"business_licence": "failed"})[0]
    assert (failed.label_zh, failed.label_en) == ("营业执照核验未通过", "business licence check failed")
    region = calc.adjustment_components([("region", "Zhejiang", 2)])[0]
    assert (region.label_zh, region.label_en) == ("地区调整（Zhejiang）", "region adjustment (Zhejiang)")


def _english(client, path: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(path)
    assert page.status_code == 200
    return page.content.decode()


def test_the_risk_notice_in_english_has_no_chinese_label(pool):  # noqa: F811
    lines = world(pool)
    services.monitoring_run(on=ON)
    shop = lines["defaulter"].merchant
    client = merchant_client(shop)
    action = RiskAction.objects.filter(merchant=shop, kind="freeze_line").get()
    chinese = client.get("/risk/").content.decode()
    assert "已逾期95天" in chinese and "days past due" not in chinese
    assert action_reason(action) == "已逾期95天"
    english = _english(client, "/risk/")
    assert "95 days past due" in english and "Freeze line" in english
    found = han_labels(english, shop.shop_name, shop.owner.name)
    assert not found, found
