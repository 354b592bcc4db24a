"""The workbench's own words read in the reader's language in both languages: a close of
business run's steps, an API key's scopes, a product's repayment order, a grade; and its dates,
times and figures are written as the portal writes them (config/formats)."""

import datetime
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from lending.admin import AllocationOrderField, CobRunAdmin, line_figures_text
from lending.models import CobRun, CreditLineChange
from merchants.models import ApiScope, Refund, Verification, scopes_label
from scoring.models import Grade
from scoring.templatetags.report_words import figure

STEPS = [
    {"step": "pledges", "rows": 1, "chunks": 0, "seconds": 0.01},
    {"step": "deduct", "rows": 2, "chunks": 1, "seconds": 0.02},
    {"step": "reconcile", "rows": 0, "chunks": 0, "seconds": 0.0, "ledger": "checked by the caller"},
]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ["质押订单", "钱包扣款", "对账", "账簿由调用方核对", "步骤"]),
        ("en", ["pledged orders", "deduct from wallets", "reconcile the books", "checked by the caller"]),
    ],
)
def test_a_runs_steps_read_in_the_readers_language(language, words):
    run = CobRun(steps=STEPS)
    with translation.override(language):
        shown = CobRunAdmin.steps_shown(None, run)
    for word in words:
        assert word in shown
    assert '"step"' not in shown


def test_a_run_without_steps_shows_a_dash():
    assert CobRunAdmin.steps_shown(None, CobRun(steps=[])) == "-"


def test_a_keys_scopes_read_by_their_names():
    with translation.override("zh-hans"):
        assert scopes_label(["read", "lend"]) == "读取、借贷"
        assert str(ApiScope.LEND.label).startswith("借贷：")
    with translation.override("en"):
        assert scopes_label(["read", "ingest"]) == "read, ingest"
        assert str(ApiScope.READ.label).startswith("read: look up")


def test_the_repayment_order_reads_in_chinese_and_keeps_its_codes():
    field = AllocationOrderField()
    with translation.override("zh-hans"):
        page = field.widget.render("allocation_order", ["principal", "interest", "fee", "penalty"])
    assert "本金" in page and "罚息" in page
    assert field.clean(["principal", "interest", "fee", "penalty"]) == [
        "principal",
        "interest",
        "fee",
        "penalty",
    ]
    posted = {"allocation_order_0": "fee", "allocation_order_1": "penalty"}
    assert field.widget.value_from_datadict(posted, {}, "allocation_order")[:2] == ["fee", "penalty"]
    as_json = {"allocation_order": '["penalty", "fee", "interest", "principal"]'}
    assert field.widget.value_from_datadict(as_json, {}, "allocation_order") == [
        "penalty",
        "fee",
        "interest",
        "principal",
    ]
    assert field.widget.value_from_datadict({"allocation_order": "{"}, {}, "allocation_order") == []


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_workbench_writes_dates_times_and_figures_as_the_portal_does(language):
    moment = datetime.datetime(2026, 12, 6, 14, 51, tzinfo=datetime.UTC)
    with translation.override(language), timezone.override("Asia/Shanghai"):
        assert formats.date_format(datetime.date(2026, 12, 6)) == "2026-12-06"
        assert formats.localize(timezone.localtime(moment)) == "2026-12-06 22:51"
        page = render_to_string(
            "admin/scoring/reasons.html",
            {
                "reasons": [
                    {"feature": "gmv_90d_yuan", "points_lost": 60, "zh": "", "en": "", "value": 40394.92}
                ]
            },
        )
    assert "40,394.92" in page


def test_a_figure_groups_numbers_and_leaves_words_and_none():
    assert figure(1234567) == "1,234,567"
    assert figure(Decimal("7376.90")) == "7,376.90"
    assert figure(None) == "-"
    assert figure("n/a") == "n/a"
    assert figure(True) is True


def test_a_grades_label_reads_in_the_readers_language():
    with translation.override("zh-hans"):
        assert "best" not in str(Grade.A.label) and "worst" not in str(Grade.E.label)
    with translation.override("en"):
        assert str(Grade.A.label) == "A (best)"


