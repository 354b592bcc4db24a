"""The audit log's text search finds an object by its English name too: a row keeps the name in
settings.LANGUAGE_CODE in `object_repr` (0008's trigram index) and in English, where it reads
otherwise, in `additional_data["names"]["en"]` (common.audit). A trigram index on that expression,
the one Django's `additional_data__names__en__icontains` compares, plans the search through it.
Nothing on SQLite."""

from django.db import migrations

INDEX = "auditlog_logentry_names_en_trgm"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON auditlog_logentry "
        "USING gin (UPPER((additional_data #>> '{names,en}'::text[])::text) gin_trgm_ops)"
    )


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("common", "0008_audit_search_trigram")]

    operations = [migrations.RunPython(index_create, index_drop)]
