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


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested deeper than API_MAX_JSON_DEPTH with a 400 (Python's
    own parser would run out of stack and answer 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_DEPTH
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(
                stream.read().decode(encoding), parse_constant=NonStandardNumber, parse_int=_parse_int
            )
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON nested deeper than {limit} levels") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        if isinstance(data, dict | list) and json_depth_exceeds(data, limit):
            raise exceptions.ParseError(f"JSON nested deeper than {limit} levels")
        return data
