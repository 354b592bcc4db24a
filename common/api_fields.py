"""Serializer fields shared by every app's API: money as yuan strings, instants and dates within
bounds, text and integers that are what the schema says (DRF alone turns 5 into "5" and "5" into
5), so every endpoint accepts and refuses the same things; and the base of every request body's
serializer, which refuses a name it does not have (DRF alone drops it: a misspelt `amount` would
be read as no amount)."""

import datetime as dt
import difflib
import re

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from common.business_date import business_date_today, business_day_end
from common.money import YUAN_TEXT_HELP, MoneyError, fen_to_yuan, parse_yuan

# Partner clocks drift a little; an instant this far ahead of ours is still accepted.
CLOCK_SKEW = dt.timedelta(minutes=5)
# The widest offset from UTC a timestamp may carry (PostgreSQL's own limit is 15:59).
MAX_UTC_OFFSET = dt.timedelta(hours=15, minutes=59)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Ids of our rows (lines, offers): a BIGINT.
MAX_ROW_ID = 2**63 - 1


def earliest_date() -> dt.date:
    """The earliest date any date or instant sent to the API may carry (API_EARLIEST_DATE)."""
    return dt.date.fromisoformat(settings.API_EARLIEST_DATE)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    # The API's parser keeps NaN, Infinity and numbers of thousands of digits as NonStandardNumber.
    return "a number" if type(value).__name__ == "NonStandardNumber" else type(value).__name__


class YuanField(serializers.Field):
    """An amount in yuan, sent and returned as a string with two decimals ("1234.50"); held as
    integer fen inside. Sent amounts are ASCII digits with at most two decimals, greater than
    zero (or zero when `allow_zero`), at most `max_fen` (API_MAX_AMOUNT_FEN unless given)."""

    default_error_messages = {
        "invalid": "{reason}",
        "not_positive": "must be greater than zero",
        "too_large": "at most {limit} yuan",
    }

    def __init__(self, *, allow_zero: bool = False, max_fen: int | None = None, **kwargs):
        self.allow_zero = allow_zero
        self._max_fen = max_fen
        super().__init__(**kwargs)

    @property
    def max_fen(self) -> int:
        return self._max_fen if self._max_fen is not None else settings.API_MAX_AMOUNT_FEN

    def to_internal_value(self, data) -> int:
        try:
            fen = parse_yuan(data)
        except MoneyError as exc:
            self.fail("invalid", reason=str(exc))
        if fen == 0 and not self.allow_zero:
            self.fail("not_positive")
        if fen > self.max_fen:
            self.fail("too_large", limit=fen_to_yuan(self.max_fen))
        return fen

    def to_representation(self, value: int) -> str:
        return str(fen_to_yuan(value))