def test_a_verifications_known_provider_reads_in_the_readers_language_and_a_partners_as_written():
    stored = Verification(
        provider="中国电子口岸 China E-Port customs data", kind="customs", result="verified"
    )
    with translation.override("zh-hans"):
        assert stored.provider_label == "中国电子口岸海关数据"
        assert str(stored) == "海关记录：已核实"
    with translation.override("en"):
        assert stored.provider_label == "China E-Port customs data"
        assert Verification(provider="SAMR registry").provider_label.startswith("National Enterprise")
    assert Verification(provider="Acme checks").provider_label == "Acme checks"


def test_a_lines_figures_read_in_the_readers_language():
    change = CreditLineChange(before=None)
    figures = {"limit_fen": 100151, "status": "active", "daily_rate": "0.00065000", "grade": "D"}
    with translation.override("zh-hans"):
        shown = line_figures_text(change, figures)
    assert "1,001.51" in shown and "有效" in shown and "limit_fen" not in shown
    assert shown.count("日利率") == 1
    with translation.override("en"):
        assert "limit (¥) 1,001.51" in line_figures_text(change, figures)
    assert line_figures_text(change, None) == "-"


def test_a_refunds_known_reason_reads_in_the_readers_language_and_a_partners_as_written():
    with translation.override("zh-hans"):
        assert Refund(reason="七天无理由退货 no-reason return").reason_label == "七天无理由退货"
    with translation.override("en"):
        assert Refund(reason="质量问题 quality problem").reason_label == "quality problem"
    assert Refund(reason="buyer changed mind").reason_label == "buyer changed mind"


def test_only_the_platforms_own_pool_is_named_in_the_readers_language():
    from payments.models import PLATFORM_POOL_NAME, FundingPool

    with translation.override("zh-hans"):
        assert FundingPool(name=PLATFORM_POOL_NAME).label == "小贷公司"
        # A name a person typed reads as typed, even one that is also a msgid of the menu.
        assert FundingPool(name="Main").label == "Main"
    with translation.override("en"):
        assert FundingPool(name=PLATFORM_POOL_NAME).label == "Xiaodai small-loan company"


@pytest.mark.django_db
def test_only_the_platforms_own_words_in_an_accounts_name_read_in_the_readers_language():
    from payments import services
    from payments.models import PLATFORM_POOL_NAME, Account
    from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory

    typed = services.funding_pool_create(code="typed", name="Main")
    seeded = services.funding_pool_create(code="seeded", name=PLATFORM_POOL_NAME)
    wallet = services.wallet_open(merchant=MerchantFactory(shop_name="Main · Wallet"))
    clearing = services.settlement_clearing_account(partner=PartnerPlatformFactory(code="Main"))
    receivable = services.platform_account(Account.Purpose.LOANS_RECEIVABLE)
    # A name a person typed is one word of the menu's: it reads as typed, the platform's words do not.
    with translation.override("zh-hans"):
        assert typed.funds_account.label == "Main · 资金"
        assert seeded.capital_account.label == "小贷公司 · 资本金"
        assert wallet.label == "钱包 · Main · Wallet"
        assert clearing.label == "结算清算 · Main"
        assert receivable.label == "应收贷款本金"
        assert Account(code="platform:other", name="Main").label == "Main"
    with translation.override("en"):
        assert typed.funds_account.label == "Main · funds"
        assert wallet.label == "Wallet · Main · Wallet"


@pytest.mark.django_db
def test_only_the_seeds_product_names_read_in_the_readers_language_and_without_their_code():
    from types import SimpleNamespace

    from lending.models import Application
    from lending.ops import decision_rates
    from scoring import views_portfolio
    from tests.lending.factories import ProductFactory
    from tests.merchants.factories import MerchantFactory

    seeded = ProductFactory(credit_loan=True)
    typed = ProductFactory(code="main", name="Main")
    merchant = MerchantFactory()
    for product in (seeded, typed):
        Application.objects.create(
            reference=f"APP-{product.code}",
            merchant=merchant,
            product=product,
            channel="portal",
            submitted_on=timezone.localdate(),
            amount_fen=100_000,
            submitted_at=timezone.now(),
        )
    book = SimpleNamespace(
        by_product_grade=[
            {
                "product": "Credit loan",
                "product_code": "credit_loan",
                "grade": "A",
                "loans": 1,
                "outstanding_fen": 100,
            },
            {"product": "Main", "product_code": "main", "grade": "A", "loans": 1, "outstanding_fen": 200},
        ]
    )
    with translation.override("zh-hans"):
        # A name a person typed is a word of the menu's: it reads as typed; a seed's is translated.
        assert (str(seeded), seeded.label) == ("信用贷款", "信用贷款")
        assert (str(typed), typed.label) == ("Main", "Main")
        chart = views_portfolio._by_product_grade(book)
        assert [row[0] for row in chart["rows"]] == ["信用贷款", "Main"]
        assert [s["name"] for s in chart["spec"]["option"]["series"]] == ["信用贷款", "Main"]
        assert [r["name"] for r in decision_rates(now=timezone.now())] == ["信用贷款", "Main"]
    with translation.override("en"):
        assert str(seeded) == "Credit loan"


