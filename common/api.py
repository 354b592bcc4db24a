"""One error shape for everything under /api/: RFC 9457 problem details
(`application/problem+json`), naming each bad field; never a 500 for bad input.

    {"type": "urn:xiaodai:problem:invalid", "title": "Bad Request", "status": 400,
     "detail": "amount: must be ASCII digits …", "instance": "/api/v1/orders/",
     "code": "invalid", "errors": [{"field": "amount", "message": "must be …"}],
     "error": {"code": "invalid", "message": "…", "fields": {"amount": ["…"]}}}

`errors` names each field by its path in the request, one form everywhere: names and list
positions joined by dots ("orders.3.amount", "owner.national_id"; never "orders[3].amount"),
or the header ("Idempotency-Key", "Authorization"), path parameter ("external_id") or query
parameter ("cursor") at fault; "body" is the request body as a whole. `error` is the shape the
API had before (kept for clients that read it; deprecated).

Django's own errors under /api/ (unknown URL, oversize body, a server error) get the same shape
from `common.middleware.ApiProblemMiddleware`.

`title`, `detail` and each message are in the request's language (its Accept-Language: en or
zh-hans, English by default; common/api_language.py); `type`, `code` and the fields' paths are
the same in every language.
"""

import base64
import datetime as dt
import json
import re
from contextlib import contextmanager
from urllib import parse

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils import translation
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.api_language import spoken, spoken_all, title_of
from common.errors import ApplicationError, NotFoundError, field_path_canonical

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:xiaodai:problem:"
BODY = "body"
_SURROGATE = re.compile("[\ud800-\udfff]")


# --- the body ---------------------------------------------------------------------------------


def _flatten(detail):
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _first_message(fields) -> str:
    if isinstance(fields, dict):
        for key, value in fields.items():
            inner = _first_message(value)
            return f"{key}: {inner}" if key != "non_field_errors" else inner
    if isinstance(fields, list):
        for item in fields:
            if item:
                return _first_message(item)
    return str(fields)


def _first_problem(fields) -> str:
    """The first field at fault and its problem, the field named by its path as in `errors`."""
    named = field_errors(fields)
    if not named:
        return _first_message(fields)
    first = named[0]
    return first["message"] if first["field"] == BODY else f"{first['field']}: {first['message']}"