def yuan_pattern(*, max_fen: int, allow_zero: bool) -> str:
    """A regular expression for the amounts a YuanField takes: as many integer digits as the
    maximum has; above zero unless zero is allowed."""
    digits = len(str(max_fen // 100))
    whole = rf"[1-9][0-9]{{0,{digits - 1}}}(\.[0-9]{{1,2}})?" if digits > 1 else r"[1-9](\.[0-9]{1,2})?"
    below_one = r"0(\.[0-9]{1,2})?" if allow_zero else r"0\.([1-9][0-9]?|0[1-9])"
    return rf"^({whole}|{below_one})$"


class YuanFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "common.api_fields.YuanField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        if direction == "response":
            return {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "example": "1234.50"}
        limit = fen_to_yuan(field.max_fen)
        return {
            "type": "string",
            "pattern": yuan_pattern(max_fen=field.max_fen, allow_zero=field.allow_zero),
            "maxLength": len(str(field.max_fen // 100)) + 3,
            "example": "1234.50",
            "description": f"yuan: {YUAN_TEXT_HELP}; {'0' if field.allow_zero else '0.01'} to {limit}",
        }


class _StrictTextSchema(OpenApiSerializerFieldExtension):
    """Text fields say in the schema what they refuse: a NUL character (no database stores one),
    and, unless blank is allowed, text that is only spaces (DRF trims it to nothing)."""

    target_class = "common.api_fields.StrictCharField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and "pattern" not in schema:
            blank_ok = self.target.allow_blank
            schema["pattern"] = "^[^\\x00]*$" if blank_ok else "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
        return schema


# Control characters no partner's text needs (tab, line feed and carriage return excepted; NUL
# and lone surrogates DRF refuses already): terminal escapes, C1 controls and the bidirectional
# overrides and isolates that make shown text read other than it is stored.
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class StrictCharField(serializers.CharField):
    """Text that was sent as text: a number, list or object is refused (DRF's CharField would
    turn 5 into "5"), and so is text with control characters in it."""

    default_error_messages = {
        "not_text": "must be a string, not {kind}",
        "control": "must not contain control characters (U+{code:04X} at position {position})",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", kind=_kind(data))
        control = _CONTROL.search(data)
        if control:
            self.fail("control", code=ord(control.group()), position=control.start())
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    default_error_messages = {"not_text": "must be a string, not {kind}"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", kind=_kind(data))
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer sent as a JSON integer: not "5", not 5.0, not true; within [min_value,
    max_value] (an id is at most a BIGINT)."""

    default_error_messages = {"not_integer": "must be an integer, not {kind}"}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_ROW_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_integer", kind=_kind(data) if not isinstance(data, str) else "a string")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false as JSON has them: not "true", not 1 (DRF's BooleanField reads both)."""

    default_error_messages = {"not_boolean": "must be true or false, not {kind}"}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_boolean", kind=_kind(data) if not isinstance(data, str) else "a string")
        return data


# At most this many unknown names of one object are named (a hostile body may send thousands), each
# cut to this many characters.
UNKNOWN_NAMES_NAMED = 20
UNKNOWN_NAME_SHOWN = 64


def _unknown_problem(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    fields = ", ".join(known) if known else "none"
    hint = f"did you mean {close[0]}? " if close else ""
    return f"not a field of this request: {hint}the fields here are: {fields}"


def unknown_names(data, fields, declared=None) -> dict[str, list[str]]:
    """The names of the JSON object `data` that are not among `fields` (a serializer's), each
    with its problem naming the ones meant (among `declared` too: a serializer may build only
    the fields a body sends); {} when `data` is not an object (the serializer refuses it)."""
    if not isinstance(data, dict):
        return {}
    unknown = [name for name in data if name not in fields or fields[name].read_only]
    if not unknown:
        return {}
    everything = {**(declared or {}), **fields}
    known = sorted(name for name, field in everything.items() if not field.read_only)
    named = {}
    for name in unknown[:UNKNOWN_NAMES_NAMED]:
        shown = name if len(name) <= UNKNOWN_NAME_SHOWN else name[:UNKNOWN_NAME_SHOWN] + "…"
        named[shown] = [_unknown_problem(name, known)]
    if len(unknown) > UNKNOWN_NAMES_NAMED:
        rest = len(unknown) - UNKNOWN_NAMES_NAMED
        named[BODY_NAMES] = [f"and {rest} more names this object does not have"]
    return named


# Where the names past UNKNOWN_NAMES_NAMED are counted: the object as a whole.
BODY_NAMES = "non_field_errors"


class StrictSerializer(serializers.Serializer):
    """The base of every request body (and of every object inside one): a name the serializer
    does not have is refused with a 400 naming it by its path (`amount_yuan`, `owner.colour`,
    `orders.2.colour`), together with the other fields at fault, and nothing is written; DRF's
    own Serializer ignores such a name. The schema says `additionalProperties: false`."""

    def to_internal_value(self, data):
        unknown = unknown_names(data, self.fields, self._declared_fields)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class NoBodySerializer(StrictSerializer):
    """The body of an operation that takes none (a withdrawal, a portal link, a secret's rotation):
    nothing, or `{}`; a name sent is refused, naming it, as on every other write."""


def no_body_check(request) -> None:
    """Refuse (400, naming each) the names a request sends to an operation that takes no body."""
    NoBodySerializer(data=request.data).is_valid(raise_exception=True)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """A request body's object takes only its own names: `additionalProperties: false`."""

    target_class = "common.api_fields.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


def latest_acceptable_instant() -> dt.datetime:
    """Data may not come from the future: neither past our clock nor past the business date."""
    return max(timezone.now(), business_day_end(business_date_today())) + CLOCK_SKEW


class PastDateTimeField(serializers.DateTimeField):
    """An instant that has happened, not before API_EARLIEST_DATE, with an offset of at most
    15:59 from UTC. The bound is computed once per request (a batch of thousands of orders must
    not read the business date thousands of times)."""

    default_error_messages = {
        "future": "lies in the future",
        "too_early": "must not be before {earliest}",
        "offset": "the offset from UTC must be at most 15:59",
        "not_text": "must be an ISO 8601 string, not {kind}",
    }

    @staticmethod
    def _parse_iso_aware(value) -> dt.datetime | None:
        """Fast path for the common case, an ISO 8601 string with an offset; anything else goes
        through DRF's parsing and its error messages. Batches carry tens of thousands."""
        if len(value) < 20 or not value.isascii():
            return None
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None

    def _bounds(self) -> tuple[dt.datetime, dt.datetime]:
        root = self.root
        bounds = getattr(root, "_instant_bounds", None)
        if bounds is None:
            earliest = dt.datetime.combine(earliest_date(), dt.time(), tzinfo=dt.UTC)
            bounds = root._instant_bounds = (earliest, latest_acceptable_instant())
        return bounds

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("not_text", kind=_kind(value))
        if not value.isascii():
            # Django's parser would read full-width digits (its patterns use \d).
            self.fail("invalid", format="ISO 8601 in ASCII digits")
        parsed = self._parse_iso_aware(value)
        if parsed is None:
            # DRF parses in the current time zone; a year-1 instant overflows there: too early.
            try:
                parsed = super().to_internal_value(value)
            except (OverflowError, ValueError):
                self.fail("too_early", earliest=earliest_date())
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            self.fail("offset")
        earliest, latest = self._bounds()
        # Compared as wall-clock dates first: converting year 1 to UTC would overflow.
        if parsed.replace(tzinfo=None) < earliest.replace(tzinfo=None) + dt.timedelta(days=1):
            try:
                too_early = parsed < earliest
            except OverflowError:
                too_early = True
            if too_early:
                self.fail("too_early", earliest=earliest_date())
        if parsed > latest:
            self.fail("future")
        return parsed


class StrictDateField(serializers.DateField):
    """A date sent as YYYY-MM-DD in ASCII digits, not before API_EARLIEST_DATE (how far ahead
    it may lie is the caller's rule)."""

    default_error_messages = {
        "too_early": "must not be before {earliest}",
        "not_text": "must be an ISO 8601 date string, not {kind}",
    }

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("not_text", kind=_kind(value))
        if not _ISO_DATE.fullmatch(value):
            # Django's parser would read "2026-1-1" and full-width digits.
            self.fail("invalid", format="YYYY-MM-DD")
        parsed = super().to_internal_value(value)
        if parsed < earliest_date():
            self.fail("too_early", earliest=earliest_date())
        return parsed


class PastDateField(StrictDateField):
    """A date that has come, not before API_EARLIEST_DATE."""

    default_error_messages = {"future": "lies in the future"}

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if parsed > max(timezone.localdate(), business_date_today()):
            self.fail("future")
        return parsed


class _BoundedDateTimeSchema(OpenApiSerializerFieldExtension):
    target_class = "common.api_fields.PastDateTimeField"

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.DATETIME)
        if direction == "request":
            schema["description"] = (
                f"ISO 8601 with an offset of at most ±15:59; from {settings.API_EARLIEST_DATE}, "
                "not in the future"
            )
        return schema


class _BoundedDateSchema(OpenApiSerializerFieldExtension):
    target_class = "common.api_fields.PastDateField"

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.DATE)
        if direction == "request":
            schema["description"] = f"from {settings.API_EARLIEST_DATE}, not in the future"
        return schema


__all__ = [
    "NoBodySerializer",
    "PastDateField",
    "PastDateTimeField",
    "StrictCharField",
    "StrictDateField",
    "StrictIntegerField",
    "StrictRegexField",
    "StrictSerializer",
    "YuanField",
    "no_body_check",
]
