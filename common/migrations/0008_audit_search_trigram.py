"""The audit log's text search on PostgreSQL: a trigram index on the upper-cased object name, the
expression Django's `icontains` compares (`UPPER(object_repr) LIKE UPPER('%…%')`), so a search is
planned through it (with the object id's and correlation id's own indexes) instead of scanning the
whole log; the planner also learns how many rows a term matches, so a long result is counted from
its estimate (common.admin.PlannedCountPaginator). pg_trgm is a trusted extension: the database's
owner may create it. Building the index holds writes to the log for its duration (about 10 s at
692,679 rows). Nothing on SQLite."""

from django.db import migrations

INDEX = "auditlog_logentry_repr_trgm"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON auditlog_logentry USING gin (UPPER(object_repr) gin_trgm_ops)"
    )


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0017_add_actor_email"),
        ("common", "0007_permission_names_refreshed"),
    ]

    operations = [migrations.RunPython(index_create, index_drop)]
