"""The merchant's credit page: its offers with daily and annual rates and expiry; accepting
(POST, CSRF, idempotent) opens the line shown on the loans page; "can I get credit?" answers at
once, with the four main reasons in Chinese and English on a decline; never a 500."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from common.business_date import business_date_set, business_date_today
from lending.models import CreditLine
from merchants.models import Verification
from payments import services as payments
from scoring.models import MerchantScore, Offer
from scoring.selectors import policy_get
from scoring.services import offers_issue, scores_refresh_all
from tests.one_language import han_labels
from tests.scoring.factories import champion_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)


@pytest.fixture
def world(db):
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.acceptance_rate_target = Decimal("1")
    policy.cutoff_grade = "C"
    policy.save()


def merchant_client(merchant, username="seller"):
    user = User.objects.create_user(username=username, password="pw")
    merchant.user = user
    merchant.save(update_fields=["user"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def offered(world):
    """A merchant with two offers (credit loan and order loan) and its logged-in client."""
    merchant = rated_merchant()
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    return merchant, merchant_client(merchant)


def test_the_merchant_sees_its_offer_with_daily_and_annual_rate_and_expiry(offered):
    merchant, client = offered
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")

    response = client.get(reverse("portal:credit"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "36,000.00" in page  # the line: 0.60 × ¥60,000 of sales
    assert "0.0600 %" in page and "21.90 %" in page  # 0.06 %/day × 365
    assert offer.expires_on.isoformat() in page
    assert f'action="{reverse("portal:offer-accept", args=[offer.pk])}"' in page


def test_accepting_opens_the_line_on_the_loans_page_and_twice_is_the_same_line(offered):
    merchant, client = offered
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")
    url = reverse("portal:offer-accept", args=[offer.pk])

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("portal:loans")
    again = client.post(url)
    assert again.status_code == 302 and again["Location"] == reverse("portal:loans")

    line = CreditLine.objects.get(merchant=merchant, product__code="credit_loan")
    assert line.limit_fen == offer.line_fen
    loans_page = client.get(reverse("portal:loans")).content.decode()
    assert f'data-testid="line-{line.pk}"' in loans_page and "36,000.00" in loans_page


def test_accepting_needs_a_post_with_a_csrf_token(offered):
    merchant, _ = offered
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(merchant.user)
    assert strict.get(reverse("portal:offer-accept", args=[offer.pk])).status_code == 405
    assert strict.post(reverse("portal:offer-accept", args=[offer.pk])).status_code == 403
    assert not CreditLine.objects.filter(merchant=merchant).exists()


def test_a_merchant_cannot_accept_another_merchants_offer(offered):
    merchant, _ = offered
    offer = Offer.objects.filter(merchant=merchant).first()
    other = merchant_client(rated_merchant(), username="other")
    assert other.post(reverse("portal:offer-accept", args=[offer.pk])).status_code == 404
    assert other.post(reverse("portal:offer-decline", args=[offer.pk])).status_code == 404


def test_declining_removes_the_offer_from_the_page(offered):
    merchant, client = offered
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")
    response = client.post(reverse("portal:offer-decline", args=[offer.pk]))
    assert response.status_code == 302
    assert f"offer-{offer.pk}" not in client.get(reverse("portal:credit")).content.decode()
    # Accepting it afterwards is refused on the page, not a server error.
    refused = client.post(reverse("portal:offer-accept", args=[offer.pk]), follow=True)
    assert refused.status_code == 200 and "declined" in refused.content.decode()


def test_an_expired_offer_is_not_shown_and_cannot_be_accepted(offered):
    merchant, client = offered
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")
    business_date_set(on=offer.expires_on + dt.timedelta(days=1))
    assert f"offer-{offer.pk}" not in client.get(reverse("portal:credit")).content.decode()
    response = client.post(reverse("portal:offer-accept", args=[offer.pk]), follow=True)
    assert response.status_code == 200 and "expired" in response.content.decode()
    assert not CreditLine.objects.filter(merchant=merchant).exists()


def test_a_merchant_without_an_offer_asks_and_is_declined_with_four_reasons(world):
    merchant = rated_merchant(gmv=2_000.0, refund=0.3, questionnaire_score=10.0)
    Verification.objects.create(
        merchant=merchant, kind="business_licence", provider="t", result="failed", checked_on=TODAY
    )
    client = merchant_client(merchant)
    page = client.get(reverse("portal:credit")).content.decode()
    assert 'data-testid="ask"' in page

    response = client.post(reverse("portal:credit-ask"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "暂时无法为您提供新额度" in page and "We cannot offer you a new line today" not in page
    score = MerchantScore.objects.get(merchant=merchant, is_current=True)
    assert score.grade == "E" and len(score.reasons) == 4
    for reason in score.reasons:
        assert reason["zh"] in page and reason["en"].replace("'", "&#x27;") not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("portal:credit")).content.decode()
    for reason in score.reasons:
        assert reason["en"].replace("'", "&#x27;") in english and reason["zh"] not in english
    assert "营业执照核验未通过" in page
    assert not Offer.objects.filter(merchant=merchant).exists()


def test_a_merchant_that_qualifies_when_it_asks_gets_an_offer_at_once(world):
    merchant = rated_merchant()
    client = merchant_client(merchant)
    response = client.post(reverse("portal:credit-ask"), follow=True)
    assert response.status_code == 200
    assert Offer.objects.filter(merchant=merchant, status="issued").exists()
    assert 'data-testid="offer-' in response.content.decode()


def test_asking_without_a_champion_is_rated_by_the_expert_scorecard(db):
    business_date_set(on=TODAY, allow_backwards=True)
    merchant = rated_merchant()
    client = merchant_client(merchant)
    response = client.post(reverse("portal:credit-ask"), follow=True)
    assert response.status_code == 200
    assert "We cannot rate your shop right now" not in response.content.decode()
    assert merchant.scores.get(is_current=True).model.version == "expert-1"


def test_anonymous_visitors_go_to_the_login_page_and_staff_without_a_shop_get_403(db):
    for url in (reverse("portal:credit"), reverse("portal:offer-accept", args=[1])):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    staff = User.objects.create_user(username="clerk", password="pw")
    client = Client()
    client.force_login(staff)
    assert client.get(reverse("portal:credit")).status_code == 403
    assert client.post(reverse("portal:credit-ask")).status_code == 403


def test_the_credit_page_and_the_overview_in_english_have_no_chinese_label(world):
    merchant = rated_merchant(gmv=2_000.0, refund=0.3, questionnaire_score=10.0)
    client = merchant_client(merchant)
    assert client.post(reverse("portal:credit-ask")).status_code == 200
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for path in (reverse("portal:credit"), "/overview/"):
        page = client.get(path)
        assert page.status_code == 200
        found = han_labels(page.content.decode(), merchant.shop_name, merchant.owner.name)
        assert not found, f"{path}: {found}"
