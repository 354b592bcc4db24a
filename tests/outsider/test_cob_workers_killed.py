"""Close of business fanned out over real Celery worker processes, killed from outside.

Two `celery -A config worker` processes consume the batch queue on a real Redis broker; a
`manage.py close_of_business --dispatch` sends the close to them and waits. At moments drawn from
a seeded generator (counted in chunk rows committed, so a moment falls mid-step, at a step's end
or between dates) a worker, a worker's pool process, the dispatcher, or everything is killed with
SIGKILL; what was killed is started again (a supervisor would), the partner API works while
everything is down, and two dispatchers are started at once twice (at the start, and to wait
through the last kill). The last two must exit 0 having waited for the close, no run is left
FAILED, and every loan, installment, line, wallet, pool, loan event and journal row must equal a
twin database (CREATE DATABASE … TEMPLATE) that did the same API work and closed the same
dates in one process, never killed.

A killed worker's message stays unacknowledged in Redis until the broker's visibility timeout (an
hour here): the close must not wait for it. The workers and dispatchers run with
LENDING_COB_WATCH_SECONDS small, so that a stalled run is taken over within seconds."""

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from common.business_date import business_date_today
from lending import cob, cob_dispatch, services, tasks
from lending.models import CobChunk, CobRun, CreditLine, Loan
from payments import services as payments
from tests.conftest import requires_postgres, requires_redis
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory
from tests.lending.test_cob_dispatch import workers  # noqa: F401 - the fixture: two workers in threads
from tests.lending.test_cob_resume import (
    CRASH_ON,
    GO_ON,
    SNAPSHOT,
    _admin,
    _database_url,
    assert_same,
    build,
)

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
THROUGH = CRASH_ON + dt.timedelta(days=2)  # fanned out; the days after it close in process
WATCH_SECONDS = 3
# How long a dispatcher may take once nothing is killed any more: a few watch periods, far below
# the broker's visibility timeout (an hour) that a lost message would otherwise wait for.
SETTLE_SECONDS = 150


def _env(database: str, chunk_size: int) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(database),
        "LENDING_COB_CHUNK_SIZE": str(chunk_size),
        "LENDING_COB_WATCH_SECONDS": str(WATCH_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }


def _shell(database: str, chunk_size: int, code: str) -> str:
    process = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=_env(database, chunk_size),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return process.stdout


def _purge_broker() -> None:
    """Nothing left from before in the queues, nor unacknowledged (kombu keeps those in the
    `unacked` hash until the visibility timeout puts them back in their queue)."""
    from config.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        for queue in django_settings.CELERY_QUEUES_ALL:
            conn.default_channel.queue_purge(queue)
        client.delete("unacked", "unacked_index", "unacked_mutex")


class Processes:
    """The workers and dispatchers of one database, each in its own process group, logging to
    files kept for the failure message."""

    def __init__(self, database: str, chunk_size: int, logs: Path):
        self.env = _env(database, chunk_size)
        self.logs = logs
        self.workers: dict[str, subprocess.Popen] = {}
        self.dispatchers: list[subprocess.Popen] = []
        self.started = 0

    def _start(self, argv: list[str], name: str) -> subprocess.Popen:
        self.started += 1
        path = self.logs / f"{self.started:02d}-{name}.log"
        log = open(path, "w")  # noqa: SIM115 (the process's)
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        process.log = path
        return process

    def worker(self, name: str) -> None:
        self.workers[name] = self._start(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--queues",
                django_settings.CELERY_QUEUE_BATCH,
                "--concurrency",
                "1",
                "--hostname",
                f"{name}@kill9",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            name,
        )

    def dispatch(self) -> subprocess.Popen:
        process = self._start(
            [
                sys.executable,
                "manage.py",
                "close_of_business",
                "--through",
                THROUGH.isoformat(),
                "--dispatch",
            ],
            "dispatch",
        )
        self.dispatchers.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL to the whole group: a worker's pool process dies with it, as with a lost host."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def kill_pool_process(self, name: str) -> bool:
        """SIGKILL to a worker's pool process only: the main process sees it lost."""
        parent = self.workers[name].pid
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except FileNotFoundError:
            return False
        for child in children:
            try:
                os.kill(int(child), signal.SIGKILL)
            except ProcessLookupError:
                continue
            return True
        return False

    def kill_all(self) -> None:
        for process in [*self.workers.values(), *self.dispatchers]:
            if process.poll() is None:
                self.kill(process)

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-2500:]}" for path in sorted(self.logs.iterdir())
        )


def _committed() -> int:
    """Chunk rows the fanned-out dates have committed so far: the clock the kill moments are read
    on."""
    connection.close()  # a fresh snapshot each time (and no connection kept open while waiting)
    return CobChunk.objects.filter(business_on__gte=CRASH_ON).count()


