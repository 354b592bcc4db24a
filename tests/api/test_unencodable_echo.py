"""A refusal that quotes what was sent (`"…" is not a valid choice`) when what was sent is a lone
surrogate (`"\\ud800"`, valid JSON, no character UTF-8 can carry): the reply is still the 400
naming the field, the character read as U+FFFD, never a 500 from encoding the reply."""

import pytest

from merchants.models import Complaint
from merchants.webhooks.models import WebhookEndpoint

PROBLEM = "application/problem+json"
# As JSON text: the escape itself (put where a body says "@"), which the parser reads as the
# lone surrogate.
LONE = "\\ud800"


def post_raw(client, path: str, raw: str):
    client.raise_request_exception = False
    return client.post(path, raw.encode(), content_type="application/json", HTTP_IDEMPOTENCY_KEY="lone")


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (
            "/api/v1/complaints/",
            '{"complaints": [{"id": "C-1", "merchant_id": "SHOP-A", "category": "@", '
            '"filed_at": "2026-02-20T10:00:00+08:00"}]}',
            "complaints.0.category",
        ),
        (
            "/api/v1/logistics-events/",
            '{"events": [{"id": "E-1", "order_id": "ORD-A0", "kind": "@", "carrier": "SF", '
            '"tracking_number": "SF1", "at": "2026-02-20T10:00:00+08:00"}]}',
            "events.0.kind",
        ),
        (
            "/api/v1/webhooks/endpoints/",
            '{"url": "http://127.0.0.1:9/hook", "event_types": ["@"]}',
            "event_types.0",
        ),
        ("/api/v1/orders/batch/", '{"orders": [{"id": "O-1", "status": "@"}]}', "orders.0.status"),
        ("/api/v1/orders/ORD-A0/status/", '{"status": "@", "at": "2026-02-20T10:00:00+08:00"}', "status"),
        (
            "/api/v1/merchant-status/",
            '{"changes": [{"id": "S-1", "merchant_id": "SHOP-A", "status": "@"}]}',
            "changes.0.status",
        ),
    ],
    ids=["complaints", "logistics", "webhooks", "orders", "order-status", "merchant-status"],
)
def test_a_lone_surrogate_quoted_in_a_refusal_is_a_400_naming_the_field(client_a, path, raw, field):
    response = post_raw(client_a, path, raw.replace("@", LONE))
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert field in messages, messages
    assert messages[field] == '"\ufffd" is not a valid choice.'
    assert not Complaint.objects.exists()
    assert not WebhookEndpoint.objects.exists()
