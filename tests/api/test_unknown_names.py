"""A name the partner API does not have is refused, never ignored: in a body (at the top, in a
nested object, in a list's item), in the body of an operation that takes none, and in the query.
A typo (`amount_yuan` for `amount`, `pledge_orders` for `orders`, `stauts` for `status`) is a
400 naming it by its path, and nothing is written. The schema says so: every request body's
objects are `additionalProperties: false`, and every operation's query parameters are those the
API takes."""

import json

import pytest
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from common.api import query_names
from lending.models import Application
from tests.api.test_bad_input import BY_NAME, ENDPOINTS, _counts, _post, _problem_naming, _run, _set

# Where each body has a nested object or a list of them, the unknown name sent inside it.
NESTED = {
    "merchant": "owner.colour",
    "order batch": "orders.1.colour",
    "application": "declared.colour",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=repr)
def test_an_unknown_name_in_a_body_is_refused_naming_it(world, endpoint):
    body = endpoint.body(world)
    cases = [("is_admin", {**body, "is_admin": True})]
    if endpoint.name in NESTED:
        cases.append((NESTED[endpoint.name], _set(body, NESTED[endpoint.name], "red")))
    _run(world, endpoint, cases)


@pytest.mark.parametrize("name", ["application quote", "application"])
def test_a_typo_is_named_with_the_name_meant(world, name):
    """`amount_yuan` for `amount` and `pledge_orders` for `orders`: refused, naming each, and
    the problem says which name was meant; nothing is applied for."""
    body = BY_NAME["application quote"].body(world)
    del body["amount"]
    before = _counts()
    response = _post(
        Client(),
        world,
        BY_NAME[name],
        data={**body, "amount_yuan": "2000.00", "pledge_orders": ["ORD-A0"]},
    )
    assert response.status_code == 400, response.content
    assert _counts() == before
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(errors) == {"amount", "amount_yuan", "pledge_orders"}, errors
    assert "did you mean amount?" in errors["amount_yuan"]
    assert "did you mean orders?" in errors["pledge_orders"]


def test_an_unknown_name_in_a_batch_of_plain_orders_is_refused(world):
    """The batch reader's fast path (merchants/api/batch.py) takes no name the serializer does
    not have, however it is spaced."""
    endpoint = BY_NAME["order batch"]
    body = json.dumps(endpoint.body(world), ensure_ascii=False)
    spaced = body.replace('"buyer_id": "buyer-42"', '"buyer_id": "buyer-42", "colour" : "red"')
    assert spaced != body
    before = _counts()
    problem = _problem_naming(_post(Client(), world, endpoint, data=spaced), "orders.1.colour")
    assert problem is None, problem
    assert _counts() == before


def test_hundreds_of_unknown_names_are_named_within_bounds(world):
    endpoint = BY_NAME["repayment"]
    body = {"amount": "100.00", **{f"x{i}": i for i in range(500)}}
    response = _post(Client(), world, endpoint, data=body)
    assert response.status_code == 400
    named = [error["field"] for error in response.json()["errors"]]
    assert 1 < len(named) <= 21 and "x0" in named and "body" in named, named


def test_an_operation_without_a_body_refuses_one_with_names(world, client_a):
    """A withdrawal takes no body: a name sent with it is refused and nothing is withdrawn."""
    application = Application.objects.create(
        reference="APP-WITHDRAW-1",
        submitted_at=timezone.now(),
        merchant=world.shop_a,
        product=world.line.product,
        amount_fen=100_000,
        submitted_on=world.line.opened_on,
        status=Application.Status.SUBMITTED,
    )
    path = f"/api/v1/applications/{application.reference}/withdraw/"
    refused = client_a.post(path, {"reason": "changed our mind"}, format="json")
    assert refused.status_code == 400, refused.content
    assert [error["field"] for error in refused.json()["errors"]] == ["reason"]
    application.refresh_from_db()
    assert application.status == Application.Status.SUBMITTED
    assert client_a.post(path, {}, format="json").status_code == 200


def test_an_unknown_query_parameter_is_refused_naming_it(world, client_a):
    misspelt = client_a.get("/api/v1/applications/", {"stauts": "declined"})
    assert misspelt.status_code == 400, misspelt.content
    assert [error["field"] for error in misspelt.json()["errors"]] == ["stauts"]
    assert client_a.get("/api/v1/applications/", {"status": "declined"}).status_code == 200
    # On an operation that takes none, and on a write (an amount sent in the query).
    assert client_a.get(f"/api/v1/loans/{world.loan.reference}/", {"expand": "1"}).status_code == 400
    before = _counts()
    response = client_a.post("/api/v1/loans/quote/?amount=5.00", {"line_id": world.line.pk}, format="json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} >= {"amount"}
    assert _counts() == before


def _generated():
    generator = SchemaGenerator()
    return generator, generator.get_schema(request=None, public=True)


def test_every_operations_query_parameters_are_those_the_api_takes():
    generator, schema = _generated()
    checked = 0
    for path, _regex, method, view in generator.endpoints:
        if not path.startswith("/api/v1/"):
            continue  # the schema and its pages
        operation = schema["paths"][path.replace("{pk}", "{id}")][method.lower()]
        documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert query_names(view.cls, method) == documented, (method, path)
        checked += 1
    assert checked > 30


def test_every_request_body_takes_only_its_own_names_in_the_schema():
    _generator, schema = _generated()
    components = schema["components"]["schemas"]
    loose = []

    def walk(spec, where):
        if "$ref" in spec:
            name = spec["$ref"].rsplit("/", 1)[-1]
            return walk(components[name], name)
        for part in spec.get("allOf", []):
            walk(part, where)
        if spec.get("type") == "array":
            walk(spec.get("items", {}), where)
        if spec.get("properties"):
            if spec.get("additionalProperties") is not False:
                loose.append(where)
            for name, inner in spec["properties"].items():
                walk(inner, f"{where}.{name}")
        return None

    bodies = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                bodies += 1
                walk(content["schema"], f"{method.upper()} {path}")
    assert bodies > 20
    assert not loose, loose
