"""Changing a webhook endpoint may not make it the same as another of the partner's (a create
of one is refused with 409 already; two changes racing each other are refused too), and rotating
its secret is one rotation per Idempotency-Key: the same key resent answers with the same new
secret, which the idempotency record keeps encrypted."""

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient

from common.models import IdempotencyRecord
from merchants.webhooks.models import WebhookEndpoint
from tests.conftest import requires_postgres
from tests.security.conftest import at_once, partner_client_for

ENDPOINTS = "/api/v1/webhooks/endpoints/"
URL = "http://127.0.0.1:9/hook"


def make(client, url, types=("loan.disbursed",), **extra):
    made = client.post(ENDPOINTS, {"url": url, "event_types": list(types), **extra}, format="json")
    assert made.status_code == 201, made.content
    return made.json()


def test_a_change_that_makes_two_endpoints_the_same_is_a_409_naming_url(db):
    client, other = partner_client_for(), partner_client_for()
    first = make(client, f"{URL}/a")
    second = make(client, f"{URL}/b")
    refused = client.patch(f"{ENDPOINTS}{second['id']}/", {"url": f"{URL}/a"}, format="json")
    assert refused.status_code == 409, refused.content
    problem = refused.json()
    assert [error["field"] for error in problem["errors"]] == ["url"]
    assert problem["endpoint"] == first["id"]
    assert WebhookEndpoint.objects.get(pk=second["id"]).url == f"{URL}/b"  # nothing written
    # By the event types too: both at one URL, one with other types, changed to the same types.
    third = make(client, f"{URL}/a", types=["loan.overdue"])
    refused = client.patch(f"{ENDPOINTS}{third['id']}/", {"event_types": ["loan.disbursed"]}, format="json")
    assert refused.status_code == 409, refused.content
    assert WebhookEndpoint.objects.get(pk=third["id"]).event_types == ["loan.overdue"]
    # A change of the endpoint to what it already is, another description, or another partner's
    # endpoint at the same URL are fine.
    assert client.patch(f"{ENDPOINTS}{first['id']}/", {"url": f"{URL}/a"}, format="json").status_code == 200
    changed = client.patch(
        f"{ENDPOINTS}{third['id']}/", {"event_types": ["loan.disbursed"], "description": "x"}, format="json"
    )
    assert changed.status_code == 200, changed.content
    theirs = make(other, f"{URL}/c")
    assert other.patch(f"{ENDPOINTS}{theirs['id']}/", {"url": f"{URL}/a"}, format="json").status_code == 200


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_changes_racing_to_the_same_endpoint_let_one_through():
    client = partner_client_for()
    ids = [
        WebhookEndpoint.objects.create(
            partner=client.partner, url=f"{URL}/{n}", event_types=["loan.disbursed"], secret="s"
        ).pk
        for n in range(6)
    ]

    def change(pk: int):
        caller = APIClient(raise_request_exception=False)
        caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
        return caller.patch(f"{ENDPOINTS}{pk}/", {"url": f"{URL}/same"}, format="json")

    replies = at_once([lambda pk=pk: change(pk) for pk in ids])
    assert not [reply for reply in replies if isinstance(reply, BaseException)]
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses == [200] + [409] * 5, [(r.status_code, r.content[:200]) for r in replies]
    assert WebhookEndpoint.objects.filter(partner=client.partner, url=f"{URL}/same").count() == 1


def test_a_rotation_resent_with_its_key_gives_the_same_secret_and_rotates_once(db):
    client, other = partner_client_for(), partner_client_for()
    made = make(client, f"{URL}/r")
    path = f"{ENDPOINTS}{made['id']}/rotate-secret/"
    first = client.post(path, HTTP_IDEMPOTENCY_KEY="rot-1")
    assert first.status_code == 200, first.content
    secret = first.json()["secret"]
    assert secret != made["secret"]
    again = client.post(path, HTTP_IDEMPOTENCY_KEY="rot-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    endpoint = WebhookEndpoint.objects.get(pk=made["id"])
    # Rotated once: the secret before the first rotation still signs beside the new one.
    assert endpoint.secret == secret and endpoint.previous_secret == made["secret"]
    # The same key with a body, or for another endpoint: 409 naming the header; nothing rotates.
    with_body = client.post(path, {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="rot-1")
    assert with_body.status_code == 409, with_body.content
    assert [error["field"] for error in with_body.json()["errors"]] == ["Idempotency-Key"]
    second = make(client, f"{URL}/s")
    elsewhere = client.post(f"{ENDPOINTS}{second['id']}/rotate-secret/", HTTP_IDEMPOTENCY_KEY="rot-1")
    assert elsewhere.status_code == 409, elsewhere.content
    assert WebhookEndpoint.objects.get(pk=second["id"]).secret == second["secret"]
    # No key: refused naming the header, nothing rotated.
    keyless = client.post(path)
    assert keyless.status_code == 400
    assert [error["field"] for error in keyless.json()["errors"]] == ["Idempotency-Key"]
    assert WebhookEndpoint.objects.get(pk=made["id"]).secret == secret
    # A new key is a new rotation; another partner's same key is its own (and 404 on ours).
    newer = client.post(path, HTTP_IDEMPOTENCY_KEY="rot-2")
    assert newer.status_code == 200 and newer.json()["secret"] not in (secret, made["secret"])
    assert other.post(path, HTTP_IDEMPOTENCY_KEY="rot-1").status_code == 404
    # The record keeps the secret encrypted, never as sent.
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM common_idempotencyrecord")
        stored = " ".join(str(row[0]) for row in cursor.fetchall())
    assert secret not in stored and newer.json()["secret"] not in stored
    assert IdempotencyRecord.objects.filter(endpoint="webhooks.rotate_secret").count() == 2
    body = IdempotencyRecord.objects.get(idempotency_key="rot-1").response_body
    assert json.dumps(body).count("whsec_") == 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_rotation_sent_eight_times_at_once_rotates_once():
    client = partner_client_for()
    endpoint = WebhookEndpoint.objects.create(
        partner=client.partner, url=URL, event_types=["loan.disbursed"], secret="whsec_before"
    )

    def rotate():
        caller = APIClient(raise_request_exception=False)
        caller.credentials(HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
        return caller.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", HTTP_IDEMPOTENCY_KEY="once")

    replies = at_once([rotate for _ in range(8)])
    assert not [reply for reply in replies if isinstance(reply, BaseException)]
    assert {reply.status_code for reply in replies} == {200}, [r.content[:200] for r in replies]
    assert len({reply.json()["secret"] for reply in replies}) == 1
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "whsec_before" and endpoint.secret == replies[0].json()["secret"]


def test_the_workbench_refuses_a_change_that_makes_two_endpoints_the_same(db):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = partner_client_for()
    make(client, f"{URL}/a")
    second = make(client, f"{URL}/b")
    officer = get_user_model().objects.create_superuser("officer", "o@example.com", "pw")
    browser = Client()
    browser.force_login(officer)
    response = browser.post(
        f"/admin/merchants/webhookendpoint/{second['id']}/change/",
        {"url": f"{URL}/a", "event_types": ["loan.disbursed"], "description": "", "is_active": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "already has this URL" in response.content.decode()
    assert WebhookEndpoint.objects.get(pk=second["id"]).url == f"{URL}/b"
