"""The merchant's home page: lines, offer, wallet, each loan's next deduction as "¥X on date Y",
applications in progress with the next step, declines and warnings in plain words of the
merchant's language, links to repay early; and a query count that does not grow with the number
of lines, loans, applications or warnings (run on SQLite and on PostgreSQL)."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from common.business_date import business_date_today
from common.money import format_yuan
from lending.deductions import loans_next_deductions
from lending.models import Application, Loan, Product
from payments import services as payments
from riskcontrol import plain_words
from riskcontrol.models import RiskAction
from riskcontrol.models import Warning as RiskWarning
from scoring.models import MerchantScore, Offer
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.lending.test_lending_interfaces import merchant_login
from tests.merchants.factories import MerchantFactory
from tests.scoring.factories import champion_create


@pytest.fixture
def world(db):
    open_pool()
    return champion_create()


def shop_with(model, *, loans: int, applications: int, warnings: int):
    """A merchant with two lines, `loans` open loans, applications in progress and declined,
    an offer, and risk notices."""
    merchant = MerchantFactory(shop_name="晨光小店")
    client = merchant_login(merchant)
    today = business_date_today()
    credit = CreditLineFactory(
        merchant=merchant, product=ProductFactory(credit_loan=True), limit_fen=50_000_000
    )
    CreditLineFactory(merchant=merchant, product=ProductFactory(), limit_fen=20_000_000)
    for n in range(loans):
        draw(credit, 1_000_00 + n, key=f"{merchant.pk}-{n}")
    payments.settlement_credit(
        wallet=payments.wallet_open(merchant=merchant),
        amount_fen=1_234_50,
        idempotency_key=f"s-{merchant.pk}",
    )
    products = list(Product.objects.order_by("code"))
    for n in range(applications):
        Application.objects.create(
            reference=f"A-{merchant.pk}-{n}",
            merchant=merchant,
            product=products[n % len(products)],
            channel=Application.Channel.PORTAL,
            amount_fen=100_000,
            status=Application.Status.REFERRED if n == 0 else Application.Status.DECLINED,
            current_stage="lending.stages.video_check" if n == 0 else "riskcontrol.stages.policy",
            reasons=[] if n == 0 else [{"code": "shop_too_young", "text": "开店未满 90 天 The shop ..."}],
            reapply_on=today + dt.timedelta(days=30),
            submitted_on=today,
            submitted_at=timezone.now(),
        )
    score = MerchantScore.objects.create(
        merchant=merchant,
        model=model,
        as_of=today,
        points=600,
        probability=0.02,
        grade="B",
        line_fen=3_000_000,
    )
    Offer.objects.create(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        score=score,
        line_fen=3_000_000,
        daily_rate="0.00050000",
        grade="B",
        rank=1,
        issued_on=today,
        expires_on=today + dt.timedelta(days=14),
    )
    kinds = [RiskWarning.Kind.SALES_CLIFF, RiskWarning.Kind.REFUND_SPIKE, RiskWarning.Kind.GONE_QUIET]
    for n in range(warnings):
        RiskWarning.objects.create(
            merchant=merchant, kind=kinds[n % 3], raised_on=today, severity="high", version="t"
        )
        RiskAction.objects.create(
            merchant=merchant, kind=RiskAction.Kind.FREEZE_LINE, reason="x", business_on=today, actor="t"
        )
    return merchant, client


def test_the_home_page_shows_everything_on_one_page(world):
    merchant, client = shop_with(world, loans=2, applications=2, warnings=1)
    with translation.override("en"):
        response = client.get(reverse("portal:overview"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    for testid in ["home-lines", "home-offer", "home-wallet", "home-applications", "home-warnings"]:
        assert f'data-testid="{testid}"' in html, testid
    wallet = payments.wallet_open(merchant=merchant)
    assert f'data-testid="home-wallet">{format_yuan(wallet.balance_fen)}<' in html
    assert wallet.balance_fen == 1_234_50 + 1_000_00 + 1_000_01
    assert "500,000.00" in html and "200,000.00" in html  # the two lines' limits
    assert reverse("portal:offer-accept", args=[Offer.objects.get(merchant=merchant).pk]) in html
    # One next deduction per loan, in the words "¥X on date Y", from the lending rules.
    loans = list(Loan.objects.filter(merchant=merchant).order_by("-disbursed_on", "-id"))
    expected = loans_next_deductions(loans=loans, today=business_date_today())
    assert html.count('data-testid="home-next-deduction"') == 2
    for d in expected:
        assert f"¥{format_yuan(d.amount_fen)} on {d.on:%Y-%m-%d}" in html
        assert f'href="{reverse("portal:loan-detail", args=[d.loan.reference])}#repay"' in html
    # What happens next, why it was declined, why there is a warning: plain words, one language.
    with translation.override("en"):
        assert str(plain_words.REASONS["video_check"]) in html
        assert str(plain_words.REASONS["shop_too_young"]) in html
        assert str(plain_words.ACTIONS[RiskAction.Kind.FREEZE_LINE]) in html
        assert str(plain_words.WARNINGS[RiskWarning.Kind.SALES_CLIFF]) in html
    assert "开店未满" not in html


def test_the_home_page_speaks_chinese_by_default(world):
    _merchant, client = shop_with(world, loans=1, applications=2, warnings=1)
    html = client.get(reverse("portal:overview")).content.decode()
    assert re.search(r"<html lang=\"zh-hans\"", html, re.IGNORECASE)
    assert "下次扣款" in html and "Next deductions" not in html
    assert "您的授信额度已冻结，暂不能用款。" in html
    with translation.override("zh-hans"):
        assert str(plain_words.REASONS["shop_too_young"]) in html
        assert str(plain_words.ACTIONS[RiskAction.Kind.FREEZE_LINE]) in html


def test_a_merchant_is_sent_from_the_root_to_its_home(world):
    _merchant, client = shop_with(world, loans=0, applications=0, warnings=0)
    assert client.get("/").url == reverse("portal:overview")
    html = client.get(reverse("portal:overview")).content.decode()
    assert 'data-testid="home-next-deduction"' not in html and 'data-testid="home-warnings"' in html


def test_the_home_pages_queries_do_not_grow_with_what_it_shows(world):
    _small, small_client = shop_with(world, loans=1, applications=1, warnings=1)
    _large, large_client = shop_with(world, loans=6, applications=5, warnings=3)
    url = reverse("portal:overview")
    small_client.get(url)
    large_client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert small_client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as large:
        html = large_client.get(url).content.decode()
    assert html.count('data-testid="home-next-deduction"') == 6
    assert len(small.captured_queries) == len(large.captured_queries), [
        q["sql"][:120] for q in large.captured_queries
    ]
