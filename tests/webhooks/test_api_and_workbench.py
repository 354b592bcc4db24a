"""A partner manages its own endpoints through the API (the secret shown once, rotation with an
overlap, another partner's endpoint 404) and reads the events sent to it; officers register
endpoints, read the delivery log and redeliver in the workbench."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from merchants import services as merchants
from merchants.models import Merchant
from merchants.webhooks import services
from merchants.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from merchants.webhooks.signing import verify
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, PartnerPlatformFactory

ENDPOINTS = "/api/v1/webhooks/endpoints/"


def register(client, url, types=("merchant.restricted",)):
    return client.post(ENDPOINTS, {"url": url, "event_types": list(types)}, format="json")


@pytest.fixture
def other_client(db):
    partner = PartnerPlatformFactory()
    raw = "xd_otherkey_" + "o" * 40
    ApiKeyFactory(partner=partner, raw_key=raw)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.partner = partner
    return client


def test_a_partner_registers_an_endpoint_and_receives_signed_webhooks(partner_client, receivers):
    receiver = receivers()
    made = register(partner_client, receiver.url)
    assert made.status_code == 201
    body = made.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["event_types"] == ["merchant.restricted"]
    # Shown once: no read gives it again, and the database holds it encrypted.
    listed = partner_client.get(ENDPOINTS).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in partner_client.get(f"{ENDPOINTS}{body['id']}/").json()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM merchants_webhookendpoint")
        assert secret not in cursor.fetchone()[0]

    merchant = MerchantFactory(partner=partner_client.partner)
    merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")
    services.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    (request,) = receiver.requests
    verify(secret, request.body, request.headers["Xiaodai-Signature"])

    events = partner_client.get("/api/v1/webhooks/events/", {"type": "merchant.restricted"}).json()["results"]
    assert events[0]["id"] == request.headers["Xiaodai-Event-Id"]
    assert events[0]["deliveries"][0]["status"] == "succeeded"


def test_rotating_the_secret_signs_with_both_until_the_overlap_ends(partner_client, receivers):
    receiver = receivers()
    made = register(partner_client, receiver.url).json()
    rotated = partner_client.post(f"{ENDPOINTS}{made['id']}/rotate-secret/", HTTP_IDEMPOTENCY_KEY="rotate-1")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != made["secret"] and rotated.json()["secret_overlap_until"]

    merchant = MerchantFactory(partner=partner_client.partner)
    merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")
    services.delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    (request,) = receiver.requests
    for secret in (new, made["secret"]):
        verify(secret, request.body, request.headers["Xiaodai-Signature"])


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "", "event_types": ["loan.overdue"]}, "url"),
        ({"url": "ftp://example.com/x", "event_types": ["loan.overdue"]}, "url"),
        ({"url": "https://example.com/x", "event_types": []}, "event_types"),
        ({"url": "https://example.com/x", "event_types": ["loan.paid"]}, "event_types"),
        ({"url": "https://example.com/x", "event_types": "loan.overdue"}, "event_types"),
        ({"event_types": ["loan.overdue"]}, "url"),
        ({"url": "https://example.com/" + "x" * 600, "event_types": ["loan.overdue"]}, "url"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(partner_client, body, field):
    refused = partner_client.post(ENDPOINTS, body, format="json")
    assert refused.status_code == 400, refused.json()
    assert field in refused.json()["error"]["fields"]
    assert WebhookEndpoint.objects.count() == 0


def test_another_partners_endpoints_and_events_are_not_found(partner_client, other_client, receivers):
    receiver = receivers()
    theirs = register(other_client, receiver.url).json()
    MerchantFactory(partner=other_client.partner)
    # Each with what the operation takes (a name it does not take is a 400 whoever owns the id).
    for method, path, body in [
        ("get", f"{ENDPOINTS}{theirs['id']}/", None),
        ("patch", f"{ENDPOINTS}{theirs['id']}/", {"is_active": False}),
        ("delete", f"{ENDPOINTS}{theirs['id']}/", None),
        ("post", f"{ENDPOINTS}{theirs['id']}/rotate-secret/", {}),
    ]:
        answer = getattr(partner_client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY="theirs-1")
        assert answer.status_code == 404, (method, path)
    assert partner_client.get(ENDPOINTS).json()["results"] == []
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.is_active and endpoint.secret == theirs["secret"]
    merchants.merchant_restrict(
        merchant=MerchantFactory(partner=other_client.partner), reason="defaulter", actor="risk"
    )
    assert partner_client.get("/api/v1/webhooks/events/").json()["results"] == []
    assert len(other_client.get("/api/v1/webhooks/events/").json()["results"]) == 1


def test_a_partner_switches_an_endpoint_off_and_removes_it(partner_client, receivers):
    receiver = receivers()
    made = register(partner_client, receiver.url).json()
    off = partner_client.patch(f"{ENDPOINTS}{made['id']}/", {"is_active": False}, format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False
    merchants.merchant_restrict(
        merchant=MerchantFactory(partner=partner_client.partner), reason="x", actor="r"
    )
    assert WebhookDelivery.objects.count() == 0
    # Switched off with a delivery pending: it fails at its next attempt, nothing is sent.
    on = partner_client.patch(f"{ENDPOINTS}{made['id']}/", {"is_active": True}, format="json")
    assert on.json()["is_active"] is True
    merchants.merchant_reinstate(
        merchant=Merchant.objects.get(partner=partner_client.partner), reason="x", actor="r"
    )
    merchants.merchant_restrict(
        merchant=Merchant.objects.get(partner=partner_client.partner), reason="x", actor="r"
    )
    partner_client.patch(f"{ENDPOINTS}{made['id']}/", {"is_active": False}, format="json")
    pending = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=pending.pk)
    pending.refresh_from_db()
    assert pending.status == "failed" and pending.last_error == "the endpoint is disabled"
    assert receiver.requests == []
    assert partner_client.delete(f"{ENDPOINTS}{made['id']}/").status_code == 204
    assert partner_client.get(f"{ENDPOINTS}{made['id']}/").status_code == 404


def test_an_unknown_event_type_filter_is_refused_naming_it(partner_client):
    answer = partner_client.get("/api/v1/webhooks/events/", {"type": "loan.paid\x00"})
    assert answer.status_code == 400 and "type" in answer.json()["error"]["fields"]


@pytest.fixture
def officer_client(db):
    user = get_user_model().objects.create_superuser("admin", password="x")
    client = Client()
    client.force_login(user)
    return client


def test_an_officer_registers_an_endpoint_and_sees_the_secret_once(officer_client, receivers):
    receiver = receivers()
    partner = PartnerPlatformFactory()
    page = officer_client.post(
        "/admin/merchants/webhookendpoint/add/",
        {
            "partner": partner.pk,
            "url": receiver.url,
            "event_types": ["loan.overdue", "loan.disbursed"],
            "description": "ops",
            "is_active": "on",
        },
        follow=True,
    )
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["loan.disbursed", "loan.overdue"] and endpoint.partner == partner
    assert endpoint.secret in page.content.decode()
    detail = officer_client.get(f"/admin/merchants/webhookendpoint/{endpoint.pk}/change/")
    assert detail.status_code == 200 and endpoint.secret not in detail.content.decode()

    old = endpoint.secret
    rotated = officer_client.post(
        "/admin/merchants/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in rotated.content.decode()


def test_the_workbench_shows_the_delivery_log_and_redelivers(officer_client, receivers, settings):
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    receiver = receivers([503, 200])
    merchant = MerchantFactory()
    services.endpoint_create(partner=merchant.partner, url=receiver.url, event_types=["merchant.restricted"])
    merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")
    delivery = WebhookDelivery.objects.get()
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"

    listing = officer_client.get("/admin/merchants/webhookdelivery/", {"status": "failed"})
    assert listing.status_code == 200 and delivery.event_id in listing.content.decode()
    page = officer_client.get(f"/admin/merchants/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200 and "503" in page.content.decode()
    event_page = officer_client.get(
        reverse("admin:merchants_webhookevent_change", args=[quote(delivery.event_id)])
    )
    assert event_page.status_code == 200

    officer_client.post(
        "/admin/merchants/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )
    services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert list(WebhookAttempt.objects.values_list("is_manual", "status_code")) == [(False, 503), (True, 200)]


def test_events_are_listed_newest_first_across_pages(partner_client, receivers, monkeypatch):
    from merchants.webhooks.api import NewestFirstPagination

    monkeypatch.setattr(NewestFirstPagination, "page_size", 2)
    receiver = receivers()
    register(partner_client, receiver.url)
    merchant = MerchantFactory(partner=partner_client.partner)
    for _ in range(3):
        merchants.merchant_restrict(merchant=merchant, reason="defaulter", actor="risk")
        merchants.merchant_reinstate(merchant=merchant, reason="paid", actor="risk")
    from merchants.webhooks.models import WebhookEvent

    expected = list(WebhookEvent.objects.order_by("-created_at").values_list("id", flat=True))
    seen, url, pages = [], "/api/v1/webhooks/events/", 0
    while url:
        page = partner_client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url, pages = page["next"], pages + 1
    # Three restrictions and three liftings, newest first, two a page.
    assert seen == expected and len(seen) == 6 and pages == 3
