"""The partner API's schema, completed in one place (a drf-spectacular postprocessing hook):

- every operation lists the errors any request can meet — 401 (no key, an unknown or revoked
  one), 400 where it takes a body or query parameters, 415 where it takes a JSON body, 404 where
  its path names an object, 429 when throttling is configured — as RFC 9457 problem details
  (`application/problem+json`, the Problem schema of common.api);
- examples of requests and replies, kept beside each app's views (`<app>/api/examples.py`,
  listed in settings.API_EXAMPLE_MODULES; `common` imports no app) by operationId:
  `{"v1_loans_create": {"request": {...}, "responses": {201: {...}, 409: {...}}}}`; a status
  there that the view does not declare is added (`"descriptions": {404: "…"}` says why).

An example already given on a view (extend_schema) is kept."""

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string

from common.api import PROBLEM_CONTENT_TYPE, problem_body, problem_example_value

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def error_example(code: str, message: str, fields: dict | None = None, *, status: int = 400) -> dict:
    """An error reply as the API sends it (RFC 9457 problem details, common.api.problem_body); the
    status is set to the one it is shown under. In English, the API's default language, whatever
    language the schema is generated in."""
    with translation.override("en"):
        return problem_body(status_code=status, code=code, detail=message, fields=fields)


def _as_status(example, status: str):
    """An error example shown under `status`, in the problem shape with that status and its title
    (one written in the shape the API had before, `{"error": …}`, is rewritten)."""
    return problem_example_value(example, int(status))


COMMON_ERRORS = {
    "400": (
        "invalid input: `errors` names each bad field by its path",
        error_example(
            "invalid", "amount: at most two decimal places", {"amount": ["at most two decimal places"]}
        ),
    ),
    "401": (
        "no API key, or an unknown, revoked or suspended one",
        error_example("not_authenticated", "an API key is required: Authorization: Api-Key <key>"),
    ),
    "404": (
        "not yours, or unknown (another partner's object is never shown)",
        error_example("not_found", "Not found."),
    ),
    "415": (
        "the body is not JSON (send Content-Type: application/json)",
        error_example("unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    ),
    "429": (
        "too many requests: wait the seconds in Retry-After",
        error_example("throttled", "Request was throttled. Expected available in 3 seconds."),
    ),
}


# The problem code each status is sent with when a view does not say (common.api's handler).
_CODES = {
    "401": "not_authenticated",
    "403": "permission_denied",
    "404": "not_found",
    "405": "method_not_allowed",
    "406": "not_acceptable",
    "409": "conflict",
    "413": "request_too_large",
    "415": "unsupported_media_type",
    "429": "throttled",
}


def _examples() -> dict:
    merged: dict = {}
    for path in getattr(settings, "API_EXAMPLE_MODULES", []):
        merged.update(import_string(f"{path}.EXAMPLES"))
    return merged


def _throttled() -> bool:
    rest = getattr(settings, "REST_FRAMEWORK", {})
    return bool(rest.get("DEFAULT_THROTTLE_CLASSES"))


def _problem_content(response: dict) -> dict:
    """The response's one content, application/problem+json with the Problem schema; examples
    given under another content type are kept."""
    contents = response.setdefault("content", {})
    content = contents.setdefault(PROBLEM_CONTENT_TYPE, {})
    for other in [t for t in contents if t != PROBLEM_CONTENT_TYPE]:
        moved = contents.pop(other)
        if "examples" in moved:
            content["examples"] = {**moved["examples"], **content.get("examples", {})}
    content["schema"] = PROBLEM_REF
    return content


def _ensure_error(operation: dict, status: str) -> None:
    description, example = COMMON_ERRORS[status]
    response = operation["responses"].setdefault(status, {"description": description})
    content = _problem_content(response)
    if "examples" not in content:
        content["examples"] = {
            f"error{status}": {"value": _as_status(example, status), "summary": description.split(":")[0]}
        }


def _set_examples(operation: dict, given: dict) -> None:
    request = given.get("request")
    if request is not None:
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and "examples" not in body:
            body["examples"] = _named(request)
    descriptions = given.get("descriptions") or {}
    for status, value in (given.get("responses") or {}).items():
        response = operation["responses"].get(str(status))
        if response is None:
            # A reply the view's decorator does not list (an unknown merchant named in the body).
            default = COMMON_ERRORS.get(str(status), ("",))[0]
            response = operation["responses"][str(status)] = {
                "description": descriptions.get(status) or default or "see the example"
            }
        if str(status)[0] in "45":
            content = _problem_content(response)
            named = {k: {**v, "value": _as_status(v["value"], str(status))} for k, v in _named(value).items()}
        else:
            content = response.setdefault("content", {}).setdefault("application/json", {})
            named = _named(value)
        # An example given on the view itself (extend_schema) comes first.
        content["examples"] = {**named, **content.get("examples", {})}


def _named(value) -> dict:
    """An example, or {name: example} for several."""
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(v, dict) and "value" in v for v in value.values())
    ):
        return value
    return {"example": {"value": value}}


def postprocess(result, generator, request, public):
    """Add the common errors and the examples to every operation of the partner API."""
    examples = _examples()
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            _ensure_error(operation, "401")
            has_body = "requestBody" in operation
            has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
            if has_body or has_query or "400" in responses:
                _ensure_error(operation, "400")
            if has_body:
                _ensure_error(operation, "415")
            if "{" in path or "404" in responses:
                _ensure_error(operation, "404")
            if _throttled():
                _ensure_error(operation, "429")
            for status in [s for s in responses if s[0] in "45"]:
                # Every error has the one shape, whatever the view declared (often a bare object),
                # and an example of it.
                content = _problem_content(responses[status])
                if "examples" not in content:
                    description = responses[status].get("description") or "error"
                    content["examples"] = {
                        f"error{status}": {
                            "value": error_example(
                                _CODES.get(status, "error"), description, status=int(status)
                            ),
                            "summary": description.split(";")[0][:80],
                        }
                    }
            _set_examples(operation, examples.get(operation.get("operationId"), {}))
            _problem_examples(operation)
    return result


def _problem_examples(operation: dict) -> None:
    """Every error example of the operation, whoever gave it, in the problem shape under its
    status (tests/api/test_schema_examples.py walks the schema for any that is not)."""
    for status, response in operation.get("responses", {}).items():
        if str(status)[0] not in "45":
            continue
        for content in response.get("content", {}).values():
            for example in (content.get("examples") or {}).values():
                if isinstance(example, dict) and "value" in example:
                    example["value"] = _as_status(example["value"], str(status))
            if "example" in content:
                content["example"] = _as_status(content["example"], str(status))
