"""Room on each page for the rows close of business rewrites every night.

Close of business rewrites nearly every open loan each night (the accrual), changing no indexed
column for all but the few whose status moves. PostgreSQL then updates a row in place (a HOT
update: no new entry in any of the loan table's indexes) only if the row's page has room for
the new version. Filled to 100 %, no page had: every accrued loan wrote a new entry into every
index. Filled to 45 %, a page keeps room for each of its rows to be rewritten once in a night
and a couple of them two or three times (those that fall due or pay the same day); the table
takes about as much room as the nightly rewrites left it anyway (half of it dead rows after each
close). The installments and credit lines that a day's deductions pay change no indexed column
either, a few of each per page a day: 10 % and 15 % of room keep those updates in place too.

Existing rows move to pages laid out this way as they are next rewritten (the first close after
this migration); the tables are not rewritten here. SQLite has no such setting."""

from django.db import migrations

FILLFACTORS = {"lending_loan": 45, "lending_installment": 90, "lending_creditline": 85}


def fillfactor_set(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, fillfactor in FILLFACTORS.items():
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")


def fillfactor_reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in FILLFACTORS:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0018_application_newest"),
    ]

    operations = [
        migrations.RunPython(fillfactor_set, fillfactor_reset),
    ]
