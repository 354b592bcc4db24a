"""The thresholds of the cluster rule (linked new shops applying together) join the active and
the draft rule set with their defaults, which is what the stage used for a set without them: the
decisions stay the same, and the workbench shows and edits the new thresholds."""

from django.db import migrations

CLUSTER_DEFAULTS = {"cluster_window_days": 30, "cluster_new_shop_days": 365, "cluster_min_shops": 3}


def add_cluster_params(apps, schema_editor):
    rule_set = apps.get_model("riskcontrol", "RuleSet")
    for row in rule_set.objects.filter(status__in=("active", "draft")):
        missing = {k: v for k, v in CLUSTER_DEFAULTS.items() if k not in row.params}
        if missing:
            row.params = {**row.params, **missing}
            row.save(update_fields=["params"])


class Migration(migrations.Migration):
    dependencies = [("riskcontrol", "0006_signal_warnings")]

    operations = [migrations.RunPython(add_cluster_params, migrations.RunPython.noop, elidable=True)]