def test_every_scoring_feature_is_named_in_the_readers_language_where_features_are_listed():
    from scoring.features import FEATURE_NAMES
    from scoring.models import DriftReport
    from scoring.words import FEATURE_TITLES, feature_title
    from tests.test_i18n import HAN

    assert set(FEATURE_TITLES) == set(FEATURE_NAMES)
    reasons = [
        {"feature": "gmv_90d_yuan", "points_lost": 12, "zh": "近期销售额低", "en": "low sales", "value": 3}
    ]
    report = {
        "iv": {"refund_rate_90d": 0.3},
        "points_table": [{"feature": "shop_age_days", "bin": "[0, 90)"}],
    }
    with translation.override("zh-hans"):
        assert all(HAN.search(feature_title(name)) for name in FEATURE_NAMES)
        page = render_to_string("admin/scoring/reasons.html", {"reasons": reasons})
        assert "近 90 天销售额（元）" in page and "gmv_90d_yuan" not in page
        page = render_to_string(
            "admin/scoring/model_report.html", {"report": report, "iv": report["iv"].items()}
        )
        assert "近 90 天退款率" in page and "开店天数" in page and "refund_rate_90d" not in page
        assert DriftReport(subject="debt_ratio").subject_label == "申报资产负债率"
        assert DriftReport(subject="score").subject_label == "评分"
    with translation.override("en"):
        assert not any(HAN.search(feature_title(name)) for name in FEATURE_NAMES)
        page = render_to_string("admin/scoring/reasons.html", {"reasons": reasons})
        assert "Sales over 90 days (yuan)" in page and "gmv_90d_yuan" not in page
        # A 360° term by its kind; a column the tables do not know as written.
        assert feature_title("questionnaire") == "Owner's questionnaire"
        assert feature_title("verification_customs") == "Third-party verification"
    with translation.override("zh-hans"):
        assert feature_title("questionnaire") == "经营者问卷"
        assert feature_title("verification_customs") == "第三方核验"
        assert feature_title("loan_id") == "loan_id"


@pytest.mark.django_db
def test_a_refunds_page_a_stages_title_and_an_audit_rows_words_read_in_one_language(admin_client):
    from django.conf import settings
    from django.urls import reverse

    from common.admin import field_label
    from common.audit import actor_text
    from lending.models import ApplicationStage
    from merchants.models import Refund
    from tests.merchants.factories import OrderFactory

    order = OrderFactory()
    refund = Refund.objects.create(
        order=order,
        merchant=order.merchant,
        amount_fen=100,
        refunded_at=timezone.now(),
        reason="描述不符 not as described",
    )
    url = reverse("admin:merchants_refund_change", args=[refund.pk])
    stage = ApplicationStage(name="riskcontrol.stages.blacklist")
    for language, shown, other in (
        ("zh-hans", "描述不符", "not as described"),
        ("en", "not as described", "描述不符"),
    ):
        admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = admin_client.get(url).content.decode()
        assert shown in page and other not in page, language
    with translation.override("zh-hans"):
        assert stage.title == "黑名单"
        assert actor_text("system") == "系统" and actor_text("user officer") == "用户 officer"
        assert str(field_label(Refund, "refunded_at")) != "refunded_at"
    with translation.override("en"):
        assert stage.title == "Blacklist"
        assert actor_text("task lending.tasks.cob") == "task lending.tasks.cob"
