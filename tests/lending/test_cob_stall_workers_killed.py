"""The nightly close with no command waiting, its workers killed: the beat's stall check takes it
over (real `celery -A config worker` processes on Redis and PostgreSQL, killed with SIGKILL).

The close is started as the nightly task starts it (a start message, no dispatcher). Once it has
closed some chunks, both workers are killed: what they held (chunk messages, the watch's countdown
message) stays unacknowledged in Redis until the visibility timeout, an hour. What was still
queued, not yet taken by a worker, is dropped as well (as a broker that lost it would): otherwise the
workers started again could finish the close from it, or a watch message not yet taken could, and
whether anything is left stalled would depend on the moment of the kill. Workers are started
again; the stall check, run twice at once in rounds (as two beats or a slow one might), takes the
stalled date over once per watch period, and the close finishes. The rows must equal a twin
database (CREATE DATABASE … TEMPLATE) closed in one process, never killed: no chunk closed twice."""

import datetime as dt
import json
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from common.business_date import business_date_today
from lending import cob_dispatch, tasks
from lending.models import CobChunk, CobRun
from tests.conftest import requires_postgres, requires_redis
from tests.lending.test_cob_resume import CRASH_ON, GO_ON, SNAPSHOT, _admin, assert_same, build
from tests.outsider.test_cob_workers_killed import (
    WATCH_SECONDS,
    Processes,
    _committed,
    _purge_broker,
    _shell,
    _wait_for,
)

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]

THROUGH = CRASH_ON + dt.timedelta(days=1)
CHUNK_SIZE = 3


def _drop_queued() -> None:
    """The messages waiting in the queues are dropped; those the killed workers held stay in the
    `unacked` hash, to come back only after the visibility timeout."""
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in django_settings.CELERY_QUEUES_ALL:
            conn.default_channel.queue_purge(queue)


def checks_at_once() -> list:
    """Two stall checks at the same moment, each on its own connection."""
    results = [None, None]
    ready = threading.Barrier(2, timeout=30)

    def check(n):
        try:
            ready.wait()
            results[n] = cob_dispatch.cob_stall_check(through=THROUGH)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=check, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_a_nightly_close_whose_workers_were_killed_is_taken_over_by_the_stall_check(settings, tmp_path):
    settings.LENDING_COB_CHUNK_SIZE = CHUNK_SIZE
    settings.LENDING_COB_WATCH_SECONDS = WATCH_SECONDS
    build(n_merchants=14)
    main = connection.settings_dict["NAME"]
    twin = f"{main}_twin"
    connection.close()
    _admin(f'DROP DATABASE IF EXISTS "{twin}"')
    _admin(f'CREATE DATABASE "{twin}" TEMPLATE "{main}"')
    processes = Processes(main, CHUNK_SIZE, tmp_path)
    try:
        _purge_broker()
        processes.worker("a")
        processes.worker("b")
        tasks.cob_close_start.delay(THROUGH.isoformat(), CHUNK_SIZE)  # as the nightly task does
        _wait_for(processes, 1)
        processes.kill_all()  # both workers, with what they held
        _drop_queued()
        connection.close()
        run = CobRun.objects.get(business_on=CRASH_ON)
        assert run.status == CobRun.Status.RUNNING
        left = CobChunk.objects.filter(business_on=CRASH_ON).count()
        assert left < 4 * len(run.wallet_bounds), "the first date closed before the kill"
        processes.worker("a")
        processes.worker("b")

        rounds, taken, deadline = [], [], time.monotonic() + 240
        while not CobRun.objects.filter(business_on=THROUGH, status=CobRun.Status.DONE).exists():
            assert time.monotonic() < deadline, f"the close was not taken over\n{processes.tail()}"
            assert not CobRun.objects.filter(status=CobRun.Status.FAILED).exists(), processes.tail()
            results = checks_at_once()
            rounds.append(results)
            taken += [on for on in results if on is not None]
            time.sleep(0.5)
            connection.close()
        assert taken, "the close finished without a take-over"
        assert all(None in results for results in rounds), "two checks at once both took over"
        assert business_date_today() == THROUGH + dt.timedelta(days=1)
        assert _committed() == sum(
            4 * len(run.wallet_bounds) for run in CobRun.objects.filter(business_on__gte=CRASH_ON)
        )
        processes.kill_all()
        _purge_broker()
        _shell(main, CHUNK_SIZE, GO_ON)
        got = json.loads(_shell(main, CHUNK_SIZE, SNAPSHOT).strip().splitlines()[-1])
        _shell(twin, CHUNK_SIZE, GO_ON)
        expected = json.loads(_shell(twin, CHUNK_SIZE, SNAPSHOT).strip().splitlines()[-1])
        assert_same(got, expected, "taken over by the stall check")
    finally:
        processes.kill_all()
        _purge_broker()
        connection.close()
        _admin(f'DROP DATABASE IF EXISTS "{twin}"')
