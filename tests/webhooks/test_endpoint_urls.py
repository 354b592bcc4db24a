"""An endpoint's URL must name a host a POST can reach and a port from 1 to 65535, whatever the
network settings: a host with a space, an empty or overlong label, an IPv6 zone, or port 0 is a
400 naming `url`, at registration and on a change."""

import pytest

from merchants.webhooks.models import WebhookEndpoint
from tests.security.conftest import partner_client_for

ENDPOINTS = "/api/v1/webhooks/endpoints/"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com:0/hook",
        "https://exa mple.com/hook",
        "https://.example.com/hook",
        "https://example..com/hook",
        "https://" + "a" * 64 + ".com/hook",
        "https://" + ".".join(["abcdefgh"] * 30) + "/hook",
        "https://-example.com/hook",
        "https://exam_ple.com/hook",
        "https://[fe80::1%25eth0]/hook",
        "https://exa\u3000mple.com/hook",
    ],
)
def test_a_url_whose_host_or_port_cannot_be_reached_is_refused_naming_url(db, url):
    client = partner_client_for()
    refused = client.post(ENDPOINTS, {"url": url, "event_types": ["loan.disbursed"]}, format="json")
    assert refused.status_code == 400, (url, refused.content)
    assert [error["field"] for error in refused.json()["errors"]] == ["url"]
    assert not WebhookEndpoint.objects.exists()
    made = client.post(
        ENDPOINTS, {"url": "https://example.com/hook", "event_types": ["loan.disbursed"]}, format="json"
    )
    changed = client.patch(f"{ENDPOINTS}{made.json()['id']}/", {"url": url}, format="json")
    assert changed.status_code == 400, (url, changed.content)
    assert WebhookEndpoint.objects.get().url == "https://example.com/hook"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "https://example.com./hook",
        "https://例子.测试/hook",
        "https://xn--fsqu00a.xn--0zwm56d/hook",
        "https://127.0.0.1:8443/hook",
        "https://[::1]:65535/hook",
        "HTTPS://EXAMPLE.COM/hook",
    ],
)
def test_a_reachable_url_is_registered(db, url):
    client = partner_client_for()
    made = client.post(ENDPOINTS, {"url": url, "event_types": ["loan.disbursed"]}, format="json")
    assert made.status_code == 201, (url, made.content)
