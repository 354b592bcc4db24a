"""The API's JSON parser: DRF's, refusing JSON nested deeper than API_MAX_JSON_DEPTH with a 400
(Python's own parser would run out of stack and answer 500). A module of its own: DRF imports it
while it builds APIView, so it imports nothing that imports APIView."""

import json

from django.conf import settings
from rest_framework import exceptions, parsers


def json_depth_exceeds(data, limit: int) -> bool:
    """Whether parsed JSON nests containers deeper than `limit` (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class NonStandardNumber:
    """A number JSON does not have (NaN, Infinity) or Python will not read (thousands of digits):
    kept as a value every field refuses, so the refusal names the field it was sent in."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"<number {self.text[:20]}>"


# Python refuses to read integers longer than this (sys.get_int_max_str_digits()).
_MAX_INT_DIGITS = 4300


def _parse_int(text: str):
    return int(text) if len(text) < _MAX_INT_DIGITS else NonStandardNumber(text)


class _DuplicateName(ValueError):
    """A name sent twice in one JSON object."""


def _object_once(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose names are each sent once: a repeated name (one reader keeping the
    first value, another the last) is refused, never silently resolved."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateName
    return obj


class _Repeated(dict):
    """An object that repeated a name (`repeated`), kept only to find where it is."""

    repeated = ""


def _object_marked(pairs: list[tuple[str, object]]) -> dict:
    names = [name for name, _value in pairs]
    obj = _Repeated(pairs)
    if len(obj) != len(pairs):
        obj.repeated = next(name for i, name in enumerate(names) if name in names[:i])
    return obj


def _repeated_name_path(data) -> str:
    """The dotted path (orders.3.amount) of the first name sent twice in parsed `data`."""
    stack = [(data, "")]
    while stack:
        value, prefix = stack.pop()
        if isinstance(value, _Repeated) and value.repeated:
            return prefix + value.repeated
        children = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend(
            (child, f"{prefix}{name}.")
            for name, child in reversed(list(children))
            if isinstance(child, dict | list)
        )
    return BODY


BODY = "body"


def _loads(text: str, object_hook):
    return json.loads(
        text, parse_constant=NonStandardNumber, parse_int=_parse_int, object_pairs_hook=object_hook
    )


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested deeper than API_MAX_JSON_DEPTH with a 400 (Python's
    own parser would run out of stack and answer 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_DEPTH
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            try:
                data = _loads(text, _object_once)
            except _DuplicateName as exc:
                # Read again (only now, the cost is the refusal's) to name where the name is.
                path = _repeated_name_path(_loads(text, _object_marked))
                raise exceptions.ValidationError(
                    {path: ["sent twice in one JSON object: send each name once"]}
                ) from exc
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON nested deeper than {limit} levels") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if isinstance(data, dict | list) and json_depth_exceeds(data, limit):
            raise exceptions.ParseError(f"JSON nested deeper than {limit} levels")
        return data
