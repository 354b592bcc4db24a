"""The ledger's invariants in the database itself, so they hold even when the ORM is bypassed:
entries balance (checked at commit on PostgreSQL), postings are never updated or deleted."""

from django.db import migrations

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION payments_entry_must_balance() RETURNS trigger AS $$
    DECLARE
        entry bigint := NEW.entry_id;
        total numeric;
        legs integer;
    BEGIN
        SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) INTO total, legs
          FROM payments_posting WHERE entry_id = entry;
        IF total <> 0 OR legs < 2 THEN
            RAISE EXCEPTION 'journal entry % does not balance: % posting(s) summing to %',
                entry, legs, total USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE CONSTRAINT TRIGGER payments_posting_balanced
        AFTER INSERT ON payments_posting DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION payments_entry_must_balance();
    """,
    """
    CREATE OR REPLACE FUNCTION payments_entry_has_postings() RETURNS trigger AS $$
    DECLARE legs integer;
    BEGIN
        SELECT COUNT(*) INTO legs FROM payments_posting WHERE entry_id = NEW.id;
        IF legs < 2 THEN
            RAISE EXCEPTION 'journal entry % has % posting(s); it needs at least two', NEW.id, legs
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE CONSTRAINT TRIGGER payments_entry_not_empty
        AFTER INSERT ON payments_journalentry DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION payments_entry_has_postings();
    """,
    """
    CREATE OR REPLACE FUNCTION payments_ledger_is_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% rows are never updated or deleted; post a reversing entry', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER payments_posting_append_only BEFORE UPDATE OR DELETE ON payments_posting
        FOR EACH ROW EXECUTE FUNCTION payments_ledger_is_append_only();
    """,
    """
    CREATE TRIGGER payments_entry_append_only BEFORE UPDATE OR DELETE ON payments_journalentry
        FOR EACH ROW EXECUTE FUNCTION payments_ledger_is_append_only();
    """,
]

POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS payments_entry_append_only ON payments_journalentry",
    "DROP TRIGGER IF EXISTS payments_posting_append_only ON payments_posting",
    "DROP TRIGGER IF EXISTS payments_entry_not_empty ON payments_journalentry",
    "DROP TRIGGER IF EXISTS payments_posting_balanced ON payments_posting",
    "DROP FUNCTION IF EXISTS payments_ledger_is_append_only()",
    "DROP FUNCTION IF EXISTS payments_entry_has_postings()",
    "DROP FUNCTION IF EXISTS payments_entry_must_balance()",
]

# SQLite has no deferred triggers, so balance is the services' job there. It refuses updates;
# deletes stay possible on SQLite because Django's test flush and a demo rebuild empty tables
# with DELETE (PostgreSQL empties them with TRUNCATE, which row triggers do not see).
SQLITE = [
    """
    CREATE TRIGGER payments_posting_no_update BEFORE UPDATE ON payments_posting
    BEGIN SELECT RAISE(ABORT, 'postings are never updated; post a reversing entry'); END
    """,
    """
    CREATE TRIGGER payments_entry_no_update BEFORE UPDATE ON payments_journalentry
    BEGIN SELECT RAISE(ABORT, 'journal entries are never updated; post a reversing entry'); END
    """,
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS payments_posting_no_update",
    "DROP TRIGGER IF EXISTS payments_entry_no_update",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
            elidable=True,
        )
    ]
