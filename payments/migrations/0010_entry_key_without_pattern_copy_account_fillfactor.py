"""Less index and page work for what close of business writes every night.

- payments_journalentry.idempotency_key: unique by a constraint, without the varchar_pattern_ops
  copy of its index that PostgreSQL gets for a unique CharField (LIKE-prefix searches; no query
  of the application looks entries up by a prefix of their key, the admin's search is icontains,
  which no b-tree serves). Every entry written updated it. On PostgreSQL the copy is dropped and
  the existing unique constraint renamed to the model's (no new index is built); SQLite's table
  is left as it is (its column is already unique, and rebuilding the table would drop the
  ledger's triggers on it).
- payments_account keeps 20 % of each page free (fillfactor 80; PostgreSQL only, the table is not
  rewritten here): a wallet's balance changes no indexed column, so with room on its page the
  update stays in place (HOT) instead of writing a new entry into each of the table's four
  indexes. Existing rows move to pages laid out this way as they are rewritten (or at a
  VACUUM FULL)."""

from django.db import migrations, models

NAME = "journal_entry_idempotency_key_unique"
OLD_NAME = "payments_journalentry_idempotency_key_key"
PATTERN_COPY = "payments_journalentry_idempotency_key_e791de57_like"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # The unique constraint on the key alone, whatever it was named.
        cursor.execute(
            """SELECT c.conname FROM pg_constraint c
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
               WHERE c.conrelid = 'payments_journalentry'::regclass AND c.contype = 'u'
                 AND array_length(c.conkey, 1) = 1 AND a.attname = 'idempotency_key'"""
        )
        (name,) = cursor.fetchone()
    if name != NAME:
        schema_editor.execute(f'ALTER TABLE payments_journalentry RENAME CONSTRAINT "{name}" TO "{NAME}"')
    schema_editor.execute(f'DROP INDEX IF EXISTS "{PATTERN_COPY}"')
    schema_editor.execute("ALTER TABLE payments_account SET (fillfactor = 80)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE payments_account RESET (fillfactor)")
    schema_editor.execute(
        f'CREATE INDEX "{PATTERN_COPY}" ON payments_journalentry (idempotency_key varchar_pattern_ops)'
    )
    schema_editor.execute(f'ALTER TABLE payments_journalentry RENAME CONSTRAINT "{NAME}" TO "{OLD_NAME}"')


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_payout_requested_on"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="journalentry",
                    name="idempotency_key",
                    field=models.CharField(blank=True, max_length=128, null=True),
                ),
                migrations.AddConstraint(
                    model_name="journalentry",
                    constraint=models.UniqueConstraint(fields=("idempotency_key",), name=NAME),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
