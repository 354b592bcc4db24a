"""The squashed migrations build the same database as the originals they replace.

A new database is migrated through the squashed migrations (what `manage.py migrate` does on an
empty database) and another through the originals alone (as every database made before the squash
was); both are then read back: tables with their columns, checks and constraints, indexes,
triggers and functions, the groups with their permissions, the content types and the rows the
migrations seeded. They must be equal, and the database migrated through the originals must find
nothing to apply in the squashed graph. Each migration runs in a process of its own on a database
of its own: SQLite files under tmp_path, or, when the suite runs on PostgreSQL (DATABASE_URL),
two databases named after the test database.

    python -m tests.test_migrations_squashed squashed|originals OUT.json  # one side, by hand

Column order is not compared: a squash may add a foreign key after its table instead of in it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SQUASHED_APPS = ("common", "merchants", "payments", "lending", "scoring", "riskcontrol")


# --- run in the child process -------------------------------------------------------------------


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return sorted(parts)


def _sqlite_schema(cursor) -> dict:
    schema = {}
    cursor.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    for kind, name, table, sql in cursor.fetchall():
        if kind == "table":
            body = sql[sql.index("(") + 1 : sql.rindex(")")]
            schema[f"table {name}"] = _split_top_level(body)
        else:
            schema[f"{kind} {name} on {table}"] = re.sub(r"\s+", " ", sql or "").strip()
    return schema


def _same_casts(sql: str) -> str:
    """PostgreSQL prints `x IN (...)` on a varchar as `= ANY ((ARRAY['a'::character varying,
    ...])::text[])` when written, and as `= ANY (ARRAY[('a'::character varying)::text, ...])` once
    the column's type has been altered under it (the originals widened `lending_loan.status`
    after indexing it): the same predicate, printed one way here."""
    sql = re.sub(r"\('((?:[^']|'')*)'::character varying\)::text", r"'\1'::character varying", sql)
    return re.sub(r"ANY \(\(ARRAY\[([^\]]*)\]\)::text\[\]\)", r"ANY (ARRAY[\1])", sql)


def _postgres_schema(cursor) -> dict:
    schema = {}
    cursor.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, "
        "character_maximum_length, numeric_precision, numeric_scale, is_identity "
        "FROM information_schema.columns WHERE table_schema = 'public'"
    )
    for table, column, *rest in cursor.fetchall():
        schema.setdefault(f"table {table}", []).append([column, *rest])
    for columns in schema.values():
        columns.sort()
    cursor.execute(
        "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public'"
    )
    for table, name, definition in cursor.fetchall():
        schema[f"constraint {name} on {table}"] = _same_casts(definition)
    cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    for table, name, definition in cursor.fetchall():
        schema[f"index {name} on {table}"] = _same_casts(definition)
    cursor.execute(
        "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND NOT t.tgisinternal"
    )
    for table, name, definition in cursor.fetchall():
        schema[f"trigger {name} on {table}"] = definition
    cursor.execute(
        "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
    )
    for name, definition in cursor.fetchall():
        schema[f"function {name}"] = definition
    return schema


def _rows() -> dict:
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    rule_set = apps.get_model("riskcontrol", "RuleSet")
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            if table != "django_migrations":
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
                counts[table] = cursor.fetchone()[0]
    return {
        "counts": counts,
        "content_types": sorted(ContentType.objects.values_list("app_label", "model")),
        "permissions": sorted(
            Permission.objects.values_list(
                "content_type__app_label", "content_type__model", "codename", "name"
            )
        ),
        "groups": {
            group.name: sorted(
                group.permissions.values_list("content_type__app_label", "codename").order_by()
            )
            for group in Group.objects.all()
        },
        "rule_sets": sorted(rule_set.objects.values_list("version", "status", "params", "note")),
    }


def _describe(path: str) -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    left = [
        f"{migration.app_label}.{migration.name}"
        for migration, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())
    ]
    with connection.cursor() as cursor:
        schema = _postgres_schema(cursor) if connection.vendor == "postgresql" else _sqlite_schema(cursor)
    used = sorted(f"{app}.{name}" for app, name in executor.loader.graph.nodes if "_squashed_" in name)
    Path(path).write_text(
        json.dumps({"schema": schema, "rows": _rows(), "left_to_apply": left, "squashes_in_graph": used})
    )


def _main(way: str, path: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.migrations import executor

    from tests.migration_graph import OriginalsLoader

    loader = executor.MigrationLoader
    if way == "originals":
        executor.MigrationLoader = OriginalsLoader
    try:
        call_command("migrate", verbosity=0, interactive=False)
    finally:
        executor.MigrationLoader = loader
    _describe(path)


# --- the tests ----------------------------------------------------------------------------------


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres", "postgis")) else None


def _postgres_admin(url: str, statement: str) -> None:
    """A statement outside any transaction on the server's `postgres` database."""
    import environ
    import psycopg2

    config = environ.Env.db_url_config(url)
    admin = psycopg2.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
    )
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Both ways, each into a new database: {"squashed": description, "originals": description}."""
    postgres = _postgres_url()
    made = []
    described = {}
    try:
        for way in ("squashed", "originals"):
            folder = tmp_path_factory.mktemp(way)
            env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
            env |= {"XIAODAI_VAR_DIR": str(folder), "LOG_LEVEL": "WARNING"}
            env["DJANGO_SETTINGS_MODULE"] = "config.settings"
            if postgres:
                base, name = postgres.rsplit("/", 1)
                name = f"{name.split('?')[0]}_{way}"[:63]
                _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}"')
                _postgres_admin(postgres, f'CREATE DATABASE "{name}"')
                made.append(name)
                env["DATABASE_URL"] = f"{base}/{name}"
            else:
                env.pop("DATABASE_URL", None)
            out = folder / "described.json"
            done = subprocess.run(
                [sys.executable, "-m", "tests.test_migrations_squashed", way, str(out)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            described[way] = json.loads(out.read_text())
        yield described
    finally:
        for name in made:
            _postgres_admin(postgres, f'DROP DATABASE IF EXISTS "{name}"')


def test_a_new_database_is_migrated_through_the_squashed_migrations(built):
    used = {name.split(".")[0] for name in built["squashed"]["squashes_in_graph"]}
    assert used == set(SQUASHED_APPS)


def test_the_schema_is_the_same_both_ways(built):
    squashed, originals = built["squashed"]["schema"], built["originals"]["schema"]
    assert sorted(set(squashed) ^ set(originals)) == []
    assert {k: v for k, v in squashed.items() if originals[k] != v} == {}


def test_the_ledger_triggers_are_there_both_ways(built):
    for way in ("squashed", "originals"):
        triggers = {key.split()[1] for key in built[way]["schema"] if key.startswith("trigger ")}
        if _postgres_url():
            assert {"payments_entry_balanced", "payments_posting_entry_is_new"} <= triggers, way
            assert {"payments_posting_append_only", "payments_entry_append_only"} <= triggers, way
        else:
            assert {"payments_posting_no_update", "payments_entry_no_update"} <= triggers, way


def test_the_same_groups_permissions_content_types_and_seeded_rows(built):
    squashed, originals = built["squashed"]["rows"], built["originals"]["rows"]
    assert squashed["groups"], "the roles' groups are made by the migrations"
    assert squashed["rule_sets"], "the first rule set is made by the migrations"
    for part in ("content_types", "permissions", "groups", "rule_sets", "counts"):
        assert squashed[part] == originals[part], part


def test_a_database_migrated_through_the_originals_has_nothing_left_to_apply(built):
    assert built["originals"]["left_to_apply"] == []
    assert built["originals"]["squashes_in_graph"] == built["squashed"]["squashes_in_graph"]
    assert built["squashed"]["left_to_apply"] == []


if __name__ == "__main__":
    _main(*sys.argv[1:])
