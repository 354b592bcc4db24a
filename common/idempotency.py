"""The partner API's `Idempotency-Key` header: one parser and one OpenAPI description for every
view that takes it, so every endpoint accepts and refuses the same keys.

A key is 1 to 80 visible ASCII characters. 80 leaves room for the namespaces the services put in
front of it (a partner's code, the kind of request) in the 128-character key columns, and fits
the 100-character column that keeps a settlement's key as sent."""

import re

from drf_spectacular.utils import OpenApiParameter

from common.errors import ApplicationError

HEADER = "Idempotency-Key"
MAX_LENGTH = 80
_VALID = re.compile(rf"[\x21-\x7e]{{1,{MAX_LENGTH}}}")


def idempotency_key_parameter(description: str) -> OpenApiParameter:
    """The header in the API schema, required, with what resending it does for this operation."""
    return OpenApiParameter(
        HEADER,
        {"type": "string", "pattern": rf"^[\x21-\x7e]{{1,{MAX_LENGTH}}}$", "maxLength": MAX_LENGTH},
        OpenApiParameter.HEADER,
        required=True,
        description=f"1 to {MAX_LENGTH} visible ASCII characters; {description}",
    )


def idempotency_key_from(request) -> str:
    """The request's key, or a 400 that names the header."""
    key = request.headers.get(HEADER, "").strip()
    if not _VALID.fullmatch(key):
        problem = "required" if not key else f"1 to {MAX_LENGTH} visible ASCII characters"
        raise ApplicationError(
            f"an {HEADER} header (1 to {MAX_LENGTH} visible ASCII characters) is required",
            {"fields": {HEADER: [problem]}},
        )
    return key
