"""The errors a business rule raises, and how a field of a request is named in them."""

import re

# A path named with brackets (orders[3].amount), as some callers write it: read as orders.3.amount.
_BRACKETED = re.compile(r"\[(\d+)\]")


def field_path(*parts: str | int) -> str:
    """A field's path in a request, the one form every API error names it by: names and list
    positions joined by dots ("orders", 3, "amount" -> "orders.3.amount")."""
    return ".".join(str(part) for part in parts if part != "")


def field_path_canonical(path: str) -> str:
    """`path` in that form: "orders[3].amount" and "orders.3.amount" both read "orders.3.amount"."""
    return _BRACKETED.sub(r".\1", path).lstrip(".") if "[" in path else path


class ApplicationError(Exception):
    """A business rule refused the request; the API turns it into a 4xx naming what was wrong.

    `extra` carries structured detail, e.g. {"fields": {"amount": ["must be positive"]}}.
    """

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ConflictError(ApplicationError):
    """The request contradicts what is already recorded (same id, different content)."""

    status_code = 409
    code = "conflict"


class NotFoundError(ApplicationError):
    status_code = 404
    code = "not_found"
