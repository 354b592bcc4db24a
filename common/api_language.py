"""The partner API's language: each request's comes from its `Accept-Language` header alone (the
API is stateless: no session, no cookie), English when the header is absent or names no language
the API speaks; the reply says which in `Content-Language`.

The rules that refuse a request write their messages in English, some through gettext (then
they are already in the request's language), most as plain text with the values they quote
(an id, an amount, a field's name). `spoken()` turns such a message into the request's language
at the API's edge: a message that is a msgid of a catalogue reads as its translation; one that
fits a template below (`%(name)s` standing for a value) reads as the template's translation with
the same values; "path: message" (how `detail` names a field) keeps the path and turns the
message. What a program reads — `type`, `code`, each field's path — is never turned."""

import http
import re
from functools import lru_cache

from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as N_

API_LANGUAGES = ("en", "zh-hans")
DEFAULT_API_LANGUAGE = "en"


def api_language(request) -> str:
    """The language the API answers `request` in: the first of the caller's `Accept-Language`
    (by its q) that the API speaks, else English. Never the portal's session or cookie."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    if not header or len(header) > 500:
        return DEFAULT_API_LANGUAGE
    try:
        ranked = translation.trans_real.parse_accept_lang_header(header)
    except ValueError:
        return DEFAULT_API_LANGUAGE
    for code, _quality in ranked:
        if code == "*":
            continue
        try:
            chosen = translation.get_supported_language_variant(code)
        except LookupError:
            continue
        if chosen in API_LANGUAGES:
            return chosen
    return DEFAULT_API_LANGUAGE


# The HTTP statuses' phrases, as `title` reads (http.HTTPStatus's own, in English).
TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    406: N_("Not Acceptable"),
    409: N_("Conflict"),
    413: N_("Request Entity Too Large"),
    415: N_("Unsupported Media Type"),
    422: N_("Unprocessable Entity"),
    428: N_("Precondition Required"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
    502: N_("Bad Gateway"),
    503: N_("Service Unavailable"),
}


def title_of(status_code: int) -> str:
    """`title`: the status's phrase, in the active language."""
    if status_code in TITLES:
        return TITLES[status_code] if speaks_english() else gettext(TITLES[status_code])
    try:
        return http.HTTPStatus(status_code).phrase
    except ValueError:
        return gettext("Error")


# Messages with values in them, as the rules write them. A value whose name starts with "w_" is
# words (a kind of value, a reason) and is turned too; any other is quoted as it was (an id, an
# amount, a field's name a partner may search for in its code). More specific ones first.
TEMPLATES = (
    # fields (common/api_fields.py, common/money.py)
    N_("must be a string of %(w_what)s, not %(w_kind)s"),
    N_("must be a string, not %(w_kind)s"),
    N_("must be an integer, not %(w_kind)s"),
    N_("must be true or false, not %(w_kind)s"),
    N_("must be an ISO 8601 string, not %(w_kind)s"),
    N_("must be an ISO 8601 date string, not %(w_kind)s"),
    N_("must be %(w_what)s"),
    N_("must not be before %(date)s"),
    N_("at most %(limit)s yuan"),
    N_("must not contain control characters (U+%(code)s at position %(position)s)"),
    N_("not a field of this request: did you mean %(name)s? the fields here are: %(fields)s"),
    N_("not a field of this request: the fields here are: %(fields)s"),
    N_("and %(count)s more names this object does not have"),
    N_("not a query parameter of this request: the parameters here are: %(names)s"),
    N_("sent more than once: send each query parameter once"),
    N_("%(name)s is not a question of this questionnaire"),
    N_("%(code)s is not a question code"),
    N_("at most %(limit)s orders per batch; this one has %(count)s"),
    N_("at most %(limit)s per batch; this one has %(count)s"),
    N_("required when status is %(status)s"),
    N_("required when result is %(result)s"),
    N_("an order that is %(status)s cannot have been %(other)s"),
    N_("one of %(values)s"),
    N_("an answer from %(low)s to %(high)s"),
    # keys (merchants/api/auth.py)
    N_("this API key lacks the '%(scope)s' scope"),
    N_("%(method)s here declares no scope; refused"),
    N_("%(header)s must read t=<unix seconds>,v1=<64 hex digits>"),
    N_("the signature's timestamp is more than %(seconds)s s from the server's clock"),
    N_("this API key must sign every request (%(header)s)"),
    # requests as a whole (common/api.py, common/middleware.py)
    N_("the request body is larger than %(limit)s bytes"),
    N_("at most %(limit)s bytes"),
    N_("no such URL: %(path)s"),
    N_("JSON parse error - %(reason)s"),
    # idempotency (common/idempotency.py, lending)
    N_("an %(header)s header (1 to %(length)s visible ASCII characters) is required"),
    N_("1 to %(length)s visible ASCII characters"),
    N_(
        "%(header)s %(key)s was already used for a different request (%(fields)s differs); "
        "use a new key for a new request"
    ),
    N_("already used with a different %(fields)s"),
    N_("a request with %(header)s %(key)s is still in progress; retry in a moment for its result"),
    N_("idempotency key %(key)s was used for a different request"),
    # not found (the selectors and the API's views)
    N_("no merchant %(id)s"),
    N_("no order %(id)s of merchant %(merchant)s"),
    N_("no order %(id)s"),
    N_("no credit line %(id)s"),
    N_("no loan %(id)s"),
    N_("no application %(id)s"),
    N_("no product %(code)s"),
    N_("no offer %(id)s"),
    N_("no wallet %(id)s"),
    N_("no settlement %(id)s"),
    N_("listed twice (also at %(position)s)"),
    # refusals of the services (lending, payments)
    N_("shipped orders cover at most %(amount)s yuan"),
    N_("the ticked orders cover at most %(amount)s yuan"),
    N_("not pledgeable: %(orders)s"),
    N_("the funding pool %(pool)s has %(capacity)s fen of capacity left; %(amount)s asked"),
    N_("the line is %(w_status)s"),
    N_("unknown merchant %(id)s"),
    N_("unknown product %(code)s"),
    N_("already recorded as %(amount)s"),
    N_("%(old)s -> %(new)s is not allowed"),
    # the least specific last
    N_("at most %(limit)s"),
)


