"""Hostile query strings and path ids found by the generated probe (test_hostile_probe.py):

- a cursor that decodes to no token at all (`AAAA`: zero bytes) or to names the API never writes
  was read by DRF as the first page; it is a cursor this API did not give out, a 404 naming it;
- a query parameter sent twice (`?status=bogus&status=declined`) was read by its last value
  while the first went unchecked: a gateway in front reading the first would see another
  request. It is a 400 naming it, as a JSON name sent twice is;
- a webhook endpoint not found named `pk`, a name the schema does not have (it says `id`)."""

import base64

import pytest

from tests.api.test_bad_input import _problem_naming


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


LISTS = [
    "/api/v1/merchants/",
    "/api/v1/applications/",
    "/api/v1/webhooks/endpoints/",
    "/api/v1/webhooks/events/",
]


@pytest.mark.parametrize("cursor", ["AAAA", "A" * 400, _cursor("x=1"), _cursor("o=0&page=2")])
@pytest.mark.parametrize("path", LISTS)
def test_a_cursor_of_no_token_the_api_writes_is_a_404_naming_it(client_a, path, cursor):
    response = client_a.get(path, {"cursor": cursor})
    assert response.status_code == 404, response.content[:300]
    assert _problem_naming(response, "cursor") is None


@pytest.mark.parametrize("path", LISTS)
def test_no_cursor_or_an_empty_one_is_still_the_first_page(client_a, path):
    assert client_a.get(path).status_code == 200
    assert client_a.get(path + "?cursor=").status_code == 200


@pytest.mark.parametrize(
    "query,field",
    [
        ("status=bogus&status=declined", "status"),
        ("merchant=SHOP-B&merchant=SHOP-A", "merchant"),
    ],
)
def test_a_query_parameter_sent_twice_is_a_400_naming_it(client_a, query, field):
    response = client_a.get(f"/api/v1/applications/?{query}")
    assert response.status_code == 400, response.content[:300]
    assert _problem_naming(response, field) is None


def test_an_events_type_sent_twice_is_a_400_naming_it(client_a):
    response = client_a.get("/api/v1/webhooks/events/?type=loan.disbursed&type=loan.overdue")
    assert _problem_naming(response, "type") is None


@pytest.mark.parametrize("suffix", ["", "rotate-secret/"])
def test_a_webhook_endpoint_not_found_names_the_schemas_id(client_a, suffix):
    path = f"/api/v1/webhooks/endpoints/987654/{suffix}"
    response = client_a.post(path, HTTP_IDEMPOTENCY_KEY="k-1") if suffix else client_a.get(path)
    assert response.status_code == 404
    assert _problem_naming(response, "id") is None
