"""A withdrawal's business date (`Payout.requested_on`): the portal shows it beside the
business-dated movements instead of the wall clock's `created_at`.

Rows written before it get, in set-based statements:
- a confirmed payout: the business date of its journal entry (written when the channel confirmed,
  the request's own day or the next);
- the others: the wall-clock date of `created_at` in the platform's time zone, but no later than
  the current business date (in production the two clocks agree; in a demo whose business date
  is behind the calendar the request cannot lie after the business date it was made on)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone


def fill_requested_on(apps, schema_editor):
    Payout = apps.get_model("payments", "Payout")
    Hold = apps.get_model("payments", "Hold")
    BusinessCalendar = apps.get_model("common", "BusinessCalendar")
    db = schema_editor.connection.alias
    payouts = Payout.objects.using(db)
    payouts.filter(hold__entry__isnull=False).update(
        requested_on=Subquery(
            Hold.objects.using(db).filter(pk=OuterRef("hold_id")).values("entry__business_on")[:1]
        )
    )
    tz = timezone.get_default_timezone()
    payouts.filter(requested_on__isnull=True).update(requested_on=TruncDate("created_at", tzinfo=tz))
    calendar = BusinessCalendar.objects.using(db).filter(pk=1).first()
    if calendar is not None:
        payouts.filter(requested_on__gt=calendar.current_on).update(requested_on=calendar.current_on)
    _deferred_checks_now(schema_editor)


def _deferred_checks_now(schema_editor):
    """PostgreSQL: the updates queued deferred constraint checks, which would refuse the ALTER
    TABLE that follows in this transaction ("pending trigger events"): run them now."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0001_initial"),
        ("payments", "0008_entry_balance_checked_once"),
    ]

    operations = [
        migrations.AddField(
            model_name="payout",
            name="requested_on",
            field=models.DateField(null=True, help_text="business date of the request"),
        ),
        migrations.RunPython(fill_requested_on, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="payout",
            name="requested_on",
            field=models.DateField(help_text="business date of the request"),
        ),
    ]
