"""A message published for what a transaction committed, after the request's reply is sent.

`publish_on_commit(publish)` runs `publish` (a Celery task's `delay`, say) once the current
transaction commits: inside a request, not at the commit but once its reply has been sent, by the
process that replied (Django closes the response after the server has written it, and sends
`request_finished`); outside a request (a Celery task, a command, the beat) at the commit, as
`transaction.on_commit` does. So the partner waiting on the reply does not wait for the broker.

Either way a publish that fails is logged, not raised: the change is committed, the caller is
not given an error for it, and the sweep of that work finds what was not sent. The same sweep
covers a process that dies between the reply and the publish (its window is a few milliseconds
longer than between the commit and the publish).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

# The publishes a request's commits made, waiting for its reply to be sent; None outside a request.
_pending: contextvars.ContextVar[list[Callable[[], object]] | None] = contextvars.ContextVar(
    "after_reply", default=None
)


def publish_on_commit(publish: Callable[[], object]) -> None:
    """`publish` once the current transaction commits: after the reply inside a request, at the
    commit elsewhere; nothing if the transaction is rolled back. A failure is logged."""
    transaction.on_commit(lambda: _committed(publish), robust=True)


def _committed(publish: Callable[[], object]) -> None:
    pending = _pending.get()
    if pending is None:
        publish()
    else:
        pending.append(publish)


def _publish(publish: Callable[[], object]) -> None:
    try:
        publish()
    except Exception:
        # As on_commit(robust=True) logs it: the sweep of that work sends it later.
        logger.exception("publish after the reply failed: %r", publish)


def request_started(**kwargs) -> None:
    """`request_started`: what this request's commits publish waits for its reply."""
    left = _pending.get()
    _pending.set([])
    # A request whose response was never closed (no server does that) leaves nothing unsent.
    for publish in left or ():
        _publish(publish)


def request_finished(**kwargs) -> None:
    """`request_finished` (sent when the response is closed, once the server has written it):
    the request's publishes, in the order of their commits."""
    pending = _pending.get()
    if pending is None:
        return
    _pending.set(None)
    for publish in pending:
        _publish(publish)


def connect() -> None:
    from django.core import signals

    signals.request_started.connect(request_started, dispatch_uid="after_reply_started")
    signals.request_finished.connect(request_finished, dispatch_uid="after_reply_finished")
