"""A task message written to the Redis broker directly: the message `task.apply_async(args)` sends,
for a fraction of Celery's and kombu's work.

A task made with `base=DirectTask` sends `delay(*args)` (`apply_async(args)` with no keyword
arguments nor options: no countdown, eta, expiry, links or priority) to the queue CELERY_TASK_ROUTES
names for it through `task_send`: on the Redis broker, outside a running task and when not eager,
the message — Celery's protocol 2 envelope as kombu's Redis
transport stores it, the `before_task_publish`/`after_task_publish` signals sent around it as
Celery sends them (the request id travels in its headers, common.request_id) — is one LPUSH on a
client kept per process. Building it through `apply_async` cost some 1,200 Python calls a message
(route lookup, the envelope, the producer pool, kombu's retry wrapper and channel); an instant
decision publishes one (the payout), after its reply. Anything else (another broker, eager tasks,
inside a task, where Celery sets the parent and root ids, options) goes through Celery's
`apply_async` as before. Used by `lending.tasks.application_fulfil`.

tests/common/test_broker.py holds the message equal to `apply_async`'s (ids masked), consumed by
Celery's own worker code.
"""

from __future__ import annotations

import base64
import os
import socket
import uuid

from celery import Task, signals
from celery.utils.saferepr import saferepr
from django.conf import settings
from kombu.utils.json import dumps

# The body's embed (no callbacks, errbacks, chain or chord), as Celery's JSON serializer writes it.
_EMBED = ', {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'

_client: tuple[int, object] | None = None  # (pid, redis client): a forked worker makes its own


def _redis():
    global _client
    pid = os.getpid()
    if _client is None or _client[0] != pid:
        import redis

        _client = (pid, redis.Redis.from_url(settings.CELERY_BROKER_URL))
    return _client[1]


def _direct(app) -> bool:
    return (
        settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
        and not app.conf.task_always_eager
        and not (app.conf.broker_transport_options or {}).get("global_keyprefix")
        and app.current_worker_task is None
    )


_fixed: dict[tuple, tuple] = {}  # per process and task: (queue, repr limits, origin)


def _fixed_for(app, name: str) -> tuple:
    key = (os.getpid(), name)
    fixed = _fixed.get(key)
    if fixed is None:
        route = (settings.CELERY_TASK_ROUTES or {}).get(name) or {}
        fixed = _fixed[key] = (
            route.get("queue") or app.conf.task_default_queue,
            app.amqp.argsrepr_maxsize,
            app.conf.task_repr_maxlevels,
            f"gen{os.getpid()}@{socket.gethostname()}",
        )
    return fixed


def task_message(task, args: tuple, task_id: str) -> tuple[str, dict]:
    """(queue, message) as kombu's Redis transport stores `task.apply_async(args, task_id=…)`."""
    app = task.app
    name = task.name
    queue, repr_size, repr_levels, origin = _fixed_for(app, name)
    body = "[" + dumps(list(args)) + ", {}" + _EMBED
    headers = {
        "lang": "py",
        "task": name,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": saferepr(args, repr_size, maxlevels=repr_levels),
        "kwargsrepr": "{}",
        "origin": origin,
        "ignore_result": bool(task.ignore_result),
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    properties = {
        "correlation_id": task_id,
        "reply_to": app.thread_oid,
        "delivery_mode": 2,
        "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": 0,
        "body_encoding": "base64",
        "delivery_tag": str(uuid.uuid4()),
    }
    return queue, {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": properties,
    }


class DirectTask(Task):
    """A task whose `delay(*args)` (and `apply_async(args)` with no keyword arguments and no
    options) is written to the Redis broker directly (`task_send`); anything else is Celery's."""

    abstract = True

    def apply_async(
        self,
        args=None,
        kwargs=None,
        task_id=None,
        producer=None,
        link=None,
        link_error=None,
        shadow=None,
        **options,
    ):
        if (
            kwargs
            or task_id
            or producer
            or link
            or link_error
            or shadow
            or options
            or not isinstance(args, (list, tuple))
            or not _direct(self.app)
        ):
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        return self.AsyncResult(task_send(self, tuple(args)))


def task_send(task, args: tuple) -> str:
    """One LPUSH of the message `apply_async(args)` sends, with Celery's publish signals, to the
    Redis broker (which `_direct` says this is); returns the task's id."""
    task_id = str(uuid.uuid4())
    queue, message = task_message(task, args, task_id)
    headers, properties = message["headers"], message["properties"]
    sent = (list(args), {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None})
    if signals.before_task_publish.receivers:
        signals.before_task_publish.send(
            sender=task.name,
            body=sent,
            exchange="",
            routing_key=queue,
            headers=headers,
            properties=properties,
            declare=[],
            retry_policy=None,
        )
    _redis().lpush(queue, dumps(message))
    if signals.after_task_publish.receivers:
        signals.after_task_publish.send(sender=task.name, body=sent, exchange="", routing_key=queue)
    return task_id
