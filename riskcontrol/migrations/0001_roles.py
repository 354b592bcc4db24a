"""The platform's roles as groups with their permissions (common/roles.py), created here rather
than by the demo, so a production install has them too."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from common.roles import roles_sync


def roles_create(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); make sure every
    # model's exist now, so that the roles can be given them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    roles_sync(apps=apps)


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

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
