"""The velocity limit per device joins the active and the draft rule set with its default, so the
workbench shows and edits it and decisions record it."""

from django.db import migrations

DEVICE_DEFAULTS = {"velocity_max_device": 8}


def add_device_param(apps, schema_editor):
    rule_set = apps.get_model("riskcontrol", "RuleSet")
    for row in rule_set.objects.filter(status__in=("active", "draft")):
        missing = {k: v for k, v in DEVICE_DEFAULTS.items() if k not in row.params}
        if missing:
            row.params = {**row.params, **missing}
            row.save(update_fields=["params"])


class Migration(migrations.Migration):
    dependencies = [("riskcontrol", "0009_partner_notice_told_by_webhook")]

    operations = [migrations.RunPython(add_device_param, migrations.RunPython.noop, elidable=True)]
