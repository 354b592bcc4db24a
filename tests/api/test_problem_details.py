"""Everything under /api/ answers errors as RFC 9457 problem details (application/problem+json):
type, title, status, detail, instance, and `errors` naming each field — DRF's refusals and
Django's own (unknown URL, wrong method, server error, CSRF, oversize body) alike. The earlier
`error` member stays for clients that read it."""

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from config.urls import urlpatterns  # noqa: F401  (the schema's URLs are loaded)
from tests.api.conftest import KEY_A, client_for
from tests.merchants.factories import national_id

PROBLEM = "application/problem+json"
MEMBERS = {"type", "title", "status", "detail", "instance", "code", "errors"}


def assert_problem(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert set(body) >= MEMBERS, body
    assert body["status"] == status and body["detail"] and body["title"]
    assert body["type"] == f"urn:xiaodai:problem:{body['code']}"
    named = [error["field"] for error in body["errors"]]
    for field in fields:
        assert field in named, (field, named)
    return body


def test_a_validation_error_names_each_field_by_its_path(client_a):
    body = {
        "id": "SHOP-X",
        "shop_name": "",
        "category": "服装",
        "region": "浙江",
        "opened_on": "2021-03-01",
        "owner": {"name": "王芳", "national_id": "123", "phone": "138", "address": "杭州"},
    }
    problem = assert_problem(
        client_a.post("/api/v1/merchants/", body, format="json"),
        400,
        "shop_name",
        "owner.national_id",
        "owner.phone",
    )
    assert problem["instance"] == "/api/v1/merchants/"
    # The earlier shape, for the clients that read it.
    assert problem["error"]["fields"]["owner"]["national_id"] == [
        "must be an 18-character national ID number"
    ]


def test_a_batch_names_the_order_by_its_index(client_a):
    order = {"id": "O-1", "merchant_id": "SHOP-A", "buyer_id": "b", "amount": "1.00", "placed_at": "x"}
    response = client_a.post(
        "/api/v1/orders/batch/", {"orders": [order, {**order, "amount": 1}]}, format="json"
    )
    problem = assert_problem(response, 400, "orders.0.placed_at", "orders.1.amount", "orders.1.placed_at")
    assert {e["message"] for e in problem["errors"] if e["field"] == "orders.1.amount"} == {
        'must be a string of ASCII digits with at most two decimals, such as "1234.50", not a number'
    }


def test_without_a_key_the_problem_names_the_authorization_header(world):
    response = APIClient().get("/api/v1/merchants/")
    assert_problem(response, 401, "Authorization")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_another_partners_merchant_is_a_404_naming_the_path_parameter(world):
    assert_problem(client_for(KEY_A).get("/api/v1/merchants/SHOP-B/"), 404, "external_id")


def test_an_unknown_merchant_in_a_body_is_a_404_naming_that_field(client_a):
    body = {"id": "S1", "merchant_id": "SHOP-B", "amount": "1.00", "settled_on": "2026-02-27"}
    response = client_a.post("/api/v1/settlements/", body, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert_problem(response, 404, "merchant_id")


def test_a_missing_idempotency_key_names_the_header(client_a):
    body = {"id": "S1", "merchant_id": "SHOP-A", "amount": "1.00", "settled_on": "2026-02-27"}
    assert_problem(client_a.post("/api/v1/settlements/", body, format="json"), 400, "Idempotency-Key")


def test_a_body_that_is_not_json_is_a_415_naming_the_content_type(client_a):
    response = client_a.post("/api/v1/merchants/", "id=1", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "Content-Type")


def test_a_reply_other_than_json_is_a_406_naming_accept(client_a):
    assert_problem(client_a.get("/api/v1/merchants/", HTTP_ACCEPT="text/html"), 406, "Accept")


def test_an_unknown_api_url_is_a_json_404(world):
    for path in ("/api/v1/nothing/", "/api/", "/api/v2/merchants/"):
        response = Client().get(path, HTTP_AUTHORIZATION=f"Api-Key {KEY_A}")
        assert_problem(response, 404)


def test_a_method_the_endpoint_does_not_have_is_a_json_405(client_a):
    response = client_a.delete("/api/v1/merchants/SHOP-A/")
    assert_problem(response, 405)
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("debug", [False, True])
@override_settings(ROOT_URLCONF="tests.api.urls_failing")
def test_a_server_error_under_the_api_is_a_json_500_that_shows_nothing_inside(db, settings, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/test-explode/")
    problem = assert_problem(response, 500)
    text = response.content.decode()
    assert "boom" not in text and "DATABASE_URL" not in text and "Traceback" not in text
    assert problem["code"] == "server_error"


@override_settings(ROOT_URLCONF="tests.api.urls_failing")
def test_a_csrf_refusal_under_the_api_is_json(db):
    response = Client(enforce_csrf_checks=True).post("/api/v1/test-csrf/", {"a": "1"})
    assert_problem(response, 403)


def test_a_portal_404_stays_a_page(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_deeply_nested_json_is_a_400_naming_the_body(client_a):
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 30 + "1" + "}" * 30):
        response = client_a.post("/api/v1/merchants/", text, content_type="application/json")
        problem = assert_problem(response, 400, "body")
        assert "nested deeper than" in problem["detail"]


def test_a_merchant_without_a_bank_card_is_recorded(client_a):
    # The card is documented as optional: left out, sent empty, or sent as null.
    for n, card in enumerate([None, "", "missing"]):
        owner = {
            "name": "王芳",
            "national_id": national_id(700 + n),
            "phone": "13800001111",
            "address": "杭州",
        }
        if card != "missing":
            owner["bank_card"] = card
        body = {
            "id": f"NOCARD-{n}",
            "shop_name": "小店",
            "category": "服装",
            "region": "浙江",
            "opened_on": "2021-03-01",
            "owner": owner,
        }
        response = client_a.post("/api/v1/merchants/", body, format="json")
        assert response.status_code == 201, response.content[:300]
        again = client_a.post("/api/v1/merchants/", body, format="json")
        assert again.status_code == 200
        assert client_a.get(f"/api/v1/merchants/NOCARD-{n}/").status_code == 200


def test_the_schema_documents_every_error_as_a_problem(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 20
    for path, method, operation in operations:
        codes = {int(code) for code in operation["responses"]}
        assert {400, 401, 404, 406} <= codes, (method, path, codes)
        if method == "post":
            assert {413, 415} <= codes, (method, path, codes)
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert list(response["content"]) == [PROBLEM], (method, path, code)
                assert response["content"][PROBLEM]["schema"]["$ref"] == "#/components/schemas/Problem"
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
