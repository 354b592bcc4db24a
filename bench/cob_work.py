"""Close of business counted in work, not seconds: on a fresh copy of a world built by
`bench/cob.py --phase build`, the floor (`UPDATE lending_loan SET updated_at = updated_at`) and one
close of business, each statement's shared buffers (hit, read, dirtied, written) and WAL (records,
full-page images, bytes) as PostgreSQL's auto_explain reports them, summed per step; the tables'
updates, HOT updates and inserts, and the loan table's size before and after. Prints JSON.

    .venv/bin/python bench/cob_work.py --template postgres://…/<built world> \
        --database-url postgres://…/<scratch copy>

On a shared machine these counts do not move with the load as seconds do: they compare two
versions of the close on one world (the digests of every loan row and account balance must be
the same). Each statement is explained inside the close (auto_explain.log_level NOTICE, nested
statements included, so the ledger's deferred checks show under the commits), which slows the
close: the seconds printed are not the benchmark's.
"""

import argparse
import collections
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from cob import CLOSED_ON  # bench/cob.py, beside this file (it puts the project on the path)
from scratch_db import clone_database, drop_database, setup_django

COUNTERS = (
    "Shared Hit Blocks",
    "Shared Read Blocks",
    "Shared Dirtied Blocks",
    "Shared Written Blocks",
    "Temp Written Blocks",
    "WAL Records",
    "WAL FPI",
    "WAL Bytes",
)
TABLES = (
    "lending_loan",
    "lending_installment",
    "lending_loanevent",
    "lending_loanstatuschange",
    "payments_account",
    "payments_journalentry",
    "payments_posting",
    "lending_creditline",
)


class Notices(collections.deque):
    """psycopg2 appends each server notice here: the plans, filed under the current step."""

    def __init__(self) -> None:
        super().__init__()
        self.step = "other"
        self.plans = None  # with --plans: a file each plan is written to, one JSON a line
        self.by_step: dict[str, dict[str, dict]] = collections.defaultdict(dict)

    def append(self, notice: str) -> None:
        start = notice.find("{")
        if "plan:" not in notice or start < 0:
            return
        plan = json.loads(notice[start:])
        if self.plans is not None:
            self.plans.write(json.dumps({"step": self.step, **plan}) + "\n")
        top = plan["Plan"]
        text = re.sub(r"\s+", " ", plan.get("Query Text", "")).strip()
        text = re.sub(r"\d+", "N", text)
        # Statements that open with the same WITH clause differ in what they write: name it too.
        verb = re.search(r"\b(UPDATE \w+|INSERT INTO \w+|DELETE FROM \w+)", text[8:])
        text = text[:110] + (f" … {verb.group(1)}" if verb and verb.group(1) not in text[:110] else "")
        row = self.by_step[self.step].setdefault(
            text, {"calls": 0, "rows": 0, "ms": 0.0, **dict.fromkeys(COUNTERS, 0)}
        )
        row["calls"] += 1
        row["rows"] += top.get("Actual Rows", 0)
        # With --timing: the statement's own time as the server measured it (nested included).
        row["ms"] = round(row["ms"] + top.get("Actual Total Time", 0.0) + plan.get("Triggers ms", 0.0), 3)
        for counter in COUNTERS:
            row[counter] += top.get(counter, 0)


def _totals(statements: dict[str, dict]) -> dict:
    return {key: sum(row[key] for row in statements.values()) for key in ("calls", *COUNTERS)}


def _table_stats(cursor) -> dict[str, dict]:
    cursor.execute("SELECT pg_stat_force_next_flush()")
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute(
        "SELECT s.relname, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_ins, s.n_dead_tup, "
        "io.heap_blks_hit + io.heap_blks_read, COALESCE(io.idx_blks_hit + io.idx_blks_read, 0), "
        "pg_relation_size(s.relid), pg_indexes_size(s.relid) "
        "FROM pg_stat_user_tables s JOIN pg_statio_user_tables io USING (relid) WHERE s.relname = ANY(%s)",
        [list(TABLES)],
    )
    keys = (
        "updates",
        "hot_updates",
        "inserts",
        "dead",
        "heap_blocks",
        "index_blocks",
        "heap_bytes",
        "index_bytes",
    )
    return {name: dict(zip(keys, values, strict=True)) for name, *values in cursor.fetchall()}


