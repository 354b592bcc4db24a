"""An answer to a question the owner's questionnaire does not have (the B2B member application)
is refused naming it — `questionnaire.q99`, as an unknown name of the body is — and nothing is
written: through the partner API (in English and in Chinese) and the portal's form."""

import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from lending.models import Application
from merchants.models import QuestionnaireResponse
from merchants.questionnaire import QUESTION_CODES, QUESTIONS
from tests.api.conftest import KEY_A, TODAY, client_for, world_build
from tests.scoring.factories import rated_merchant

CJK = re.compile(r"[\u4e00-\u9fff]")
FIGURES = {
    "fiscal_year": 2025,
    "sales": "5000000.00",
    "net_profit_margin": "0.08",
    "total_assets": "3000000.00",
    "total_liabilities": "1000000.00",
    "platform_sales_share": "0.5",
}


@pytest.fixture
def world(db):
    return world_build()


def _apply(client, answers, language, key):
    body = {
        "merchant": "SHOP-A",
        "product": "revolving",
        "amount": "60000.00",
        "declared": FIGURES,
        "questionnaire": answers,
    }
    return client.post(
        "/api/v1/applications/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.parametrize(
    "extra, named",
    [
        ({"q99": 3}, ["questionnaire.q99"]),
        ({"Plan-Ahead": 3}, ["questionnaire.Plan-Ahead"]),
        ({"q99": 3, "q98": 1}, ["questionnaire.q98", "questionnaire.q99"]),
    ],
)
def test_an_unknown_question_code_is_refused_naming_it_in_both_languages(world, extra, named):
    client = client_for(KEY_A)
    answers = {**dict.fromkeys(QUESTION_CODES, 4), **extra}
    english = _apply(client, answers, "en", "q-en")
    chinese = _apply(client, answers, "zh-hans", "q-zh")
    for reply in (english, chinese):
        assert reply.status_code == 400, reply.content
        assert sorted(error["field"] for error in reply.json()["errors"]) == named
    assert not any(CJK.search(error["message"]) for error in english.json()["errors"])
    assert all(CJK.search(error["message"]) for error in chinese.json()["errors"])
    assert not Application.objects.exists()
    assert not QuestionnaireResponse.objects.exists()
    # The same answers without the unknown code are taken (the refusal was for the code alone).
    assert _apply(client, dict.fromkeys(QUESTION_CODES, 4), "en", "q-ok").status_code == 201


def test_the_service_refuses_an_unknown_question_code_too(world):
    from common.errors import ApplicationError
    from lending.models import Product
    from lending.services import applications as services

    with pytest.raises(ApplicationError) as refused:
        services.application_submit(
            merchant=world.shop_a,
            product=Product.objects.get(code="revolving"),
            amount_fen=6_000_000,
            channel="portal",
            on=TODAY,
            actor="test",
            declared={
                "fiscal_year": 2025,
                "sales_fen": 500_000_000,
                "net_profit_margin": "0.08",
                "total_assets_fen": 300_000_000,
                "total_liabilities_fen": 100_000_000,
                "platform_sales_share": "0.5",
            },
            questionnaire={**dict.fromkeys(QUESTION_CODES, 4), "q99": 3},
        )
    assert list(refused.value.extra["fields"]) == ["questionnaire.q99"]
    assert not Application.objects.exists()


def test_the_portal_form_refuses_an_unknown_question(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    merchant = rated_merchant(kind="b2b", gmv=90_000.0, refund=0.01)
    merchant.user = User.objects.create_user("member", password="pw")
    merchant.save(update_fields=["user"])
    client = Client()
    client.force_login(merchant.user)
    from lending.models import Product

    data = {
        "product": Product.objects.get(code="fixed_loan").pk,
        "amount": "100000.00",
        "fiscal_year": "2025",
        "sales": "5000000.00",
        "net_profit_margin": "8.5",
        "total_assets": "3000000",
        "total_liabilities": "1000000",
        "platform_sales_share": "50",
        "request_token": str(uuid.uuid4()),
        **{f"q_{q.code}": "4" for q in QUESTIONS},
        "q_q99": "3",
    }
    page = client.post(reverse("portal:member-apply"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400  # the form again, the refusal on it
    assert "q_q99: not a question of this questionnaire" in page.content.decode()
    assert not Application.objects.exists()
    assert not QuestionnaireResponse.objects.exists()
