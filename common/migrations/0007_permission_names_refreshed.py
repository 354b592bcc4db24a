"""Permission rows created while the models' verbose names were bilingual keep those names (Django
names a permission only when it creates it): rename them from the models as they are now. Undone
as a no-op (the old names are not worth restoring)."""

from django.db import migrations


def refresh(apps, schema_editor):
    from common.permission_names import permission_names_refresh

    permission_names_refresh(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("common", "0006_job_lock"),
        ("lending", "0011_loan_indexes_without_pattern_copies"),
        ("merchants", "0011_english_labels"),
        ("payments", "0008_entry_balance_checked_once"),
        ("riskcontrol", "0013_english_labels"),
        ("scoring", "0007_english_labels"),
    ]

    operations = [migrations.RunPython(refresh, migrations.RunPython.noop, elidable=True)]