def _wait_for(processes: Processes, rows: int, seconds: float = 120) -> int:
    deadline = time.monotonic() + seconds
    while (done := _committed()) < rows:
        assert time.monotonic() < deadline, f"{rows} chunk rows not reached in {seconds}s\n{processes.tail()}"
        time.sleep(0.01)
    return done


def _per_date(chunk_size: int) -> tuple[int, int]:
    """Chunk rows one date of the run writes (chunks of wallets, each closing whole through due,
    deduction and accrual, then recovering), and those of its first step."""
    wallets = len(cob.wallet_ranges(chunk_size))
    return len(cob.ALL_STEPS) * wallets, wallets


def down_activity(repay: str | None, write_off: str | None, funded: str | None) -> None:
    """What the partner API does while everything is down (the twin: before its close), on loans
    named by their keys: a drawdown, money arriving in a wallet the run has not deducted from
    (when one is left), and, when the run had not reached them, a loan repaid in full and another
    written off."""
    on = business_date_today()
    draw(CreditLine.objects.get(merchant__external_id="late"), 2_000_000, key="drawn-while-down")
    if write_off:
        loan = Loan.objects.get(idempotency_key=write_off)
        payments.settlement_credit(wallet=loan.wallet, amount_fen=123_456, idempotency_key="down-in")
        services.loan_write_off(loan=loan, actor="officer", reason="fraud", on=on)
    if funded:
        funded_loan = Loan.objects.get(idempotency_key=funded)
        payments.settlement_credit(
            wallet=funded_loan.wallet, amount_fen=5_000_000, idempotency_key="down-fund"
        )
    if repay:
        services.loan_repay(
            loan=Loan.objects.get(idempotency_key=repay),
            amount_fen=None,
            idempotency_key="down-repay",
            actor="merchant",
            on=on,
        )


def _untouched() -> tuple[str | None, str | None, str | None]:
    """With every process dead: the keys of loans the killed run has not acted on yet (their
    chunk of wallets not committed), the highest to repay and the next to write off, and a loan
    whose wallet's deduction is not committed, for the money that arrives. A chunk of wallets
    closes whole (due, deduction, accrual) in one transaction: its loans are closed for the day or
    untouched. With large chunks both workers may commit the last ones as the kill comes: then
    no wallet is left to fund (the kill still falls inside the date: the run is not finished)."""
    run = CobRun.objects.get(business_on=CRASH_ON)
    done = set(CobChunk.objects.filter(business_on=CRASH_ON).values_list("step", "chunk"))
    due_left = [bounds for n, bounds in enumerate(run.wallet_bounds) if ("due", n) not in done]
    deduct_left = [bounds for n, bounds in enumerate(run.wallet_bounds) if ("deduct", n) not in done]
    open_loans = Loan.objects.filter(status__in=("active", "overdue")).order_by("-pk")
    funded = next(
        (
            loan.idempotency_key
            for loan in open_loans
            if any(lo <= loan.wallet_id <= hi for lo, hi in deduct_left)
        ),
        None,
    )
    if not due_left:
        return None, None, funded
    fresh = [loan for loan in open_loans if any(lo <= loan.wallet_id <= hi for lo, hi in due_left)]
    repay = fresh[0].idempotency_key
    write_off = fresh[1].idempotency_key if len(fresh) > 1 else None
    return repay, write_off, repay


