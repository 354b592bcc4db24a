"""A loan agreement's business date of acceptance (`Contract.accepted_on`): the portal and the
agreement show it beside the loan's business dates; `accepted_at` stays the wall clock's record.

An agreement is accepted with its drawdown, in the same transaction that disburses the loan on
that business date, so rows written before it take their loan's `disbursed_on` (one statement)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_accepted_on(apps, schema_editor):
    Contract = apps.get_model("lending", "Contract")
    Loan = apps.get_model("lending", "Loan")
    db = schema_editor.connection.alias
    Contract.objects.using(db).update(
        accepted_on=Subquery(Loan.objects.using(db).filter(pk=OuterRef("loan_id")).values("disbursed_on")[:1])
    )
    _deferred_checks_now(schema_editor)


def _deferred_checks_now(schema_editor):
    """PostgreSQL: the updates queued deferred constraint checks, which would refuse the ALTER
    TABLE that follows in this transaction ("pending trigger events"): run them now."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [("lending", "0021_cob_run_and_promise_names")]

    operations = [
        migrations.AddField(
            model_name="contract",
            name="accepted_on",
            field=models.DateField(null=True, help_text="business date of the acceptance"),
        ),
        migrations.RunPython(fill_accepted_on, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="contract",
            name="accepted_on",
            field=models.DateField(help_text="business date of the acceptance"),
        ),
        migrations.AlterField(
            model_name="contract",
            name="accepted_at",
            field=models.DateTimeField(help_text="wall clock (calendar) time of the acceptance"),
        ),
    ]
