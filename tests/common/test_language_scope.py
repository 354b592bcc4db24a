"""A request's language lasts as long as the request: what runs on the same thread afterwards (a
task, a command, a webhook's payload built outside any request) reads settings.LANGUAGE_CODE, or
the language the thread had before, never the last caller's (common.middleware.LanguageScopeMiddleware)."""

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from merchants.webhooks.models import WebhookDelivery

# A label code renders outside a request (a delivery's status in the workbench's export, a log).
FAILED = {"zh-hans": "已放弃", "en": "Failed"}


def failed_label() -> str:
    return str(WebhookDelivery.Status.FAILED.label)


@pytest.mark.django_db
def test_an_api_answer_in_english_leaves_the_thread_in_the_default_language(partner_client):
    assert failed_label() == FAILED["zh-hans"]
    reply = partner_client.get("/api/v1/merchants/")
    assert reply.status_code == 200 and reply["Content-Language"] == "en"
    assert translation.get_language() == settings.LANGUAGE_CODE
    assert failed_label() == FAILED["zh-hans"]


@pytest.mark.django_db
def test_an_api_refusal_in_english_leaves_the_thread_in_the_default_language(partner_client):
    reply = partner_client.get("/api/v1/no-such-resource/")
    assert reply.status_code == 404
    assert translation.get_language() == settings.LANGUAGE_CODE
    assert failed_label() == FAILED["zh-hans"]


@pytest.mark.django_db
def test_a_portal_page_in_the_browsers_english_leaves_the_thread_in_the_default_language():
    page = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "en"
    assert failed_label() == FAILED["zh-hans"]


@pytest.mark.django_db
def test_a_thread_in_english_stays_in_english_after_a_request_answered_in_chinese():
    with translation.override("en"):
        page = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page["Content-Language"] == "zh-hans"
        assert failed_label() == FAILED["en"]
    assert failed_label() == FAILED["zh-hans"]
