"""Texts the system writes into a row and a person reads later — the rating stage's reasons, a
repayment demand's note, a reversing entry's note, why risk control acted, why close of business
moved a loan or a case — are kept as a code and an English msgid with its parameters, and read
in the reader's language, whatever language was active when they were written. A row that keeps
only words (written before, or a person's own) reads as written."""

import datetime as dt
import re

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


def test_the_systems_status_history_sentences_read_in_the_readers_language():
    from lending.models import ApplicationChange, CreditLineChange

    rows = [
        (LoanStatusChange(kind="disbursed", reason="drawdown"), "放款"),
        (ApplicationChange(kind="approved", reason="every stage passed"), "各审批环节均已通过"),
        (ApplicationChange(kind="withdrawn", reason="withdrawn"), "已撤回"),
        (
            ApplicationChange(kind="submitted", reason="portal application for 5,000.00 yuan"),
            "商户门户申请 5,000.00 元",
        ),
        (
            ApplicationChange(kind="submitted", reason="api application for 12.50 yuan"),
            "合作方接口申请 12.50 元",
        ),
        (
            ApplicationChange(kind="submitted", reason="officer application for 1.00 yuan"),
            "信贷员代为申请 1.00 元",
        ),
        (
            ApplicationChange(kind="disbursed", reason="loan L20261206-42 paid into the wallet"),
            "贷款 L20261206-42 已放款至钱包",
        ),
        (CreditLineChange(kind="frozen", reason="frozen from the workbench"), "在工作台冻结"),
        (CreditLineChange(kind="unfrozen", reason="unfrozen from the workbench"), "在工作台解冻"),
    ]
    for row, chinese in rows:
        assert both(lambda row=row: row.reason_text) == (chinese, row.reason)
    # A person's words (an appeal, a typed reason) read as written, whatever they look like.
    for row in (
        ApplicationChange(kind="appealed", reason="portal application for 5,000.00 yuan"),
        ApplicationChange(kind="submitted", reason="portal application for lots of yuan"),
        CreditLineChange(kind="frozen", reason="unfrozen from the workbench"),
    ):
        assert both(lambda row=row: row.reason_text) == (row.reason, row.reason)