def field_errors(fields, prefix: str = "") -> list[dict]:
    """Nested DRF-style errors as a flat list of {field, message}: the field is its dotted path
    ("orders.3.amount"); an error of a whole object names the object ("owner", or "body")."""
    out: list[dict] = []
    if isinstance(fields, dict):
        for key, value in fields.items():
            if key in ("non_field_errors", "__all__"):
                out += field_errors(value, prefix)
            else:
                name = field_path_canonical(str(key))
                out += field_errors(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(fields, list):
        if all(not isinstance(item, dict | list) for item in fields):
            out += [{"field": prefix or BODY, "message": str(item)} for item in fields if item != ""]
        else:
            for index, item in enumerate(fields):
                if item:
                    out += field_errors(item, f"{prefix}.{index}" if prefix else str(index))
    elif fields not in (None, ""):
        out.append({"field": prefix or BODY, "message": str(fields)})
    return out


def _encodable(value):
    """`value` with every string one UTF-8 can carry: a refusal may quote what was sent (`"…" is
    not a valid choice`), and a lone surrogate sent as `\\ud800` would make the reply itself
    fail to encode (a 500 in place of the 400). Such a character reads as U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return value


def problem_body(
    *, status_code: int, code: str, detail: str, instance: str = "", fields: dict | None = None
) -> dict:
    # Words in the request's language (common/api_language.py); the names and codes as they are.
    fields = spoken_all(fields)
    body = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title_of(status_code),
        "status": status_code,
        "detail": spoken(detail),
        "instance": instance,
        "code": code,
        "errors": field_errors(fields) if fields else [],
    }
    legacy = {"code": code, "message": body["detail"]}
    if fields is not None:
        legacy["fields"] = fields
    body["error"] = legacy
    return _encodable(body)


def problem_response(
    request, *, status_code: int, code: str, detail: str, fields: dict | None = None
) -> HttpResponse:
    """A problem document as a plain Django response (for middleware and Django's handlers)."""
    body = problem_body(
        status_code=status_code,
        code=code,
        detail=detail,
        instance=_instance(request),
        fields=fields,
    )
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )


def _instance(request) -> str:
    path = getattr(request, "path", "") or ""
    return path if "\x00" not in path else path.replace("\x00", "%00")


# --- DRF's exception handler ------------------------------------------------------------------

# DRF's exceptions that concern one part of the request, named in `errors`.
_FIELD_OF = {
    exceptions.NotAuthenticated: "Authorization",
    exceptions.AuthenticationFailed: "Authorization",
    exceptions.ParseError: BODY,
    exceptions.UnsupportedMediaType: "Content-Type",
    exceptions.NotAcceptable: "Accept",
}


@contextmanager
def naming(field: str):
    """A lookup by an id the request carries in `field`: "not found" names that field."""
    try:
        yield
    except NotFoundError as exc:
        if exc.extra.get("fields"):
            raise
        raise NotFoundError(exc.message, {**exc.extra, "fields": {field: [exc.message]}}) from exc


SCHEMA_PATH_NAMES = {"pk": "id"}


def _path_fields(context, message: str) -> dict | None:
    """A 404 that names nothing names the path's parameters: the ids that were not found."""
    match = getattr(context.get("request"), "resolver_match", None)
    kwargs = getattr(match, "kwargs", None) or {}
    # The schema (drf-spectacular) calls a `pk` path parameter `id`: the problem names it so.
    return {SCHEMA_PATH_NAMES.get(name, name): [message] for name in kwargs} or None


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, ApplicationError):
        fields = exc.extra.get("fields")
        if not fields and exc.status_code == 404:
            fields = _path_fields(context, exc.message)
        body = problem_body(
            status_code=exc.status_code,
            code=exc.code,
            detail=exc.message,
            instance=_instance(request),
            fields=fields,
        )
        extra = {key: value for key, value in exc.extra.items() if key != "fields"}
        body.update({key: value for key, value in extra.items() if key not in body})
        body["error"].update(extra)
        return _problem(body)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _problem(
            problem_body(
                status_code=413,
                code="payload_too_large",
                detail=f"the request body is larger than {limit} bytes",
                instance=_instance(request),
                fields={BODY: [f"at most {limit} bytes"]},
            )
        )
    if isinstance(exc, TooManyFieldsSent | SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or "malformed request")
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        body = problem_body(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="invalid",
            detail=_first_problem(fields),
            instance=_instance(request),
            fields=fields,
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        message = _first_message(_flatten(detail))
        code = getattr(exc, "default_code", "error")
        field = getattr(exc, "problem_field", None) or next(
            (name for kind, name in _FIELD_OF.items() if isinstance(exc, kind)), None
        )
        fields = {field: [message]} if field else None
        if fields is None and response.status_code == 404:
            fields = _path_fields(context, message)
        body = problem_body(
            status_code=response.status_code,
            code=code,
            detail=message,
            instance=_instance(request),
            fields=fields,
        )
    problem = _problem(body)
    for header in ("WWW-Authenticate", "Allow", "Retry-After"):
        if header in response:
            problem[header] = response[header]
    return problem


def _problem(body: dict) -> Response:
    return Response(_encodable(body), status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


# --- query parameters -------------------------------------------------------------------------


def query_names(view_class, method: str) -> frozenset[str]:
    """The query parameters an operation takes: on a GET (or HEAD), the filters its view names in
    `query_filters` and, on a paginated list, the cursor; on any other method, none. What the
    schema documents for the operation (tests/api/test_unknown_names.py holds the two equal)."""
    if method.upper() not in ("GET", "HEAD"):
        return frozenset()
    names = set(getattr(view_class, "query_filters", ()))
    pagination = getattr(view_class, "pagination_class", None)
    if pagination is not None and hasattr(view_class, "list"):
        names.add(pagination.cursor_query_param)
    return frozenset(names)


def unknown_query_names(request, view_class) -> dict[str, list[str]]:
    """Each query parameter of `request` its operation does not take, or takes once and was sent
    more than once (`?status=bogus&status=declined`: a gateway reading the first value and the
    API the last would see two requests), with its problem."""
    known = query_names(view_class, request.method)
    unknown = [name for name in request.GET if name not in known]
    repeated = [name for name in request.GET if name in known and len(request.GET.getlist(name)) > 1]
    if not unknown and not repeated:
        return {}
    takes = ", ".join(sorted(known)) if known else "none"
    problem = f"not a query parameter of this request: the parameters here are: {takes}"
    problems = {name[:64] + ("…" if len(name) > 64 else ""): [problem] for name in unknown[:20]}
    problems.update({name: ["sent more than once: send each query parameter once"] for name in repeated})
    return problems


# --- pagination -------------------------------------------------------------------------------


class IdCursorPagination(CursorPagination):
    """Cursor pagination over an integer key whose cursor is checked before it reaches the
    database: a crafted cursor is a 404 naming `cursor` (no such page), never a query on
    nonsense."""

    ordering = "id"
    invalid_cursor_message = "not a cursor this API gave out"

    def _no_such_page(self) -> NotFoundError:
        message = self.invalid_cursor_message
        name = self.cursor_query_param
        return NotFoundError(f"{name}: {message}", {"fields": {name: [message]}})

    def decode_cursor(self, request):
        if not self._tokens_given_out(request):
            raise self._no_such_page()
        try:
            cursor = super().decode_cursor(request)
        except (exceptions.NotFound, ValueError, TypeError, OverflowError) as exc:
            raise self._no_such_page() from exc
        if cursor is None:
            return None
        if not self._offset_given_out(request):
            raise self._no_such_page()
        position = cursor.position
        if position is not None and not (isinstance(position, str) and self.position_valid(position)):
            raise self._no_such_page()
        return cursor

    def _tokens_given_out(self, request) -> bool:
        """Whether a cursor sent decodes to the tokens this API writes (o, r, p; at least one):
        DRF reads a cursor of none (`AAAA`, zero bytes) or of other names as the first page."""
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return True  # no cursor (or an empty one): the first page, as DRF reads it
        try:
            text = base64.b64decode(encoded.encode("ascii")).decode("ascii")
        except (ValueError, UnicodeError):
            return False
        tokens = parse.parse_qs(text, keep_blank_values=True)
        return bool(tokens) and set(tokens) <= {"o", "r", "p"}

    def _offset_given_out(self, request) -> bool:
        """Whether the cursor's offset is one this API writes: DRF reads any offset and silently
        cuts one beyond `offset_cutoff` down to it, so a crafted offset of 10**22 was a page."""
        encoded = request.query_params.get(self.cursor_query_param, "")
        tokens = parse.parse_qs(base64.b64decode(encoded.encode("ascii")).decode("ascii"))
        offset = tokens.get("o", ["0"])[0]
        return (
            offset.isascii() and offset.isdigit() and len(offset) <= 6 and int(offset) <= self.offset_cutoff
        )

    def position_valid(self, position: str) -> bool:
        """Whether a cursor's position is a value of the ordering's first column (an id)."""
        return position.isascii() and position.isdigit() and len(position) <= 19


class InstantCursorPagination(IdCursorPagination):
    """The same over a time first, then an id (newest first by default): a position is an
    aware date and time the database can compare, as the API wrote it."""

    ordering = ("-created_at", "-id")

    def position_valid(self, position: str) -> bool:
        if not position.isascii() or len(position) > 40:
            return False
        try:
            at = dt.datetime.fromisoformat(position)
            at.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            return False
        return at.tzinfo is not None and dt.datetime.min.year < at.year < dt.datetime.max.year


# --- the schema -------------------------------------------------------------------------------


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text='the field\'s path in the body ("orders.3.amount"), or a header, path or query '
        'parameter ("Idempotency-Key", "cursor"); "body" for the body as a whole'
    )
    message = serializers.CharField()


class LegacyErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="field name to its problems, nested")


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="urn:xiaodai:problem:<code>")
    title = serializers.CharField(help_text="the HTTP status's phrase")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="what went wrong, in words")
    instance = serializers.CharField(help_text="the path of the request", allow_blank=True)
    code = serializers.CharField(help_text="invalid, not_found, conflict, not_authenticated, …")
    errors = FieldErrorSerializer(many=True, help_text="each field at fault, by name")
    error = LegacyErrorSerializer(help_text="deprecated: the API's earlier error shape")


