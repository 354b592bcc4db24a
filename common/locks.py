"""One run at a time of a long command or task, across processes and machines.

`exclusive(name)` holds a lock named `name` while its body runs; a second process asking for the
same name is refused at once (`AlreadyRunning`, which names what holds it) or, with `wait=True`,
waits for it. On PostgreSQL it is a session advisory lock on a connection of its own: the server
releases it when that connection ends, so a process killed with `kill -9` holds nothing once its
connection is gone, and the next run starts without anyone cleaning up. On SQLite (one machine)
it is an `flock` on a file beside the database, which the kernel releases when the process dies.

The lock only says who runs; the work itself stays idempotent (a run killed half-way is finished
by the next one), so the lock never has to be trusted for correctness of the data, only for not
doing the same work twice at once."""

import contextlib
import fcntl
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.db import connections

from common.errors import ConflictError


class AlreadyRunning(ConflictError):
    """Another process holds the lock: the work is being done already."""

    code = "already_running"


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks (hash() differs per process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _holder() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _refused(name: str, holder: str = "") -> AlreadyRunning:
    where = f" ({holder})" if holder else ""
    return AlreadyRunning(
        f"{name} is already running{where}; wait for it to finish or start it again once it has stopped"
    )


@contextlib.contextmanager
def _postgres(name: str, *, wait: bool) -> Iterator[None]:
    default = connections["default"]
    # A connection of its own (the same database as the caller's, tests included): the lock lives
    # exactly as long as it, whatever the work does with its own connection.
    conn = type(default)(dict(default.settings_dict), alias=default.alias)
    try:
        with conn.cursor() as cursor:
            key = lock_key(name)
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                if not cursor.fetchone()[0]:
                    raise _refused(name, _postgres_holder(cursor, key))
            # Who holds it, for whoever is refused (the application name shows in pg_stat_activity).
            cursor.execute("SELECT set_config('application_name', %s, false)", [f"{name} {_holder()}"[:63]])
            try:
                yield
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        conn.close()


def _postgres_holder(cursor, key: int) -> str:
    """The application name of the session that holds the advisory lock `key` (or '')."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    cursor.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND l.objid::bigint = %s "
        "LIMIT 1",
        [unsigned >> 32, unsigned & 0xFFFFFFFF],
    )
    row = cursor.fetchone()
    return row[0] if row else ""


def _lock_file(name: str) -> Path:
    database = str(connections["default"].settings_dict["NAME"])
    digest = hashlib.blake2b(f"{database}\0{name}".encode(), digest_size=8).hexdigest()
    return Path(tempfile.gettempdir()) / f"xiaodai-lock-{digest}"


@contextlib.contextmanager
def _file(name: str, *, wait: bool) -> Iterator[None]:
    path = _lock_file(name)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise _refused(name, handle.read().strip()) from None
        handle.seek(0)
        handle.truncate()
        handle.write(_holder())
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(name: str, *, wait: bool = False) -> Iterator[None]:
    """Run the body as the only holder of `name` on this database (see the module's text)."""
    if connections["default"].vendor == "postgresql":
        with _postgres(name, wait=wait):
            yield
    else:
        with _file(name, wait=wait):
            yield


def transaction_lock(name: str) -> None:
    """Inside a transaction: wait for the lock `name`, held until the transaction ends (commit,
    rollback or the connection lost). For work that replaces rows under a unique key (delete,
    then insert): two at once would both delete the same old rows and both insert, and the
    second insert would fail on the key; with the lock the second waits, then replaces what the
    first wrote. On PostgreSQL a transaction-level advisory lock; on SQLite nothing is needed
    (its transactions are IMMEDIATE: one writer at a time)."""
    connection = connections["default"]
    if not connection.in_atomic_block:
        raise RuntimeError("transaction_lock needs a transaction (transaction.atomic)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(name)])
