"""common.broker.task_send: on the Redis broker, the message written directly is the one
`apply_async` sends (its random ids aside), read back by kombu as a worker reads it, with the
request id Celery's publish signal adds; elsewhere it is `apply_async` itself."""

import json
from unittest import mock

import pytest
from celery import Task, current_app
from django.conf import settings

from common import broker
from common.request_id import CELERY_HEADER, context
from lending import tasks
from tests.conftest import requires_redis

RANDOM = ("id", "root_id")


def _redis():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _masked(raw: bytes) -> dict:
    message = json.loads(raw)
    for name in RANDOM:
        assert message["headers"][name]
        message["headers"][name] = "<id>"
    for name in ("correlation_id", "delivery_tag"):
        assert message["properties"][name]
        message["properties"][name] = "<id>"
    return message


@pytest.fixture
def interactive():
    """The interactive queue on the Redis broker, empty before and after: (its name, a client)."""
    queue, client = settings.CELERY_QUEUE_INTERACTIVE, _redis()
    client.delete(queue)
    yield queue, client
    client.delete(queue)


@requires_redis
def test_the_message_written_is_the_one_apply_async_sends(interactive):
    queue, client = interactive
    Task.apply_async(tasks.application_fulfil, (17, "2026-03-02"))  # Celery's own
    sent_id = tasks.application_fulfil.delay(17, "2026-03-02").id
    celery_raw, ours_raw = client.lrange(queue, 0, -1)[::-1]  # LPUSH: newest first
    ours = json.loads(ours_raw)
    assert ours["headers"]["id"] == ours["headers"]["root_id"] == sent_id
    assert ours["properties"]["correlation_id"] == sent_id
    assert _masked(ours_raw) == _masked(celery_raw)


@requires_redis
def test_a_worker_reads_it_as_celery_s_own_with_the_request_id(interactive):
    queue, _client = interactive
    with context(actor_label="test", request_id="req-broker-1"):
        sent_id = tasks.application_fulfil.delay(5, "2026-03-03").id
    with current_app.connection_for_read() as connection:
        reader = connection.SimpleQueue(queue)
        message = reader.get(timeout=5)
        message.ack()
        reader.close()
    assert message.headers["task"] == "lending.tasks.application_fulfil"
    assert message.headers["id"] == sent_id
    assert message.headers[CELERY_HEADER] == "req-broker-1"
    assert message.decode() == [
        [5, "2026-03-03"],
        {},
        {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
    ]


@pytest.mark.parametrize(
    ("direct", "call", "celery_s"),
    [
        (True, lambda task: task.delay(3, "2026-03-02"), False),
        (False, lambda task: task.delay(3, "2026-03-02"), True),
        (True, lambda task: task.apply_async((3, "2026-03-02"), countdown=5), True),
        (True, lambda task: task.apply_async((3,), {"on": "2026-03-02"}), True),
    ],
)
def test_elsewhere_or_with_options_it_is_celery_s_apply_async(direct, call, celery_s):
    with (
        mock.patch.object(broker, "_direct", return_value=direct),
        mock.patch.object(Task, "apply_async") as celery,
        mock.patch.object(broker, "task_send", return_value="ours") as ours,
    ):
        call(tasks.application_fulfil)
    assert celery.called is celery_s
    assert ours.called is not celery_s


@pytest.mark.parametrize(
    ("url", "eager", "expected"),
    [
        ("redis://127.0.0.1:6379/1", False, True),
        ("filesystem://localhost/", False, False),
        ("redis://x/1", True, False),
    ],
)
def test_only_the_redis_broker_not_eager_is_written_directly(settings, url, eager, expected):
    settings.CELERY_BROKER_URL = url
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = eager
    try:
        assert broker._direct(current_app) is expected
    finally:
        current_app.conf.task_always_eager = was