def test_a_drawn_loans_history_and_wallet_read_in_the_readers_language(pool, client):  # noqa: F811
    from tests.lending.conftest import draw

    line = CreditLineFactory(product=ProductFactory(term=30))
    with translation.override("zh-hans"):
        loan = draw(line, 1_000_000, key="t-1")
    disbursed = LoanStatusChange.objects.get(loan=loan, kind="disbursed")
    assert disbursed.reason == "drawdown"  # stored as written
    assert both(lambda: disbursed.reason_text) == ("放款", "drawdown")
    entry = JournalEntry.objects.get(reference=f"drawdown on line {line.pk}")  # byte-identical
    assert both(lambda: entry.reference_text) == (f"额度 {line.pk} 提款", entry.reference)

    client.force_login(User.objects.create_superuser("root", password="pw"))
    url = f"/admin/lending/loan/{loan.pk}/change/"
    assert "放款" in client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    listed = client.get("/admin/payments/journalentry/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"额度 {line.pk} 提款" in listed and "drawdown on line" not in listed
    listed = client.get("/admin/payments/journalentry/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"drawdown on line {line.pk}" in listed


def test_the_systems_journal_references_read_in_the_readers_language():
    rows = [
        ("drawdown on line 7", "额度 7 提款"),
        ("upfront fee", "前置手续费"),
        ("repayment of L20261206-42", "偿还贷款 L20261206-42"),
        ("write-off of L20261206-42: 无法联系", "核销贷款 L20261206-42：无法联系"),
        ("recovery on L20261206-42", "贷款 L20261206-42 核销后回收"),
        ("auto-deduction L20261206-42", "自动扣款 L20261206-42"),
        ("repayment by pledged orders of L20261206-42", "以质押订单偿还贷款 L20261206-42"),
        ("withdrawal 9 to 6222****1234", "提现 9 至 6222****1234"),
        ("channel settlement 2026-12-06", "渠道结算 2026-12-06"),
        ("settlement S-991", "结算 S-991"),
    ]
    for reference, chinese in rows:
        entry = JournalEntry(kind=JournalEntry.Kind.TRANSFER, reference=reference)
        assert both(lambda entry=entry: entry.reference_text) == (chinese, reference)
    # A reference the system did not word that way reads as written.
    for reference in ("repayment of someone", "a partner's own words", "settlement of two words"):
        entry = JournalEntry(kind=JournalEntry.Kind.TRANSFER, reference=reference)
        assert both(lambda entry=entry: entry.reference_text) == (reference, reference)


def test_a_shops_status_change_from_the_workbench_reads_in_the_readers_language():
    from merchants.models import MerchantStatusChange

    restricted = MerchantStatusChange(to_status="restricted", reason="restricted from the workbench")
    assert both(lambda: restricted.reason_text) == ("在工作台限制", restricted.reason)
    reinstated = MerchantStatusChange(to_status="active", reason="reinstated from the workbench")
    assert both(lambda: reinstated.reason_text) == ("在工作台恢复", reinstated.reason)
    typed = MerchantStatusChange(to_status="closed", reason="restricted from the workbench")
    assert both(lambda: typed.reason_text) == (typed.reason, typed.reason)


def test_a_refunded_pledged_orders_event_note_reads_in_the_readers_language():
    refunded = LoanEvent(kind="pledge_refunded", note="order ORD-77")
    assert both(lambda: refunded.note_text) == ("订单 ORD-77", "order ORD-77")
    typed = LoanEvent(kind="repaid", note="order ORD-77")
    assert both(lambda: typed.note_text) == (typed.note, typed.note)


def test_a_payouts_failure_reason_reads_in_the_readers_language():
    from payments.models import Payout

    rejected = Payout(failure_reason="bank card rejected the credit (simulated)")
    assert both(lambda: rejected.failure_text) == ("银行卡拒绝入账（模拟）", rejected.failure_reason)
    unavailable = Payout(failure_reason="channel unavailable after retries: timed out")
    assert both(lambda: unavailable.failure_text) == (
        "多次重试后支付渠道仍不可用：timed out",
        unavailable.failure_reason,
    )
    typed = Payout(failure_reason="card closed by the bank")
    assert both(lambda: typed.failure_text) == (typed.failure_reason,) * 2


def test_a_line_from_an_accepted_offer_reads_in_the_readers_language():
    from lending.models import CreditLineChange

    words = "pre-approved offer 12 accepted (grade B, rank 3)"
    for kind in ("opened", "terms changed"):
        change = CreditLineChange(kind=kind, reason=words)
        assert both(lambda change=change: change.reason_text) == (
            "已接受预授信报价 12（评级 B，排名 3）",
            words,
        )
    typed = CreditLineChange(kind="frozen", reason=words)
    assert both(lambda: typed.reason_text) == (words, words)


def test_a_line_from_an_approved_application_or_the_demos_first_line_reads_in_the_readers_language():
    from lending.models import CreditLineChange

    words = "application A20260301-7 approved (grade D)"
    for kind in ("opened", "terms changed"):
        change = CreditLineChange(kind=kind, reason=words)
        assert both(lambda change=change: change.reason_text) == ("申请 A20260301-7 已批准（评级 D）", words)
    demo = CreditLineChange(kind="opened", reason="provisional demo line: 30 % of 90 days' settled sales")
    assert both(lambda: demo.reason_text) == ("演示用临时额度：近 90 天已结算销售额的 30%", demo.reason)


def test_an_officers_reversal_unfreezing_a_line_or_withdrawing_a_case_reads_in_the_readers_language():
    from lending.models import CreditLineChange

    unfrozen = CreditLineChange(kind="unfrozen", reason="reversal of Freeze line: 平台误报")
    assert both(lambda: unfrozen.reason_text) == ("撤销“冻结额度”：平台误报", unfrozen.reason)
    withdrawn = CollectionCaseChange(kind="withdrawn", reason="reversal of Send to collections: wrong shop")
    assert both(lambda: withdrawn.reason_text) == ("撤销“移交催收”：wrong shop", withdrawn.reason)
    typed = CollectionCaseChange(kind="withdrawn", reason="paid at the branch")
    assert both(lambda: typed.reason_text) == (typed.reason, typed.reason)


def test_a_funding_pools_money_in_reads_in_the_readers_language_in_the_workbench(client):
    from payments.models import FundingPool

    pool_ = payments.funding_pool_create(code="POOL-T", name="Test pool")
    payments.funding_pool_add_capital(pool=pool_, amount_fen=1_000_000, idempotency_key="cap-1")
    payments.funding_pool_borrow(
        pool=FundingPool.objects.get(pk=pool_.pk), amount_fen=500_000, idempotency_key="bor-1"
    )
    capital = JournalEntry.objects.get(idempotency_key="cap-1")
    borrowed = JournalEntry.objects.get(idempotency_key="bor-1")
    assert (capital.reference, borrowed.reference) == ("capital into POOL-T", "borrowings into POOL-T")
    assert both(lambda: capital.reference_text) == ("资本金注入资金池 POOL-T", capital.reference)
    assert both(lambda: borrowed.reference_text) == ("融入资金注入资金池 POOL-T", borrowed.reference)

    client.force_login(User.objects.create_superuser("root", password="pw"))
    listed = client.get("/admin/payments/journalentry/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "资本金注入资金池 POOL-T" in listed and " into POOL-T" not in listed
    listed = client.get("/admin/payments/journalentry/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "capital into POOL-T" in listed and "borrowings into POOL-T" in listed


def test_the_nights_interest_posting_reads_in_the_readers_language(pool):  # noqa: F811
    line = CreditLineFactory(product=ProductFactory(term=30))
    drained_loan(line, 1_000_000, "k")
    with translation.override("en"):
        cob.close_through(through=dt.date.today() + dt.timedelta(days=1))
    posted = JournalEntry.objects.filter(kind=JournalEntry.Kind.ACCRUAL).first()
    on, product = posted.business_on.isoformat(), line.product_id
    assert posted.reference == f"accrue {on} product {product}"  # as written: its key's record
    assert both(lambda: posted.reference_text) == (f"{on} 产品 {product} 利息计提", posted.reference)
    penalty = JournalEntry(kind=JournalEntry.Kind.ACCRUAL, reference=f"penalty {on} product {product}")
    assert both(lambda: penalty.reference_text) == (f"{on} 产品 {product} 罚息计提", penalty.reference)
    typed = JournalEntry(kind=JournalEntry.Kind.TRANSFER, reference=f"accrue {on} product many")
    assert both(lambda: typed.reference_text) == (typed.reference,) * 2


def test_a_withdrawals_hold_reads_in_the_readers_language_in_the_workbench(client):
    from payments.models import Hold

    merchant = MerchantFactory()
    wallet = payments.wallet_open(merchant=merchant)
    payments.settlement_credit(wallet=wallet, amount_fen=70_000, idempotency_key="s-1")
    payout = payments.withdrawal_request(wallet=wallet, amount_fen=10_000, idempotency_key="w-1")
    hold = Hold.objects.get(pk=payout.hold_id)
    assert hold.reference == "withdrawal"  # as written
    assert both(lambda: hold.reference_text) == ("提现", "withdrawal")
    assert both(lambda: Hold(reference="kept for a dispute").reference_text) == ("kept for a dispute",) * 2

    client.force_login(User.objects.create_superuser("root", password="pw"))
    listed = client.get("/admin/payments/hold/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    # What the hold is for, as a sentence linked to its payout (payments/admin.py).
    assert re.search(r'<td class="field-what"><a href="[^"]+">[^<]*的提现申请：100\.00 元', listed)
    assert ">withdrawal<" not in listed
    listed = client.get("/admin/payments/hold/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sentence = r'<td class="field-what"><a href="[^"]+">Withdrawal request of [^<]*: 100\.00 yuan'
    assert re.search(sentence, listed)


def test_an_application_referred_to_a_queue_reads_the_queues_title_in_the_readers_language():
    from lending.models import ApplicationChange

    referred = ApplicationChange(kind="referred", reason="waiting in the video_check queue")
    assert both(lambda: referred.reason_text) == (
        "在“视频面签”队列等待处理",
        "waiting in the Video check queue",
    )
    to_officers = ApplicationChange(kind="referred", reason="waiting in the officers queue")
    assert both(lambda: to_officers.reason_text)[0] == "在“信贷员”队列等待处理"
    # A queue the system does not name, or another event's words, read as written.
    for row in (
        ApplicationChange(kind="referred", reason="waiting in the lunch queue"),
        ApplicationChange(kind="appealed", reason="waiting in the video_check queue"),
    ):
        assert both(lambda row=row: row.reason_text) == (row.reason, row.reason)
