"""An application's business date of decision (`Application.decided_on`): the partner API, the
`application.decided` webhook, the workbench and the portal show it beside `submitted_on`;
`decided_at` stays the calendar time of the decision (the fulfilment sweep counts from it).

Decided rows written before it (those with a `decided_at`) are filled in set-based statements:
- from the history row the decision wrote (`ApplicationChange`, event `approved` or `declined`):
  its `business_on` is the business date passed to the decision, the very date this field
  records (the latest such row, should there be more than one);
- a decided row without one (none is expected): the calendar date of `decided_at` in the
  platform's time zone, no earlier than the application's `submitted_on` and no later than the
  current business date (in production the clocks agree; in a demo whose business date is behind
  the calendar, a decision cannot lie after the business date it was made on nor before the
  application was submitted).
Undecided rows stay null."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Greatest, Least, TruncDate
from django.utils import timezone


def fill_decided_on(apps, schema_editor):
    Application = apps.get_model("lending", "Application")
    ApplicationChange = apps.get_model("lending", "ApplicationChange")
    BusinessCalendar = apps.get_model("common", "BusinessCalendar")
    db = schema_editor.connection.alias
    decided = Application.objects.using(db).filter(decided_at__isnull=False)
    decisions = ApplicationChange.objects.using(db).filter(
        application_id=OuterRef("pk"), kind__in=("approved", "declined"), business_on__isnull=False
    )
    decided.update(decided_on=Subquery(decisions.order_by("-changed_at", "-pk").values("business_on")[:1]))
    calendar_date = TruncDate("decided_at", tzinfo=timezone.get_default_timezone())
    calendar = BusinessCalendar.objects.using(db).filter(pk=1).first()
    if calendar is not None:
        calendar_date = Least(calendar_date, Value(calendar.current_on, output_field=models.DateField()))
    decided.filter(decided_on__isnull=True).update(decided_on=Greatest(calendar_date, F("submitted_on")))


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0001_initial"),
        ("lending", "0023_loan_merchant_index_dropped"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="decided_on",
            field=models.DateField(blank=True, null=True, help_text="business date of the decision"),
        ),
        migrations.RunPython(fill_decided_on, migrations.RunPython.noop, elidable=True),
    ]
