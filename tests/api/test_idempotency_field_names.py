"""A body's field names are the caller's text: an Idempotency-Key claim records them (to name
what differs on a reuse), so names no database keeps (NUL, lone surrogates) must not break it."""

import pytest


@pytest.mark.parametrize("name", ["\u0000", "a\u0000b", "\ud8bb", "\udc00x"])
@pytest.mark.parametrize("path", ["/api/v1/applications/", "/api/v1/settlements/", "/api/v1/loans/"])
def test_a_field_name_no_database_keeps_is_refused_cleanly(partner_client, path, name):
    escaped = name.encode("unicode_escape").decode().replace("\\x00", "\\u0000")
    body = '{"' + escaped + '": 1, "amount": "1.00"}'
    response = partner_client.post(
        path, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"].startswith("application/problem+json")