# Messages without values, as the rules write them (and the words a template's "w_" value may be).
EXACT = (
    N_("a number"),
    N_("a string"),
    N_("a boolean"),
    N_("a list"),
    N_("an object"),
    N_("null"),
    N_('ASCII digits with at most two decimals, such as "1234.50"'),
    N_("may not be negative"),
    N_("is implausibly large"),
    N_("must be greater than zero"),
    N_("lies in the future"),
    N_("the offset from UTC must be at most 15:59"),
    N_("required"),
    N_("not found"),
    N_("an API key is required: Authorization: Api-Key <key>"),
    N_("unknown API key"),
    N_("malformed API key"),
    N_("this API key has been revoked"),
    N_("this API key has expired (it was rotated)"),
    N_("this partner platform is suspended"),
    N_("the request signature does not match the body"),
    N_("this signed request was already received (replay)"),
    N_("must be an 18-character national ID number"),
    N_("must be digits, 6 to 15"),
    N_("must be 12 to 19 digits"),
    N_('must be a decimal string such as "0.08" (ASCII digits, at most eight decimals)'),
    N_("a pending check has no date yet"),
    N_("must not contain a NUL character (%00)"),
    N_("a request body needs its Content-Type (application/json)"),
    N_("the server failed to answer this request; it has been logged"),
    N_("not a cursor this API gave out"),
    N_("malformed request"),
    N_('send a JSON object: {"amount": "…"} for part, {} for everything owed'),
    N_("the wallet has nothing available to repay with"),
    N_("the wallet has nothing available"),
    N_("must be a positive amount"),
    N_("must be positive"),
    N_("exceeds the funding pool's capacity"),
    N_("outside the product's range"),
    N_("the agreement changed since it was shown; review and accept it again"),
    N_("does not match the current agreement"),
    N_("idempotency key already used for a different drawdown"),
    N_("already used"),
    N_("already used with different content"),
    N_("no funding pool is configured"),
    N_("none configured"),
    N_("active"),
    N_("frozen"),
    N_("closed"),
    N_("suspended"),
    N_("refused"),
    N_("a decimal fraction, not a float"),
    N_("a settlement must be positive"),
    N_("a whole number of fen"),
    N_("already appealed"),
    N_("already recorded with different content"),
    N_("an application is in progress"),
    N_("an open line exists"),
    N_("between 0 and 1"),
    N_("earlier than placed_at"),
    N_("insufficient funds"),
    N_("must not be in the past"),
    N_("must not be negative"),
    N_("no such application"),
    N_("not a number"),
    N_("not a question of this questionnaire"),
    N_("not a valid national ID number"),
    N_("only a declined application can be appealed"),
    N_("required, at most 100 characters"),
    N_("this field is required"),
    N_("this header is required"),
    N_("unknown order"),
    N_("a revoked or expired key cannot be rotated"),
    N_("this key was already rotated; rotate its replacement"),
    N_("Idempotency-Key already used for a different application"),
    N_("idempotency key already used for a different application"),
    N_("1 to 64 characters"),
    N_("an order loan pledges shipped orders"),
    N_("changed concurrently"),
    N_("repaid"),
    N_("written_off"),
)


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", template)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)" for index, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


_COMPILED = tuple((_pattern(template), template) for template in TEMPLATES)
# "orders.3.amount: …", "Idempotency-Key: …": how `detail` names the field at fault.
_NAMED = re.compile(r"([A-Za-z_][\w.\-]{0,120}): (.+)", re.DOTALL)


def speaks_english() -> bool:
    language = translation.get_language() or DEFAULT_API_LANGUAGE
    return not language.startswith("zh")


def spoken(message: str) -> str:
    """`message` in the active language (as it is when that is English or nothing fits)."""
    if not isinstance(message, str) or not message or speaks_english():
        return message
    return _spoken(message, translation.get_language())


@lru_cache(maxsize=4096)
def _spoken(message: str, language: str) -> str:
    if len(message) > 2000:
        return message
    turned = gettext(message)
    if turned != message:
        return turned
    for pattern, template in _COMPILED:
        match = pattern.fullmatch(message)
        if match is None:
            continue
        translated = gettext(template)
        if translated == template:
            break
        values = {
            name: (_spoken(value, language) if name.startswith("w_") else value)
            for name, value in match.groupdict().items()
        }
        return translated % values
    named = _NAMED.fullmatch(message)
    if named is not None:
        rest = _spoken(named.group(2), language)
        if rest != named.group(2):
            return f"{named.group(1)}: {rest}"
    return message


def spoken_all(value):
    """Every message in `value` (nested dicts and lists of messages) in the active language; the
    keys (the fields' names) as they are."""
    if speaks_english():
        return value
    if isinstance(value, dict):
        return {key: spoken_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [spoken_all(item) for item in value]
    return spoken(value) if isinstance(value, str) else value
