"""The API's JSON parser: DRF's, refusing JSON nested deeper than API_MAX_JSON_DEPTH with a 400
(Python's own parser would run out of stack and answer 500). A module of its own: DRF imports it
while it builds APIView, so it imports nothing that imports APIView."""

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


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing JSON nested deeper than API_MAX_JSON_DEPTH with a 400 (Python's
    own parser would run out of stack and answer 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_DEPTH
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON nested deeper than {limit} levels") from exc
        if isinstance(data, dict | list) and json_depth_exceeds(data, limit):
            raise exceptions.ParseError(f"JSON nested deeper than {limit} levels")
        return data