@pytest.mark.parametrize(("chunk_size", "seed"), [(3, 20261207), (16, 9)])
def test_fanned_out_close_killed_at_random_equals_a_twin_never_killed(settings, tmp_path, chunk_size, seed):
    settings.LENDING_COB_CHUNK_SIZE = chunk_size
    build(n_merchants=14)
    per_date, due_chunks = _per_date(chunk_size)
    assert per_date >= 8, "too few chunks for kills to fall inside a date"
    moments = random.Random(seed)
    main = connection.settings_dict["NAME"]
    twin = f"{main}_twin"
    connection.close()
    _admin(f'DROP DATABASE IF EXISTS "{twin}"')
    _admin(f'CREATE DATABASE "{twin}" TEMPLATE "{main}"')
    processes = Processes(main, chunk_size, tmp_path)
    try:
        _purge_broker()
        processes.worker("a")
        processes.worker("b")
        # Two commands start the same date at once (both killed with everything below).
        processes.dispatch()
        processes.dispatch()

        # 1. A worker lost with its host mid-step; a supervisor starts it again at once. What it
        #    held stays unacknowledged in Redis for the visibility timeout.
        _wait_for(processes, moments.randint(1, max(1, due_chunks // 3)))
        processes.kill(processes.workers["a"])
        processes.worker("a")

        # 2. Everything down in the first date (the dispatcher too); the partner API works
        #    meanwhile; then the workers and the command again.
        _wait_for(processes, moments.randint(due_chunks // 3 + 1, max(due_chunks // 3 + 1, due_chunks - 2)))
        processes.kill_all()
        assert business_date_today() == CRASH_ON, "the first date closed before everything was killed"
        down = _untouched()
        down_code = (
            "from tests.outsider.test_cob_workers_killed import down_activity; "
            f"down_activity(*{list(down)!r})"
        )
        _shell(main, chunk_size, down_code)
        processes.worker("a")
        processes.worker("b")
        processes.dispatch()

        # 3. A worker's pool process dies (its main process requeues what it ran), around the end
        #    of the first date's deduction.
        _wait_for(processes, per_date // 2 + moments.randint(-1, 1))
        processes.kill_pool_process(moments.choice(["a", "b"]))

        # 4. The dispatcher and both workers, in the second date. Two commands are started again
        #    at once with no worker running; once both have taken the stalled date over, the
        #    workers come back (what the killed ones held is lost until the visibility timeout).
        _wait_for(processes, per_date + moments.randint(1, per_date // 2))
        processes.kill_all()
        both = [processes.dispatch(), processes.dispatch()]
        deadline = time.monotonic() + 120
        # Each has found the close stalled (no worker) and sent again what it misses.
        while not all("has not moved" in process.log.read_text() for process in both):
            assert time.monotonic() < deadline, f"the commands did not take over\n{processes.tail()}"
            assert all(process.poll() is None for process in both), processes.tail()
            time.sleep(0.05)
        processes.worker("a")
        processes.worker("b")

        # 5. A worker again, in the second or third date, while both wait: what it held is lost
        #    until the visibility timeout, and the waiting commands take it over.
        _wait_for(processes, per_date + per_date // 2 + moments.randint(1, per_date))
        name = moments.choice(["a", "b"])
        processes.kill(processes.workers[name])
        processes.worker(name)

        for process in both:
            try:
                process.wait(SETTLE_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"a dispatcher did not finish in {SETTLE_SECONDS}s\n{processes.tail()}")
        assert [process.returncode for process in both] == [0, 0], processes.tail()
        for process in both:  # each waited for the close, through its last date
            assert f"closed {THROUGH}:" in process.log.read_text(), processes.tail()
        connection.close()
        assert not CobRun.objects.filter(status=CobRun.Status.FAILED).exists(), processes.tail()
        assert business_date_today() == THROUGH + dt.timedelta(days=1)
        processes.kill_all()
        _shell(main, chunk_size, GO_ON)
        got = json.loads(_shell(main, chunk_size, SNAPSHOT).strip().splitlines()[-1])

        # The twin: the same API work first, then the same dates closed in one process.
        _shell(twin, chunk_size, down_code)
        _shell(twin, chunk_size, GO_ON)
        expected = json.loads(_shell(twin, chunk_size, SNAPSHOT).strip().splitlines()[-1])
        assert_same(got, expected, f"fanned out, chunks of {chunk_size}, seed {seed}, down {down}")
    finally:
        processes.kill_all()
        _purge_broker()
        connection.close()
        _admin(f'DROP DATABASE IF EXISTS "{twin}"')


@pytest.mark.usefixtures("workers")
def test_messages_lost_with_a_killed_worker_are_sent_again_by_the_waiting_dispatcher(settings, monkeypatch):
    """A worker killed with its host takes what it held: a chunk's message, and the watch's
    countdown message (a worker holds those from the moment they are sent). On Redis they come
    back after the visibility timeout, an hour. The dispatcher waiting for the close sends again
    what is missing once nothing has moved for LENDING_COB_WATCH_SECONDS."""
    settings.LENDING_COB_WATCH_SECONDS = 1
    open_pool()
    for n in range(7):
        draw(CreditLineFactory(), 1_000_000, key=f"k-{n}")
    monkeypatch.setattr(cob_dispatch, "_send_watch", lambda *args, **kwargs: None)
    send = tasks.cob_close_chunk.delay
    lost = []

    def loses_the_first_of_each_step(*args):
        step = args[2]
        if step not in {lost_step for _, _, lost_step, *_ in lost}:
            lost.append(args)
            return None
        return send(*args)

    monkeypatch.setattr(tasks.cob_close_chunk, "delay", loses_the_first_of_each_step)
    through = DAY + dt.timedelta(days=1)
    runs = cob_dispatch.cob_close_dispatch(through=through, chunk_size=3, timeout=60)
    assert [run.status for run in runs] == [CobRun.Status.DONE] * 2
    # A chunk of wallets closes whole from its due step's message (deduction and accrual claimed
    # in its transaction): the messages sent, and lost, are the due step's and the late steps'.
    assert {step for _, _, step, *_ in lost} == {cob.STEPS[0], *cob.LATE_STEPS}
    assert business_date_today() == through + dt.timedelta(days=1)
    assert CobChunk.objects.filter(business_on=through).count() == sum(
        len(cob.step_ranges(runs[-1], step)) for step in cob.ALL_STEPS
    )
