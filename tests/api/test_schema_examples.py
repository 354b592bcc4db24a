"""Every error example of the partner API's OpenAPI schema is a problem document as the API sends
it (RFC 9457: type, title, status, detail, instance, code, errors, and the deprecated error),
under the status it is shown with — never the shape the API had before (`{"error": {…}}`) — and
an example an operation declares for an error is kept (rewritten in that shape), not replaced by
a generic one. The schema is generated as `manage.py spectacular` writes it, in both languages."""

import http

import pytest
import yaml
from django.core.management import call_command

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "errors", "error"}


def _schema(tmp_path, *options) -> dict:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), *options)
    return yaml.safe_load(out.read_text())


def _error_examples(schema: dict):
    """(where, status, value) of every example of every 4xx/5xx response, and every value in the
    schema shaped like the old error (an object whose only member is `error`)."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if str(status)[0] not in "45":
                    continue
                for content_type, content in response.get("content", {}).items():
                    where = f"{method.upper()} {path} {status} {content_type}"
                    for name, example in (content.get("examples") or {}).items():
                        yield f"{where} {name}", int(status), example.get("value")
                    if "example" in content:
                        yield f"{where} example", int(status), content["example"]


def _old_shapes(node, where="") -> list[str]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("error"), dict) and "type" not in node:
            found.append(where)
        for key, value in node.items():
            found += _old_shapes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _old_shapes(value, f"{where}/{index}")
    return found


def _problem_faults(status: int, value) -> list[str]:
    if not isinstance(value, dict):
        return ["not an object"]
    faults = []
    if set(value) < PROBLEM_KEYS or not set(value) >= PROBLEM_KEYS:
        faults.append(f"members {sorted(value)}")
        return faults
    if value["status"] != status:
        faults.append(f"status {value['status']} shown under {status}")
    if value["title"] != http.HTTPStatus(status).phrase:
        faults.append(f"title {value['title']!r}")
    if value["type"] != f"urn:xiaodai:problem:{value['code']}":
        faults.append(f"type {value['type']!r} for code {value['code']!r}")
    if not isinstance(value["detail"], str) or not value["detail"]:
        faults.append("no detail")
    errors = value["errors"]
    if not isinstance(errors, list) or any(set(e) != {"field", "message"} for e in errors):
        faults.append(f"errors {errors!r}")
    elif any("[" in e["field"] for e in errors):
        faults.append(f"a bracketed field path in {errors!r}")
    legacy = value["error"]
    if not isinstance(legacy, dict) or legacy.get("code") != value["code"]:
        faults.append(f"error {legacy!r}")
    return faults


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_error_example_is_a_problem_document(db, tmp_path, language):
    schema = _schema(tmp_path, "--lang", language)
    examples = list(_error_examples(schema))
    assert len(examples) > 100  # every operation has some
    faults = [
        f"{where}: {fault}" for where, status, value in examples for fault in _problem_faults(status, value)
    ]
    assert not faults, "\n".join(faults[:40])
    old = _old_shapes(schema)
    assert not old, "\n".join(old[:40])


def test_an_error_example_an_operation_declares_is_kept_in_the_problem_shape(db, tmp_path):
    schema = _schema(tmp_path)
    create = schema["paths"]["/api/v1/webhooks/endpoints/"]["post"]["responses"]["400"]
    examples = create["content"]["application/problem+json"]["examples"]
    by_field = {
        error["field"]: example["value"]["detail"]
        for example in examples.values()
        for error in example["value"]["errors"]
    }
    assert "url" in by_field and "event_types" in by_field, examples
    assert by_field["url"].startswith("url: the host resolves to a private")
    events = schema["paths"]["/api/v1/webhooks/events/"]["get"]["responses"]["400"]
    values = [e["value"] for e in events["content"]["application/problem+json"]["examples"].values()]
    assert any(
        value["errors"] == [{"field": "type", "message": "one of offer.created, …"}] for value in values
    )
    assert all(not _problem_faults(400, value) for value in values)
