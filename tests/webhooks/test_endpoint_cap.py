"""A partner registers at most WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER webhook endpoints (each event
fans out to every endpoint): one more is a 409 naming the limit, through the API and in the
workbench, and creates racing each other (real threads on PostgreSQL) never pass it together."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from rest_framework.test import APIClient

from merchants.webhooks import services
from merchants.webhooks.models import WebhookEndpoint
from tests.conftest import requires_postgres
from tests.security.conftest import at_once, partner_client_for

ENDPOINTS = "/api/v1/webhooks/endpoints/"
URL = "http://127.0.0.1:9/hook"
BODY = {"url": URL, "event_types": ["loan.disbursed"]}


def body(n: int) -> dict:
    return {"url": f"{URL}/{n}", "event_types": ["loan.disbursed"]}


@override_settings(WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER=3)
def test_one_endpoint_more_than_the_limit_is_a_409_naming_it(db):
    client, other = partner_client_for(), partner_client_for()
    made = [client.post(ENDPOINTS, body(n), format="json") for n in range(3)]
    assert [reply.status_code for reply in made] == [201, 201, 201]
    refused = client.post(ENDPOINTS, body(3), format="json")
    assert refused.status_code == 409, refused.content
    problem = refused.json()
    assert problem["code"] == "too_many_endpoints" and problem["limit"] == 3
    assert "at most 3 webhook endpoints" in problem["detail"]
    assert [error["field"] for error in problem["errors"]] == ["body"]
    assert WebhookEndpoint.objects.filter(partner=client.partner).count() == 3
    # Another partner's endpoints are its own count.
    assert other.post(ENDPOINTS, BODY, format="json").status_code == 201
    # Remove one, and there is room for one again.
    assert client.delete(f"{ENDPOINTS}{made[0].json()['id']}/").status_code == 204
    assert client.post(ENDPOINTS, body(4), format="json").status_code == 201
    # The service itself holds the limit (the workbench and any other caller go through it).
    with pytest.raises(services.TooManyEndpointsError):
        services.endpoint_create(partner=client.partner, url=f"{URL}/5", event_types=["loan.disbursed"])
    assert WebhookEndpoint.objects.filter(partner=client.partner).count() == 3


@override_settings(WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER=1)
def test_the_workbench_refuses_one_endpoint_more_naming_the_partner(db):
    client = partner_client_for()
    assert client.post(ENDPOINTS, BODY, format="json").status_code == 201
    officer = get_user_model().objects.create_superuser("officer", "o@example.com", "pw")
    browser = Client()
    browser.force_login(officer)
    response = browser.post(
        "/admin/merchants/webhookendpoint/add/",
        {
            "partner": client.partner.pk,
            "url": f"{URL}/2",
            "event_types": ["loan.disbursed"],
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "at most 1 webhook endpoints" in response.content.decode()
    assert WebhookEndpoint.objects.filter(partner=client.partner).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
@override_settings(WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER=3)
def test_creates_racing_each_other_never_pass_the_limit():
    client = partner_client_for()
    WebhookEndpoint.objects.create(
        partner=client.partner, url=URL, event_types=["loan.disbursed"], secret="s"
    )

    def create(n: int):
        caller = APIClient(raise_request_exception=False)
        caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
        return caller.post(ENDPOINTS, body(n), format="json")

    replies = at_once([lambda n=n: create(n) for n in range(10)])
    assert not [reply for reply in replies if isinstance(reply, BaseException)]
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses == [201] * 2 + [409] * 8, [(r.status_code, r.content[:200]) for r in replies]
    assert WebhookEndpoint.objects.filter(partner=client.partner).count() == 3


def test_a_create_sent_again_is_refused_naming_the_endpoint_it_made(db):
    client, other = partner_client_for(), partner_client_for()
    made = client.post(ENDPOINTS, BODY, format="json")
    assert made.status_code == 201
    # The same create again (its reply lost on the way): not a second endpoint.
    again = client.post(
        ENDPOINTS, {**BODY, "event_types": ["loan.disbursed", "loan.disbursed"]}, format="json"
    )
    assert again.status_code == 409, again.content
    problem = again.json()
    assert problem["endpoint"] == made.json()["id"]
    assert [error["field"] for error in problem["errors"]] == ["url"]
    assert WebhookEndpoint.objects.filter(partner=client.partner).count() == 1
    # Other event types, or another description, at the same URL are another endpoint; another
    # partner's endpoint at the same URL is its own.
    assert client.post(ENDPOINTS, {**BODY, "event_types": ["loan.overdue"]}, format="json").status_code == 201
    assert client.post(ENDPOINTS, {**BODY, "description": "second"}, format="json").status_code == 201
    assert other.post(ENDPOINTS, BODY, format="json").status_code == 201


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_create_sent_ten_times_at_once_registers_one_endpoint():
    client = partner_client_for()

    def create():
        caller = APIClient(raise_request_exception=False)
        caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
        return caller.post(ENDPOINTS, BODY, format="json")

    replies = at_once([create for _ in range(10)])
    assert not [reply for reply in replies if isinstance(reply, BaseException)]
    assert sorted(reply.status_code for reply in replies) == [201] + [409] * 9
    assert WebhookEndpoint.objects.filter(partner=client.partner).count() == 1
