"""One id per request, and per Celery task, carried in a context variable: every audit row (and
any log line that asks) names the request that made it. A caller's `X-Request-ID` is kept when it
is sane, otherwise a new one is made; the reply always says which was used. A task published
during a request carries the request's id; one started by beat or a command gets its own."""

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
CELERY_HEADER = "x_request_id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_request: ContextVar[object | None] = ContextVar("audit_request", default=None)
_actor: ContextVar[tuple[object | None, str] | None] = ContextVar("audit_actor", default=None)


def request_id_get() -> str | None:
    return _request_id.get()


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_get():
    """The HTTP request being served in this context, if any."""
    return _request.get()


def actor_get() -> tuple[object | None, str] | None:
    """(user or None, label) set explicitly for this context: a task, a command."""
    return _actor.get()


class RequestIdMiddleware:
    """First in MIDDLEWARE: the id and the request are in context for everything after it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        value = given if _SANE.fullmatch(given) else request_id_new()
        request.request_id = value
        id_token, request_token = _request_id.set(value), _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(id_token)
            _request.reset(request_token)
        response[HEADER] = value
        return response


class context:
    """`with context(actor_label="command close_of_business"):` for work started outside a request."""

    def __init__(self, *, actor_label: str, user=None, request_id: str | None = None):
        self.actor = (user, actor_label)
        self.request_id = request_id or request_id_new()

    def __enter__(self):
        self._tokens = (_actor.set(self.actor), _request_id.set(self.request_id))
        return self

    def __exit__(self, *exc):
        _actor.reset(self._tokens[0])
        _request_id.reset(self._tokens[1])


# --- Celery: the id travels in the message's headers -----------------------------------------
_task_tokens: dict[str, tuple] = {}


def _on_publish(headers=None, **kwargs):
    current = _request_id.get()
    if headers is not None and current and CELERY_HEADER not in headers:
        headers[CELERY_HEADER] = current


def _on_task_start(task_id=None, task=None, **kwargs):
    given = getattr(task.request, CELERY_HEADER, None) if task is not None else None
    value = given if isinstance(given, str) and _SANE.fullmatch(given) else (task_id or request_id_new())
    label = f"task {task.name}" if task is not None else "task"
    _task_tokens[task_id] = (_request_id.set(value), _actor.set((None, label)), _request.set(None))


def _on_task_end(task_id=None, **kwargs):
    tokens = _task_tokens.pop(task_id, None)
    if tokens is not None:
        _request_id.reset(tokens[0])
        _actor.reset(tokens[1])
        _request.reset(tokens[2])


def _mask_celery_logs(logger=None, **kwargs):
    from common.masking import PiiLogFilter

    for handler in getattr(logger, "handlers", []):
        if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
            handler.addFilter(PiiLogFilter())


def celery_signals_connect() -> None:
    from celery import signals

    signals.before_task_publish.connect(_on_publish, dispatch_uid="request_id_publish", weak=False)
    signals.task_prerun.connect(_on_task_start, dispatch_uid="request_id_task_start", weak=False)
    signals.task_postrun.connect(_on_task_end, dispatch_uid="request_id_task_end", weak=False)
    signals.after_setup_logger.connect(_mask_celery_logs, dispatch_uid="pii_celery_logs", weak=False)
    signals.after_setup_task_logger.connect(
        _mask_celery_logs, dispatch_uid="pii_celery_task_logs", weak=False
    )
