"""The platform's roles as groups with their permissions (common/roles.py), created here rather
than by the demo, so a production install has them too."""

from django.db import migrations

from common.roles import roles_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("common", "0001_initial"),
        ("merchants", "0003_delete_simulatorstate"),
        ("payments", "0004_payout_waiting_index"),
        ("lending", "0006_applications"),
        ("scoring", "0005_nightly_runs"),
    ]

    operations = [migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True)]
