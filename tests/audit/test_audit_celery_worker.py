"""A task published during a request runs on a real Celery worker (Redis, PostgreSQL) under the
request's id, recorded as the task."""

import time

import pytest
from auditlog.models import LogEntry
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from kombu.asynchronous import set_event_loop

from common import request_id
from config.celery import app
from lending import tasks
from lending.models import CobRun
from tests.conftest import requires_postgres, requires_redis
from tests.lending.conftest import DAY, open_pool

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]


def _purge():
    with app.connection_for_write() as conn:
        for queue in settings.CELERY_QUEUES_ALL:
            conn.default_channel.queue_purge(queue)


def test_a_task_on_a_worker_carries_the_request_id_that_published_it():
    open_pool()
    _purge()
    set_event_loop(None)
    try:
        with start_worker(
            app, queues=settings.CELERY_QUEUES_ALL, pool="solo", perform_ping_check=False, shutdown_timeout=30
        ):
            with request_id.context(actor_label="user officer.li", request_id="req-celery-000001"):
                tasks.cob_close_start.delay(DAY.isoformat())
            deadline = time.monotonic() + 60
            while not CobRun.objects.filter(business_on=DAY).exists():
                assert time.monotonic() < deadline, "the worker did not run the task"
                time.sleep(0.1)
            time.sleep(0.5)
    finally:
        set_event_loop(None)
        _purge()
    run = CobRun.objects.get(business_on=DAY)
    rows = LogEntry.objects.filter(content_type__model="cobrun", object_pk=str(run.pk))
    created = rows.get(action=LogEntry.Action.CREATE)
    assert created.cid == "req-celery-000001"
    assert created.additional_data["actor"] == "task lending.tasks.cob_close_start"