_DEFAULT_PROBLEMS = {
    400: "invalid input; `errors` names each bad field",
    401: "missing, unknown or revoked API key (`Authorization`)",
    404: "not yours or unknown",
    406: "the reply can only be JSON (`Accept`)",
}
_BODY_PROBLEMS = {
    413: "the body is larger than the upload limit",
    415: "the body must be JSON (`Content-Type: application/json`)",
}


def problem(description: str, examples=None) -> OpenApiResponse:
    """An error response in an operation's schema: a problem document, with its description and
    the examples the operation gave (each in the problem shape, see `problem_example`)."""
    shaped = [_problem_example(example, status) for status, example in (examples or [])]
    return OpenApiResponse(ProblemSerializer, description=description, examples=shaped or None)


def problem_example_value(value, status_code: int):
    """An error example's value in the problem shape the API sends, under `status_code`: one in
    the shape the API had before (`{"error": {"code", "message", "fields"}}`) is rewritten from
    its code, message and fields; a problem document gets the status (and its title)."""
    if not isinstance(value, dict):
        return value
    with translation.override("en"):
        if "type" in value and "status" in value:
            return {**value, "status": status_code, "title": title_of(status_code)}
        legacy = value.get("error")
        if not isinstance(legacy, dict):
            return value
        body = problem_body(
            status_code=status_code,
            code=legacy.get("code", "error"),
            detail=legacy.get("message", ""),
            fields=legacy.get("fields"),
        )
    extra = {key: item for key, item in legacy.items() if key not in ("code", "message", "fields")}
    body.update({key: item for key, item in extra.items() if key not in body})
    body["error"].update(extra)
    return body


