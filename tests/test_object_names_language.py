"""A record's name (its `__str__`), as the workbench shows it in titles, breadcrumbs, inline rows
and read-only links, reads in the reader's language: Chinese under zh-Hans, English under en,
with statuses by their display labels, never their codes. The records here hold numbers only,
so any Latin word in the Chinese name is the code's own English."""

import datetime
import re

import pytest
from django.utils import translation

from common.models import BusinessCalendar
from lending.models import Contract, FieldInspection, Installment, LoanEvent, Pledge, PromiseToPay
from merchants.models import (
    DeclaredFinancials,
    MerchantStatusChange,
    OrderStatusChange,
    PortalHandoff,
    QuestionnaireResponse,
    Rating,
    Refund,
    Settlement,
)
from merchants.signal_models import Guarantee, LogisticsEvent, MerchantDevice, SignalReceipt
from merchants.webhooks.models import WebhookAttempt, WebhookDelivery
from payments.models import Hold, Payout
from riskcontrol.models import MerchantRisk, MonitoringRun, RingFlag, RiskAction, RuleSet, Warning
from scoring.models import (
    FeatureSnapshot,
    MerchantDay,
    MerchantDayRun,
    MerchantScore,
    ModelPromotion,
    OfficerFinding,
    PortfolioSnapshot,
    SandboxRun,
    ScoringModel,
    ScoringPolicy,
)

DAY = datetime.date(2026, 12, 5)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
HAN = re.compile(r"[\u4e00-\u9fff]")


def last_choice(model, field: str) -> str:
    return model._meta.get_field(field).choices[-1][0]


def records() -> list:
    return [
        Hold(pk=12, status=last_choice(Hold, "status")),
        Payout(pk=7, status=last_choice(Payout, "status")),
        MerchantDevice(merchant_id=3, hint="12**34"),
        Guarantee(guarantor_id=1, borrower_id=2),
        RuleSet(version=2, status=last_choice(RuleSet, "status")),
        OrderStatusChange(
            order_id=5,
            from_status=last_choice(OrderStatusChange, "from_status"),
            to_status=last_choice(OrderStatusChange, "to_status"),
        ),
        MerchantStatusChange(
            merchant_id=3,
            from_status=last_choice(MerchantStatusChange, "from_status"),
            to_status=last_choice(MerchantStatusChange, "to_status"),
        ),
        Settlement(external_id="123"),
        Refund(order_id=5),
        Rating(stars=4, order_id=5),
        DeclaredFinancials(merchant_id=3, fiscal_year=2025),
        QuestionnaireResponse(version=1, owner_id=2),
        Installment(loan_id=1, number=2, due_on=DAY),
        Contract(loan_id=1),
        Pledge(order_id=5, loan_id=1),
        LoanEvent(loan_id=1, kind=last_choice(LoanEvent, "kind"), business_on=DAY),
        PromiseToPay(case_id=1, amount_fen=12345, due_on=DAY, status=last_choice(PromiseToPay, "status")),
        ScoringModel(version="2", status=last_choice(ScoringModel, "status")),
        ScoringPolicy(),
        MerchantScore(merchant_id=1, grade="A", points=700, as_of=DAY),
        SandboxRun(name="1", status=last_choice(SandboxRun, "status")),
        PortfolioSnapshot(as_of=DAY),
        MerchantRisk(merchant_id=1, level=last_choice(MerchantRisk, "level"), score=3),
        MonitoringRun(business_on=DAY, status=last_choice(MonitoringRun, "status")),
        RingFlag(merchant_id=1, ring=1, run_id=1),
        LogisticsEvent(kind=last_choice(LogisticsEvent, "kind"), order_id=5),
        PortalHandoff(merchant_id=3, used_at=datetime.datetime(2026, 12, 5, 8, tzinfo=datetime.UTC)),
        FieldInspection(application_id=1, inspector_id=2, result=last_choice(FieldInspection, "result")),
        MerchantDay(merchant_id=1, business_on=DAY),
        MerchantDayRun(business_on=DAY, is_final=True),
        MerchantDayRun(business_on=DAY, is_final=False),
        FeatureSnapshot(version="1", merchant_id=1, as_of=DAY),
        ModelPromotion(model_id=1, actor="7"),
        OfficerFinding(kind=last_choice(OfficerFinding, "kind"), merchant_id=1, points=5),
        Warning(kind=last_choice(Warning, "kind"), merchant_id=1, raised_on=DAY),
        RiskAction(kind=last_choice(RiskAction, "kind"), merchant_id=1, business_on=DAY),
        BusinessCalendar(current_on=DAY),
        WebhookDelivery(pk=1, event_id=2, endpoint_id=3, status=last_choice(WebhookDelivery, "status")),
        WebhookAttempt(number=1, delivery_id=2),
        SignalReceipt(kind=last_choice(SignalReceipt, "kind"), external_id="9", partner_id=1),
    ]


@pytest.mark.parametrize("record", records(), ids=lambda r: type(r).__name__)
def test_a_record_s_name_reads_chinese_under_zh_hans_and_english_under_en(record):
    with translation.override("zh-hans"):
        chinese = str(record)
    with translation.override("en"):
        english = str(record)
    assert HAN.search(chinese) and not LATIN_WORD.search(chinese), chinese
    assert LATIN_WORD.search(english) and not HAN.search(english), english


@pytest.mark.parametrize("stored", ["documented defaults 默认阈值", "documented defaults", "默认阈值"])
def test_the_first_rule_set_s_note_reads_in_one_language_and_a_person_s_as_written(stored):
    with translation.override("zh-hans"):
        assert RuleSet(note=stored).note_text == "默认阈值"
        assert RuleSet(note="raise the velocity limit 提高").note_text == "raise the velocity limit 提高"
    with translation.override("en"):
        assert RuleSet(note=stored).note_text == "documented defaults"
