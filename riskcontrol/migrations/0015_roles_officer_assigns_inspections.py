"""The roles again: a loan officer who sends a case to field inspection gives the visit to an
inspector (lending.add_fieldinspection), so the case no longer waits in the field queue with
nobody able to assign it."""

from django.db import migrations

from common.roles import roles_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("riskcontrol", "0014_partner_notice_reasons"),
        ("lending", "0018_application_newest"),
    ]

    operations = [migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True)]