def _problem_example(example, status_code: int):
    value = problem_example_value(example.value, status_code)
    if value is example.value:
        return example
    return OpenApiExample(
        example.name,
        value=value,
        summary=example.summary,
        description=example.description,
        response_only=True,
        status_codes=[str(status_code)],
    )


class ProblemAutoSchema(AutoSchema):
    """Every operation's error responses are documented as `application/problem+json`: those an
    operation declares (with its own descriptions) and those every operation can give."""

    def _get_response_bodies(self, direction="response"):
        # extend_schema(responses=…) replaces get_response_serializers in a subclass, so the
        # problems are added here, around whatever it declared.
        responses = self._with_problems(self.get_response_serializers())
        self.get_response_serializers = lambda: responses
        try:
            return super()._get_response_bodies(direction)
        finally:
            del self.get_response_serializers

    def _with_problems(self, declared):
        if not isinstance(declared, dict):
            code = 201 if self._is_create_operation() else 200
            declared = {code: declared}
        responses, errors, examples = {}, {}, {}
        for code, response in declared.items():
            number = int(code[0] if isinstance(code, tuple) else code)
            if number < 400:
                responses[code] = response
                continue
            description = response.description if isinstance(response, OpenApiResponse) else ""
            errors[number] = description
            if isinstance(response, OpenApiResponse) and response.examples:
                examples[number] = [(number, example) for example in response.examples]
        defaults = dict(_DEFAULT_PROBLEMS)
        if self.method in ("POST", "PUT", "PATCH"):
            defaults.update(_BODY_PROBLEMS)
        for number, description in defaults.items():
            errors.setdefault(number, description)
        for number, description in sorted(errors.items()):
            responses[(number, PROBLEM_CONTENT_TYPE)] = problem(
                description or _DEFAULT_PROBLEMS.get(number, ""), examples.get(number)
            )
        return responses
