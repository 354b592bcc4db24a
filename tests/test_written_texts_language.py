"""Texts the system writes into a row and a person reads later — the rating stage's reasons, a
repayment demand's note, a reversing entry's note, why risk control acted, why close of business
moved a loan or a case — are kept as a code and an English msgid with its parameters, and read
in the reader's language, whatever language was active when they were written. A row that keeps
only words (written before, or a person's own) reads as written."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from common.texts import localized, stored_reason
from lending import cob
from lending.models import CollectionCaseChange, Installment, LoanEvent, LoanStatusChange
from payments import services as payments
from payments.models import JournalEntry
from riskcontrol.models import RiskAction
from riskcontrol.monitoring import services as monitoring
from riskcontrol.plain_words import action_reason
from scoring.stages import rate
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.lending.test_lifecycle import drained_loan
from tests.merchants.factories import MerchantFactory
from tests.riskcontrol.test_actions import ON, closed_by_platform, lent, officer, pool  # noqa: F401
from tests.test_i18n import HAN

pytestmark = pytest.mark.django_db


def both(read):
    """What `read()` gives in Chinese and in English."""
    with translation.override("zh-hans"):
        chinese = read()
    with translation.override("en"):
        english = read()
    return chinese, english


def test_the_rating_stage_keeps_msgids_and_the_ratings_words_in_both_languages():
    facts = {
        "model_version": "m1",
        "grade": "E",
        "cutoff_grade": "C",
        "line_fen": 0,
        "daily_rate": "0.0005",
        "reasons": [{"zh": "近 90 天销售额下降", "en": "Sales fell in the last 90 days"}],
    }
    with translation.override("zh-hans"):  # decided while Chinese is active
        declined = [r.as_dict() for r in rate.decide(facts).reasons]
        passed = [r.as_dict() for r in rate.decide({**facts, "grade": "A", "line_fen": 5_000_000}).reasons]
    assert declined[0]["msgid"] == "Your shop's trading does not qualify yet"
    assert [r["text"] for r in declined] == [
        "Your shop's trading does not qualify yet",
        "Sales fell in the last 90 days",
    ]
    assert passed[0]["params"] == {"grade": "A", "line": "50,000.00"}
    chinese, english = both(lambda: [r["text"] for r in localized(declined + passed)])
    assert chinese == ["经营数据暂不满足授信条件", "近 90 天销售额下降", "评级 A，额度 ¥50,000.00"]
    assert english == [
        "Your shop's trading does not qualify yet",
        "Sales fell in the last 90 days",
        "Grade A, line ¥50,000.00",
    ]


def test_a_repayment_demand_and_its_withdrawal_read_in_the_readers_language(pool):  # noqa: F811
    line, loan = lent()
    closed_by_platform(line.merchant)
    with translation.override("zh-hans"):  # the night's language
        monitoring.monitoring_run(on=ON)
    demand = RiskAction.objects.get(merchant=line.merchant, kind="demand_repayment")
    monitoring.risk_action_reverse(
        action_id=demand.pk, user=officer(), reason="平台误报", on=ON + dt.timedelta(1)
    )
    made, withdrawn = LoanEvent.objects.filter(loan=loan, kind="fell_due").order_by("pk")
    assert made.reasons[0]["code"] == "repayment_demanded" and made.note.startswith("repayment demanded: ")

    chinese, english = both(lambda: made.note_text)
    assert chinese.startswith("要求提前还款：") and "repayment" not in chinese
    assert english == made.note and not HAN.search(english)
    # The reversal's words in the reader's language, the officer's reason as written.
    assert withdrawn.note == "repayment demand withdrawn: reversal of Demand repayment: 平台误报"
    chinese, english = both(lambda: withdrawn.note_text)
    assert chinese == "撤回提前还款要求：撤销“要求提前还款”：平台误报"
    assert english == withdrawn.note
    # An event written before keeps its words.
    old = LoanEvent(loan=loan, kind="fell_due", business_on=ON, note="repayment demanded: level red")
    assert both(lambda: old.note_text) == (old.note, old.note)


def test_a_reversing_entry_reads_in_the_readers_language_on_the_wallet_page(client):
    merchant = MerchantFactory(user=User.objects.create_user(username="seller", password="Seller-pw-42"))
    wallet = payments.wallet_open(merchant=merchant)
    result = payments.settlement_credit(wallet=wallet, amount_fen=700, idempotency_key="s-1")
    reversed_ = payments.entry_reverse(
        entry=JournalEntry.objects.get(pk=result.entry_id), idempotency_key="r-1", reason="duplicate"
    )
    entry = JournalEntry.objects.get(pk=reversed_.entry_id)
    assert entry.reference == f"reversal of #{result.entry_id}: duplicate"  # the record, unchanged
    assert both(lambda: entry.reference_text) == (
        f"冲正第 {result.entry_id} 号分录：duplicate",
        f"reversal of #{result.entry_id}: duplicate",
    )
    settled = JournalEntry.objects.get(pk=result.entry_id)
    assert both(lambda: settled.reference_text) == (settled.reference, settled.reference)

    client.force_login(merchant.user)
    chinese = client.get("/wallet/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"冲正第 {result.entry_id} 号分录：duplicate" in chinese and "reversal of" not in chinese
    english = client.get("/wallet/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"reversal of #{result.entry_id}: duplicate" in english


def test_why_risk_control_renewed_a_line_reads_in_the_readers_language():
    line = CreditLineFactory(expires_on=dt.date(2026, 3, 1))
    with translation.override("zh-hans"):
        monitoring._renew(line=line, is_good=False, on=dt.date(2026, 3, 1), version="v1")
    action = RiskAction.objects.get(merchant=line.merchant_id)
    assert action.reason == "renewed at expiry"
    assert both(lambda: action_reason(action)) == ("额度到期续期", "renewed at expiry")
    level = RiskAction(
        reason="level amber",
        result={"reasons": [stored_reason("level", "level %(level)s", {"level": "amber"})]},
    )
    assert both(lambda: action_reason(level)) == ("风险等级 amber", "level amber")
    assert both(lambda: action_reason(RiskAction(reason="as written", result={}))) == ("as written",) * 2


def test_close_of_business_moves_read_in_the_readers_language_on_the_workbench(pool, client):  # noqa: F811
    line = CreditLineFactory(product=ProductFactory(term=30))
    loan = drained_loan(line, 1_000_000, "k")
    due_on = Installment.objects.get(loan=loan).due_on
    with translation.override("en"):
        cob.close_through(through=due_on + dt.timedelta(days=1))
    moved = LoanStatusChange.objects.get(loan=loan, kind="fell_overdue")
    assert moved.reasons == [] and moved.reason == "an amount fallen due is unpaid"  # as written in bulk
    assert both(lambda: moved.reason_text) == ("有到期款项未还", "an amount fallen due is unpaid")
    opened = CollectionCaseChange.objects.get(case__loan=loan, kind="opened")
    assert both(lambda: opened.reason_text) == ("贷款已逾期", "the loan is overdue")
    # A person's words that happen to match another event's read as written.
    typed = LoanStatusChange(kind="written_off", reason="the loan is overdue")
    assert both(lambda: typed.reason_text) == ("the loan is overdue",) * 2

    client.force_login(User.objects.create_superuser("root", password="pw"))
    url = f"/admin/lending/loan/{loan.pk}/change/"
    assert "有到期款项未还" in client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "an amount fallen due is unpaid" in english and "有到期款项未还" not in english
