"""Every refusal the portal shows is a sentence of the reader's language: a capital letter and a
full stop in English, Chinese words and 。 in Chinese; never a lower-case service message, a
status code ("frozen"), a pool's code or an amount in fen."""

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse

from common.business_date import business_date_set, business_date_today
from common.sentences import sentence
from lending import services
from lending.models import CreditLine
from payments import services as payments
from tests.lending.factories import CreditLineFactory, ProductFactory

DAY = dt.date(2026, 3, 1)


def errors_of(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", li).strip()
        for li in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    ]


@pytest.fixture
def line(db, client):
    business_date_set(on=DAY, allow_backwards=True)
    product = ProductFactory(credit_loan=True)
    line = CreditLineFactory(product=product, limit_fen=1_000_000)
    line.merchant.user = User.objects.create_user("drawer", password="x")
    line.merchant.save(update_fields=["user"])
    client.force_login(line.merchant.user)
    return line


def in_language(client, language: str) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def test_sentence_capitalises_and_closes():
    assert sentence("cannot draw 5.00 yuan: only 1.00 yuan is available") == (
        "Cannot draw 5.00 yuan: only 1.00 yuan is available."
    )
    assert sentence("Done.") == "Done."
    assert sentence("无法借款 5.00 元：可用额度不足") == "无法借款 5.00 元：可用额度不足。"
    assert sentence("") == ""


def test_a_drawdown_above_the_line_is_refused_in_a_sentence_in_both_languages(pool_fixture, line, client):
    url = reverse("portal:loan-draw", args=[line.pk])
    in_language(client, "en")
    english = errors_of(client.get(url, {"amount": "20000.00"}).content.decode())
    assert english, "no error shown"
    assert english[0].startswith("Cannot draw 20,000.00 yuan") and english[0].endswith("."), english
    in_language(client, "zh-hans")
    chinese = errors_of(client.get(url, {"amount": "20000.00"}).content.decode())
    assert chinese[0].startswith("无法借款") and chinese[0].endswith("。"), chinese


def test_a_pool_without_room_is_said_without_its_code_or_fen(line, client):
    pool = payments.funding_pool_create(code="tiny", name="Tiny")
    payments.funding_pool_add_capital(pool=pool, amount_fen=1_000, idempotency_key="capital")
    quote = services.loan_quote(line=line, amount_fen=500_000, start_on=business_date_today())
    url = reverse("portal:loan-draw", args=[line.pk])
    for language, words in (
        ("en", "We cannot lend this amount at the moment."),
        ("zh-hans", "我们目前无法发放"),
    ):
        in_language(client, language)
        response = client.post(
            url,
            {
                "amount": "5000.00",
                "contract_sha256": quote.contract_sha256,
                "request_token": str(uuid.uuid4()),
            },
        )
        shown = " ".join(errors_of(response.content.decode()))
        assert words in shown, shown
        assert "fen" not in shown and "tiny" not in shown, shown


def test_a_frozen_line_is_named_by_its_status_and_offers_no_form(pool_fixture, line, client):
    CreditLine.objects.filter(pk=line.pk).update(status=CreditLine.Status.FROZEN)
    url = reverse("portal:loan-draw", args=[line.pk])
    in_language(client, "en")
    html = client.get(url).content.decode()
    shown = " ".join(errors_of(html))
    assert "“Frozen”" in shown and shown.endswith("."), shown
    assert "Get a quote" not in html
    assert f'data-testid="borrow-{line.pk}"' not in client.get(reverse("portal:loans")).content.decode()
    in_language(client, "zh-hans")
    shown = " ".join(errors_of(client.get(url).content.decode()))
    assert "frozen" not in shown and shown.endswith("。"), shown


@pytest.fixture
def pool_fixture(db):
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    return pool
