"""The ledger's balance check once per journal entry instead of once per posting (PostgreSQL).

Until now every posting queued a deferred trigger that summed its whole entry at commit, so an
entry of six legs was summed six times (about 275,000 checks in a close of business over a
million loans). Now:
- the entry's own deferred trigger (one per entry inserted) checks, at commit, that it has at
  least two postings and that they sum to zero: every posting added in the entry's transaction
  is counted, whatever statement added it;
- postings can only be added in the transaction that inserted their entry: a statement-level
  trigger on the postings (one call per INSERT statement, reading the statement's new rows)
  refuses postings for an entry that an earlier, committed transaction wrote, so an entry that
  balanced at its commit cannot be unbalanced later. "Written by this transaction" is the entry
  row's xmin being this transaction's or one of its subtransactions' (savepoints), asked of
  `pg_xact_status`.
SQLite has no deferred triggers; there, balance stays the services' job (migration 0002)."""

from django.db import migrations

POSTGRES = [
    "DROP TRIGGER IF EXISTS payments_posting_balanced ON payments_posting",
    "DROP TRIGGER IF EXISTS payments_entry_not_empty ON payments_journalentry",
    "DROP FUNCTION IF EXISTS payments_entry_must_balance()",
    "DROP FUNCTION IF EXISTS payments_entry_has_postings()",
    """
    CREATE OR REPLACE FUNCTION payments_entry_balances() RETURNS trigger AS $$
    DECLARE
        total numeric;
        legs integer;
    BEGIN
        SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) INTO total, legs
          FROM payments_posting WHERE entry_id = NEW.id;
        IF total <> 0 OR legs < 2 THEN
            RAISE EXCEPTION 'journal entry % does not balance: % posting(s) summing to %',
                NEW.id, legs, total USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE CONSTRAINT TRIGGER payments_entry_balanced
        AFTER INSERT ON payments_journalentry DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION payments_entry_balances();
    """,
    # Whether a row's xmin is this transaction's (or a subtransaction's): the 32-bit xid widened
    # to a full one beside the current transaction's (xids of one transaction tree are close
    # together), then asked of the commit log. Frozen and bootstrap xids (< 3) are old.
    """
    CREATE OR REPLACE FUNCTION payments_written_by_this_transaction(x xid) RETURNS boolean AS $$
    DECLARE
        top bigint := pg_current_xact_id()::text::bigint;
        low bigint := x::text::bigint;
        d bigint;
    BEGIN
        IF low < 3 THEN
            RETURN false;
        END IF;
        d := low - (top & 4294967295);
        IF d >= 2147483648 THEN
            d := d - 4294967296;
        ELSIF d < -2147483648 THEN
            d := d + 4294967296;
        END IF;
        RETURN top + d > 0
           AND pg_xact_status((top + d)::text::xid8) IS NOT DISTINCT FROM 'in progress';
    END $$ LANGUAGE plpgsql STABLE;
    """,
    """
    CREATE OR REPLACE FUNCTION payments_postings_join_new_entries() RETURNS trigger AS $$
    DECLARE
        old_entry bigint;
    BEGIN
        SELECT e.id INTO old_entry
          FROM (SELECT DISTINCT entry_id FROM added) AS a
          JOIN payments_journalentry e ON e.id = a.entry_id
         WHERE NOT payments_written_by_this_transaction(e.xmin)
         LIMIT 1;
        IF old_entry IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % was posted earlier; postings are added only with their entry',
                old_entry USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER payments_posting_entry_is_new
        AFTER INSERT ON payments_posting REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION payments_postings_join_new_entries();
    """,
]

# Back to migration 0002's triggers.
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS payments_posting_entry_is_new ON payments_posting",
    "DROP TRIGGER IF EXISTS payments_entry_balanced ON payments_journalentry",
    "DROP FUNCTION IF EXISTS payments_postings_join_new_entries()",
    "DROP FUNCTION IF EXISTS payments_written_by_this_transaction(xid)",
    "DROP FUNCTION IF EXISTS payments_entry_balances()",
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
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("payments", "0007_ledger_totals")]

    operations = [migrations.RunPython(_run(POSTGRES), _run(POSTGRES_REVERSE), elidable=True)]
