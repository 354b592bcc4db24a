"""The partial index of open loans by next due date, dropped: its only reader was close of
business's due step, which reads its chunk's loans by id range anyway, and because the due step
moves `next_due_on`, every loan falling due was rewritten with a new entry in all of the loan
table's indexes (not in place), as were its later rewrites that night. Without it a loan's due
date, balances and spans change no indexed column: only status moves leave the page."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0019_loan_fillfactor"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="loan",
            name="loan_open_next_due",
        ),
    ]
