"""Where a request's wall time goes inside gunicorn's workers: a gunicorn config file for
bench/decide.py's server, and the summary of what it logged. Per request it logs the wall time
(from gunicorn's pre_request to post_request), the worker's CPU time (`time.process_time`),
each SQL statement's time (`connection.execute_wrapper`: send, wait and receive), the COMMITs
(`_commit`) and the Celery publishes (`Task.apply_async`).

    GUNICORN_CMD_ARGS="-c bench/decide_breakdown.py" DECIDE_BREAKDOWN_LOG=/tmp/x/breakdown.log \\
        .venv/bin/python bench/decide.py --series async …
    .venv/bin/python bench/decide_breakdown.py /tmp/x/breakdown.log [--statements]

The summary: medians per method (POST: the decision, GET: the floor) of the requests after the
warm-up, and with --statements the median of each statement by its place in the request."""

import collections
import json
import os
import statistics
import sys
import threading
import time

LOG = os.environ.get("DECIDE_BREAKDOWN_LOG", "decide_breakdown.log")
_state = threading.local()


def _install() -> None:
    from celery.app.task import Task
    from django.db import connections
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.signals import connection_created

    commit = BaseDatabaseWrapper._commit

    def timed_commit(self):
        started = time.perf_counter()
        try:
            return commit(self)
        finally:
            _state.commit += (time.perf_counter() - started) * 1000

    def timed_execute(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            _state.sql.append(((time.perf_counter() - started) * 1000, sql[:90]))

    def wrap(connection) -> None:
        if timed_execute not in connection.execute_wrappers:
            connection.execute_wrappers.append(timed_execute)

    apply_async = Task.apply_async

    def timed_apply_async(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return apply_async(self, *args, **kwargs)
        finally:
            _state.publish += (time.perf_counter() - started) * 1000

    BaseDatabaseWrapper._commit = timed_commit
    Task.apply_async = timed_apply_async
    connection_created.connect(lambda sender, connection, **kwargs: wrap(connection), weak=False)
    for connection in connections.all():
        wrap(connection)


def pre_request(worker, req) -> None:
    if not getattr(worker, "_breakdown", False):
        _install()
        worker._breakdown = True
    _state.sql, _state.commit, _state.publish = [], 0.0, 0.0
    _state.cpu, _state.wall = time.process_time(), time.perf_counter()


def post_request(worker, req, environ, resp) -> None:
    record = {
        "method": req.method,
        "wall": (time.perf_counter() - _state.wall) * 1000,
        "cpu": (time.process_time() - _state.cpu) * 1000,
        "sql": sum(ms for ms, _ in _state.sql),
        "statements": len(_state.sql),
        "commit": _state.commit,
        "publish": _state.publish,
        "each": _state.sql,
    }
    with open(LOG, "a") as log:
        log.write(json.dumps(record) + "\n")


def summary(path: str, *, statements: bool, skip: int = 22) -> dict:
    with open(path) as log:
        records = [json.loads(line) for line in log]
    out = {}
    for method, name in (("POST", "decision"), ("GET", "floor")):
        mine = [r for r in records if r["method"] == method][skip:]
        if not mine:
            continue
        medians = {
            key: round(statistics.median(r[key] for r in mine), 2)
            for key in ("wall", "cpu", "sql", "statements", "commit", "publish")
        }
        medians["rest"] = round(
            statistics.median(r["wall"] - r["cpu"] - r["sql"] - r["commit"] - r["publish"] for r in mine), 2
        )
        out[name] = {"requests": len(mine), **medians}
        if statements:
            by_place = collections.defaultdict(list)
            for r in mine:
                for place, (ms, sql) in enumerate(r["each"]):
                    by_place[(place, " ".join(sql.split())[:70])].append(ms)
            out[name]["each"] = [
                [place, round(statistics.median(times), 2), sql]
                for (place, sql), times in sorted(by_place.items())
                if len(times) >= len(mine) / 2
            ]
    return out


if __name__ == "__main__":
    print(json.dumps(summary(sys.argv[1], statements="--statements" in sys.argv), indent=1))
