"""Webhook endpoints as a hostile partner registers and pages them: URLs that do not parse, URLs
that reach the platform's own network through an IPv6 address carrying a private IPv4 one, and
cursors written by hand. Always a 4xx problem naming the field (url, cursor), never a 500, and
nothing registered."""

import base64
import socket
import urllib.request

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from merchants.webhooks import api as webhooks_api
from merchants.webhooks import services as webhooks
from merchants.webhooks import transport
from merchants.webhooks.models import WebhookEndpoint
from tests.api.test_bad_input import _problem_naming
from tests.security.conftest import partner_client_for
from tests.webhooks.conftest import receivers as local_receivers

ENDPOINTS = "/api/v1/webhooks/endpoints/"
EVENTS = "/api/v1/webhooks/events/"


@pytest.fixture
def client(db) -> APIClient:
    client = partner_client_for()
    client.raise_request_exception = False  # a 500 is an answer to check, not an exception here
    webhooks.endpoint_create(
        partner=client.partner, url="https://partner.example.com/hooks", event_types=["loan.disbursed"]
    )
    return client


@pytest.fixture
def production_network(settings):
    """As in production: https only, no private, loopback or reserved destinations."""
    settings.WEBHOOKS_ALLOW_HTTP = False
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False


def _register(client, url: str):
    return client.post(ENDPOINTS, {"url": url, "event_types": ["loan.disbursed"]}, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "https://partner.example.com:99999/hooks",
        "https://partner.example.com:port/hooks",
        "https://[::1/hooks",
        "https://[not-an-address]/hooks",
    ],
)
def test_a_url_that_does_not_parse_is_a_400_naming_url(client, production_network, url):
    before = WebhookEndpoint.objects.count()
    assert _problem_naming(_register(client, url), "url") is None
    endpoint = WebhookEndpoint.objects.get(partner=client.partner)
    response = client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"url": url}, format="json")
    assert _problem_naming(response, "url") is None
    assert WebhookEndpoint.objects.count() == before
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == "https://partner.example.com/hooks"


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254 (cloud metadata)
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[2002:a00:1::]",  # 6to4 of 10.0.0.1
        "[::127.0.0.1]",  # IPv4-compatible 127.0.0.1
        "[::ffff:169.254.169.254]",  # IPv4-mapped
    ],
)
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_refused(client, production_network, host):
    before = WebhookEndpoint.objects.count()
    assert _problem_naming(_register(client, f"https://{host}/hooks"), "url") is None
    assert WebhookEndpoint.objects.count() == before


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("path", [ENDPOINTS, EVENTS])
@pytest.mark.parametrize(
    "position",
    ["abc", "-1", "1.5", "9" * 30, "2026-13-45 00:00:00+00:00", "0001-01-01 00:00:00+14:00", "１２"],
)
def test_a_crafted_cursor_is_a_404_naming_the_cursor(client, path, position):
    response = client.get(path, {"cursor": _cursor(f"o=0&r=0&p={position}")})
    assert _problem_naming(response, "cursor") is None
    assert response.status_code == 404


@pytest.mark.parametrize("path", [ENDPOINTS, EVENTS])
def test_the_cursors_the_api_gives_out_still_page(client, path, monkeypatch):
    for n in range(3):
        webhooks.endpoint_create(
            partner=client.partner, url=f"https://partner{n}.example.com/", event_types=["loan.overdue"]
        )
        with transaction.atomic():
            webhooks.event_emit(partner=client.partner, type="loan.overdue", payload={"n": n})
    first = client.get(path).json()
    for view in (webhooks_api.WebhookEndpointListCreateApi, webhooks_api.WebhookEventListApi):
        monkeypatch.setattr(view.pagination_class, "page_size", 1)
    seen, url = [], path
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content[:300]
        body = page.json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == len(first["results"]) >= 3


def test_a_host_that_answers_public_then_private_is_sent_to_the_address_checked(
    production_network, monkeypatch
):
    """DNS rebinding: the endpoint's host resolves to a public address when checked and to the
    loopback one a moment later. The POST goes to the address that was checked, never to one
    resolved afterwards."""
    answers = iter(["93.184.216.34"] + ["127.0.0.1"] * 10)
    connected = []

    def getaddrinfo(host, port, *args, **kwargs):
        address = host if host[0].isdigit() else next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    def create_connection(address, *args, **kwargs):
        connected.append(getaddrinfo(address[0], address[1])[0][4][0])
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    reply = transport.post("https://rebind.example.com/hooks", b"{}", {"Content-Type": "application/json"})
    assert reply.status_code is None
    assert connected == ["93.184.216.34"]


receivers = local_receivers  # the local receiver fixture of tests/webhooks


def test_the_pinned_connection_reaches_the_checked_address_and_names_the_host(receivers):
    receiver = receivers([204])
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    request = urllib.request.Request(f"http://hooks.example.test:{port}/hooks", data=b"{}", method="POST")
    with transport._opener_for(("127.0.0.1", port)).open(request, timeout=5) as reply:
        assert reply.status == 204
    assert receiver.requests[0].headers["Host"] == f"hooks.example.test:{port}"
