"""The decision's deterministic measures, in process on a copy of bench/decide.py's seeded world
(made with `--seed-template`): Python function calls per decision (`sys.setprofile`'s call
events, C calls included), SQL statements per decision, the median CPU time (`time.process_time`)
of a decision and of the floor read taking turns, and the decision records the applications left
(every row the decisions wrote, timestamps and random references masked) written to a file, so
that two versions of the code can be compared byte for byte. Prints JSON.

    .venv/bin/python bench/decide_calls.py --template-url postgres://…/h_decide_tpl \
        --database-url postgres://…/h_decide_calls [--redis-url redis://127.0.0.1:6379/10] \
        [--decisions 150] [--records /tmp/records.json]

The payout is asynchronous (LENDING_INSTANT_PAYOUT "async"): its message is published to Redis
after the reply, inside the measured request (the test client closes the response)."""

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from decide import _world_read, in_process_apply, in_process_client
from scratch_db import clone_database, drop_database, setup_django

# Columns whose values differ from one run to the next whatever the code: wall-clock times, and
# the references and keys made at random.
MASKED_TYPES = {"timestamp with time zone", "timestamp without time zone"}
MASKED_NAMES = {"reference", "request_id", "task_id", "uuid", "event_id", "idempotency_key"}
# The same inside text (the kept reply's JSON): ISO times, application references.
MASKED_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?|\bA\d{8}-\d{16}\b"
)


def _masked_text(value):
    return MASKED_TEXT.sub("<masked>", value) if isinstance(value, str) else value


def _tables(cursor) -> dict[str, list[tuple[str, str]]]:
    cursor.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema"
        " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position"
    )
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in cursor.fetchall():
        tables.setdefault(table, []).append((column, kind))
    return tables


def _high_marks(cursor, tables) -> dict[str, int]:
    marks = {}
    for table, columns in tables.items():
        kind = dict(columns).get("id")
        if kind in ("integer", "bigint", "smallint"):
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
            marks[table] = cursor.fetchone()[0]
        elif kind is not None:  # not a sequence: every id there before
            cursor.execute(f'SELECT id::text FROM "{table}"')
            marks[table] = {row[0] for row in cursor.fetchall()}
    return marks


def _records(cursor, tables, marks) -> dict[str, list]:
    """Every row with an id above the mark taken before the decisions, masked, by table."""
    out = {}
    for table, mark in sorted(marks.items()):
        columns = tables[table]
        names = ", ".join(f'"{name}"::text' for name, _ in columns)
        if isinstance(mark, set):
            cursor.execute(f'SELECT {names} FROM "{table}"')
            rows = sorted(
                (row for row in cursor.fetchall() if row[0] not in mark),
                key=lambda row: [str(v) for v in row[1:]],
            )
        else:
            cursor.execute(f'SELECT {names} FROM "{table}" WHERE id > %s ORDER BY id', [mark])
            rows = cursor.fetchall()
        if not rows:
            continue
        ids = {row[0] for row in rows}
        out[table] = [
            {
                name: (
                    "<masked>"
                    if kind in MASKED_TYPES or name in MASKED_NAMES
                    else ("<id>" if name == "id" and value in ids else _masked_text(value))
                )
                for (name, kind), value in zip(columns, row, strict=True)
            }
            for row in rows
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template-url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--decisions", type=int, default=150)
    parser.add_argument("--counted", type=int, default=30, help="decisions whose calls are counted")
    parser.add_argument("--records", default="", help="the decision records written here (JSON)")
    args = parser.parse_args()

    os.environ["REDIS_URL"] = args.redis_url
    os.environ["LENDING_INSTANT_PAYOUT"] = "async"
    clone_database(args.template_url, args.database_url)
    setup_django(database_url=args.database_url, var_prefix="xiaodai-bench-calls-", fresh=False)
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    key, shops = _world_read()
    client = in_process_client(key)

    def apply(shop):
        response = in_process_apply(client, shop)
        if response.status_code != 201 or response.json()["status"] != "approved":
            raise SystemExit(f"not approved: {response.content[:600]}")

    def floor(shop):
        response = client.get(f"/api/v1/merchants/{shop['id']}/")
        if response.status_code != 200:
            raise SystemExit(f"floor failed: {response.content[:600]}")

    output: dict = {}
    with override_settings(LENDING_INSTANT_PAYOUT="async"):
        recorded = shops[: args.counted + 4]
        with connection.cursor() as cursor:
            tables = _tables(cursor)
            marks = _high_marks(cursor, tables)
        # Warm-up: imports, caches, the connection, prepared statements.
        for shop in recorded[:3]:
            apply(shop)
            floor(shop)
        with CaptureQueriesContext(connection) as queries:
            apply(recorded[3])
        output["statements"] = len(queries.captured_queries)
        counts, floor_counts = [], []
        calls = 0

        def tracer(frame, event, arg):
            nonlocal calls
            if event == "call" or event == "c_call":
                calls += 1

        for shop in recorded[4:]:
            calls = 0
            sys.setprofile(tracer)
            apply(shop)
            sys.setprofile(None)
            counts.append(calls)
            calls = 0
            sys.setprofile(tracer)
            floor(shop)
            sys.setprofile(None)
            floor_counts.append(calls)
        output["calls_per_decision"] = statistics.median(counts)
        output["calls_per_floor"] = statistics.median(floor_counts)
        if args.records:
            connection.close()
            with connection.cursor() as cursor:
                records = _records(cursor, tables, marks)
            Path(args.records).write_text(json.dumps(records, indent=1, sort_keys=True, default=str))
            output["records"] = {table: len(rows) for table, rows in records.items()}
        cpu = {"decision": [], "floor": []}
        for shop in shops[len(recorded) : len(recorded) + args.decisions]:
            for name, call in (("decision", apply), ("floor", floor)):
                started = time.process_time()
                call(shop)
                cpu[name].append((time.process_time() - started) * 1000)
    output["cpu_ms"] = {name: round(statistics.median(values), 3) for name, values in cpu.items()}
    output["cpu_ratio"] = round(output["cpu_ms"]["decision"] / output["cpu_ms"]["floor"], 2)
    output["decisions_timed"] = len(cpu["decision"])
    output["load_average"] = [round(x, 2) for x in os.getloadavg()]
    connection.close()
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    drop_database(args.database_url)
    print(json.dumps(output, indent=1))


if __name__ == "__main__":
    main()
