from django.conf import settings
from django.http import Http404
from django.urls import resolve
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.defaults import bad_request

from common.api import BODY, PROBLEM_CONTENT_TYPE, problem_response, unknown_query_names
from common.api_language import api_language

API_PREFIX = "/api/"
PARTNER_API_PREFIX = "/api/v1/"
NUL = "\x00"
_JSON_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)
_PROBLEM_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


class LanguageScopeMiddleware:
    """A request's language lasts as long as the request. LocaleMiddleware and
    ApiLanguageMiddleware activate the caller's language on the thread and Django never takes it
    back, so whatever ran on that thread next outside a request (a task run in the worker's
    thread, a command, a webhook's payload) would speak the last caller's language instead of
    settings.LANGUAGE_CODE. Outermost, so nothing written for the request runs after the language
    is taken back; the thread gets back the language it had before the request, even when the
    view raised."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        before = translation.get_language()
        try:
            return self.get_response(request)
        finally:
            if before is None:
                translation.deactivate_all()
            else:
                translation.activate(before)


class ApiLanguageMiddleware:
    """Under /api/, the language is the caller's `Accept-Language` alone (en or zh-hans; English
    when absent or unknown): LocaleMiddleware, just before, may have chosen the portal's session
    or cookie language, or the portal's default (Chinese) for a language the API does not speak;
    the API is stateless and takes neither. The portal follows the browser (zh-Hans first).
    LanguageScopeMiddleware takes the language back after the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            _api_language_activate(request)
        return self.get_response(request)


def _api_language_activate(request) -> str:
    language = api_language(request)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def _api_language_said(response, language: str):
    """The reply says its language, and that it depends on the request's Accept-Language."""
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language",))
    return response


def _nul_in(request) -> str | None:
    """The part of the request that carries a NUL character (no database takes one in text), or
    None: the path, a header (named as sent: Idempotency-Key), the query. A form's fields are
    checked too, except on the API (its JSON goes through serializers); the CSRF check reads a
    form's fields before any view anyway."""
    if NUL in request.path:
        try:
            match = resolve(request.path_info)
        except Http404:
            return "path"
        return next((name for name, value in match.kwargs.items() if NUL in str(value)), "path")
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return "-".join(part.capitalize() for part in key[5:].split("_"))
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "%00") or "query"
    is_form = request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    if is_form and request.method == "POST" and not request.path.startswith(API_PREFIX):
        for name, values in request.POST.lists():
            if NUL in name or any(NUL in value for value in values):
                return name.replace(NUL, "%00") or BODY
    return None


def _body_without_type(request) -> bool:
    """Whether the request sends a body (Content-Length above 0) and names no Content-Type."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > 0 and not (request.META.get("CONTENT_TYPE") or "").strip()


class ApiProblemMiddleware:
    """The outermost guard. A NUL character anywhere in the path, a header, the query or a form is
    refused with a 400 before any view or database sees it; under /api/ a body sent with no
    Content-Type is refused with a 415 naming it, and a query parameter the operation does not
    take with a 400 naming it. Under /api/, any error Django answers itself
    (unknown URL, refused host, a server error, a CSRF refusal) becomes a problem document, never
    an HTML page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path.startswith(API_PREFIX)
        if not is_api:
            return self._answer(request, is_api=False)
        # The caller's language from the start, so the refusals made here speak it too
        # (ApiLanguageMiddleware sets it again after LocaleMiddleware).
        language = _api_language_activate(request)
        return _api_language_said(self._answer(request, is_api=True), language)

    def _answer(self, request, *, is_api: bool):
        where = _nul_in(request)
        if where is not None:
            message = "must not contain a NUL character (%00)"
            if is_api:
                return problem_response(
                    request,
                    status_code=400,
                    code="invalid",
                    detail=f"{where}: {message}",
                    fields={where: [message]},
                )
            return bad_request(request, ValueError(message))
        if is_api and _body_without_type(request):
            # DRF reads such a body as nothing at all ({}): a repayment would take everything owed.
            message = "a request body needs its Content-Type (application/json)"
            return problem_response(
                request,
                status_code=415,
                code="unsupported_media_type",
                detail=message,
                fields={"Content-Type": [message]},
            )
        response = self.get_response(request)
        if is_api and response.status_code >= 400 and not _is_json(response):
            translation.activate(request.LANGUAGE_CODE)  # (as the view left it, or a 500's)
            return self._as_problem(request, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Under /api/v1/, a query parameter the operation does not take (a misspelt filter, which
        would otherwise list everything) is refused with a 400 naming it, before the view runs."""
        view_class = getattr(view_func, "cls", None)
        if view_class is None or not request.path.startswith(PARTNER_API_PREFIX) or not request.GET:
            return None  # (the schema and its pages take their own: ?format=json, ?lang=zh-hans)
        if not hasattr(view_class, request.method.lower()):
            return None  # a method the endpoint does not have: its 405
        unknown = unknown_query_names(request, view_class)
        if not unknown:
            return None
        name, problems = next(iter(unknown.items()))
        return problem_response(
            request, status_code=400, code="invalid", detail=f"{name}: {problems[0]}", fields=unknown
        )

    @staticmethod
    def _as_problem(request, response):
        status_code = response.status_code
        if status_code >= 500:
            detail, code = "the server failed to answer this request; it has been logged", "server_error"
        elif status_code == 404:
            detail, code = f"no such URL: {request.path}", "not_found"
        elif status_code == 413:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            detail, code = f"the request body is larger than {limit} bytes", "payload_too_large"
        else:
            detail = response.reason_phrase or "refused"
            code = _PROBLEM_CODES.get(status_code, "error")
        problem = problem_response(request, status_code=status_code, code=code, detail=detail)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                problem[header] = response[header]
        return problem


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.split(";")[0].strip() in _JSON_TYPES