def _delta(after: dict, before: dict) -> dict:
    out = {}
    for name, row in after.items():
        was = before.get(name, {})
        out[name] = {
            key: (value if key in ("heap_bytes", "index_bytes", "dead") else value - was.get(key, 0))
            for key, value in row.items()
        }
        if out[name]["updates"]:
            out[name]["hot_ratio"] = round(out[name]["hot_updates"] / out[name]["updates"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--relayout",
        action="store_true",
        help="first rewrite the loans, installments, credit lines and accounts (VACUUM FULL) under this "
        "code's storage parameters, as a world built with this code would be laid out",
    )
    parser.add_argument("--top", type=int, default=8, help="statements listed per step")
    parser.add_argument(
        "--timing",
        action="store_true",
        help="also time each statement's plan nodes (auto_explain.log_timing; slower): `ms` per statement",
    )
    parser.add_argument("--plans", type=Path, default=None, help="write every plan here, one JSON a line")
    args = parser.parse_args()

    clone_database(args.template, args.database_url)
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("cob.py")),
            "--phase",
            "migrate",
            "--database-url",
            args.database_url,
        ],
        check=True,
    )
    setup_django(database_url=args.database_url, fresh=False)
    from django.db import connection

    from lending import cob

    connection.ensure_connection()
    raw = connection.connection
    notices = Notices()
    if args.plans is not None:
        notices.plans = args.plans.open("w")
    raw.notices = notices

    def prepare() -> None:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")

    def explained() -> None:
        with connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting, value in (
                ("log_min_duration", "0"),
                ("log_analyze", "on"),
                ("log_buffers", "on"),
                ("log_wal", "on"),
                ("log_timing", "on" if args.timing else "off"),
                ("log_nested_statements", "on"),
                ("log_format", "json"),
                ("log_level", "notice"),
            ):
                cursor.execute(f"SET auto_explain.{setting} = '{value}'")
            cursor.execute("SET client_min_messages = notice")

    explained()
    result: dict = {"template": args.template.rpartition("/")[2]}
    with connection.cursor() as cursor:
        if args.relayout:
            cursor.execute("SET auto_explain.log_min_duration = -1")
            cursor.execute(
                "VACUUM FULL lending_loan, lending_installment, lending_creditline, payments_account"
            )
            cursor.execute("SET auto_explain.log_min_duration = 0")
        prepare()
        before = _table_stats(cursor)
        notices.step = "floor"
        cursor.execute("UPDATE lending_loan SET updated_at = updated_at")
        notices.step = "other"
        result["floor_tables"] = _delta(_table_stats(cursor), before)
        prepare()
        before = _table_stats(cursor)

    updates_by_step: dict[str, dict[str, list[int]]] = {}

    def _xact_updates() -> dict[str, tuple[int, int]]:
        """This transaction's updates and HOT updates so far, per table."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL auto_explain.log_min_duration = -1")
            cursor.execute(
                "SELECT relname, pg_stat_get_xact_tuples_updated(relid), "
                "pg_stat_get_xact_tuples_hot_updated(relid) FROM pg_stat_user_tables "
                "WHERE relname = ANY(%s)",
                [["lending_loan", "lending_installment", "lending_creditline", "payments_account"]],
            )
            rows = {name: (updates, hot) for name, updates, hot in cursor.fetchall()}
            cursor.execute("SET LOCAL auto_explain.log_min_duration = 0")
            return rows

    for step, function in list(cob.STEP_FUNCTIONS.items()):

        def labelled(*a, _step=step, _function=function, **k):
            notices.step = _step
            before = _xact_updates()
            try:
                return _function(*a, **k)
            finally:
                notices.step = "commit and other"
                for table, (updates, hot) in _xact_updates().items():
                    counts = updates_by_step.setdefault(_step, {}).setdefault(table, [0, 0])
                    counts[0] += updates - before[table][0]
                    counts[1] += hot - before[table][1]

        cob.STEP_FUNCTIONS[step] = labelled

    began = time.perf_counter()
    run = cob.close_of_business(on=CLOSED_ON, chunk_size=args.chunk_size)
    seconds = time.perf_counter() - began
    notices.step = "after"
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = -1")
        result["close_tables"] = _delta(_table_stats(cursor), before)
        cursor.execute(
            "SELECT (SELECT md5(string_agg(md5((to_jsonb(l) - 'updated_at')::text), '' ORDER BY id)) "
            "FROM lending_loan l), "
            "(SELECT md5(string_agg(id || ':' || balance_fen, ';' ORDER BY id)) FROM payments_account)"
        )
        loans_digest, accounts_digest = cursor.fetchone()
    by_step = {
        step: {
            "totals": _totals(statements),
            "statements": dict(
                sorted(
                    statements.items(),
                    key=lambda item: -item[1]["Shared Dirtied Blocks"] - item[1]["WAL FPI"],
                )[: args.top]
            ),
        }
        for step, statements in notices.by_step.items()
    }
    close_steps = [s for s in by_step if s not in ("floor", "after")]
    result |= {
        "run_status": run.status,
        "run_steps": {step["step"]: step["rows"] for step in run.steps},
        "seconds_with_explain": round(seconds, 2),
        "updates_and_hot_by_step": updates_by_step,
        "digests_after": {"loans": loans_digest, "accounts": accounts_digest},
        "floor": by_step.get("floor", {}).get("totals"),
        "close": {key: sum(by_step[s]["totals"][key] for s in close_steps) for key in ("calls", *COUNTERS)},
        "by_step": {s: by_step[s] for s in close_steps},
    }
    connection.close()
    if not args.keep:
        drop_database(args.database_url)
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
