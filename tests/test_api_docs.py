"""The partner API's documentation is complete: every operation lists the errors it can answer
(401 always; 400, 404, 415 where they apply) in the API's one error shape, and has an example of
its request and of every reply, each valid against the schema it illustrates. /api/redoc/, like
/api/docs/ (tests/test_portal_browser.py), loads nothing from the internet."""

import copy

import jsonschema
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import json

    return json.loads(response.content)


def operations(schema):
    for path, ops in schema["paths"].items():
        if path.startswith("/api/v1/"):
            for method, op in ops.items():
                if method in METHODS:
                    yield path, method, op


def as_json_schema(node, components, depth=0):
    """OpenAPI 3.0's schema dialect as JSON Schema: $refs resolved, `nullable` as a null type."""
    if depth > 30:
        return {}
    if isinstance(node, list):
        return [as_json_schema(item, components, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].split("/")[-1]], components, depth + 1)
    out = {key: as_json_schema(value, components, depth + 1) for key, value in node.items()}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "allOf" in out or "oneOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    out.pop("readOnly", None)
    out.pop("writeOnly", None)
    return out


def examples_of(content: dict) -> dict:
    found = dict(content.get("examples") or {})
    if "example" in content:
        found["example"] = {"value": content["example"]}
    return found


def test_every_operation_lists_its_errors(schema):
    missing = []
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        expected = {"401"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in op:
            expected |= {"400", "415"}
        if any(p["in"] == "query" for p in op.get("parameters", [])):
            expected.add("400")
        if not expected <= codes:
            missing.append((method, path, sorted(expected - codes)))
        if not any(code.startswith("2") for code in codes):
            missing.append((method, path, "no success reply"))
    assert missing == []


def test_every_request_and_reply_has_an_example_valid_against_its_schema(schema):
    components = schema["components"]["schemas"]
    problems = []
    for path, method, op in operations(schema):
        where = f"{method.upper()} {path}"
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            found = examples_of(body)
            if not found:
                problems.append(f"{where}: no request example")
            for name, example in found.items():
                problems += validate(body["schema"], example["value"], components, f"{where} request {name}")
        for code, reply in op["responses"].items():
            media = "application/problem+json" if code[0] in "45" else "application/json"
            content = (reply.get("content") or {}).get(media)
            if code == "204":
                continue
            if content is None:
                problems.append(f"{where} {code}: no JSON body described")
                continue
            found = examples_of(content)
            if not found:
                problems.append(f"{where} {code}: no example")
            for name, example in found.items():
                label = f"{where} {code} {name}"
                problems += validate(content["schema"], example["value"], components, label)
    assert problems == []


def validate(node, value, components, where) -> list[str]:
    schema = as_json_schema(copy.deepcopy(node), components)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    return [f"{where}: {'/'.join(map(str, e.path))}: {e.message[:120]}" for e in errors]


def test_error_replies_have_the_apis_one_shape(schema):
    for _path, _method, op in operations(schema):
        for code, reply in op["responses"].items():
            if code[0] in "45":
                assert list(reply["content"]) == ["application/problem+json"], (code, op["operationId"])
                ref = reply["content"]["application/problem+json"]["schema"]
                assert ref.get("$ref") == "#/components/schemas/Problem", (code, op["operationId"])


def test_redoc_loads_nothing_from_the_internet():
    html = Client().get("/api/redoc/").content.decode()
    assert "fonts.googleapis.com" not in html and "https://" not in html
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html


def test_swagger_ui_shows_no_online_validator_badge():
    # The page's start-up script is served apart (the Content-Security-Policy allows no inline one).
    script = Client().get("/api/docs/", {"script": ""}).content.decode()
    assert '"validatorUrl": null' in script
