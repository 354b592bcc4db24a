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
