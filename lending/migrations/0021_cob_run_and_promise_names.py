"""Close-of-business runs and promises to pay named as people say them ("cob runs", "promise to
pays" before), and their permissions renamed after them (Django names a permission only when it
creates it). Undone as a no-op for the permissions' names."""

from django.db import migrations


def permissions_renamed(apps, schema_editor):
    from common.permission_names import permission_names_refresh

    permission_names_refresh(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("lending", "0020_loan_open_next_due_dropped"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="cobrun",
            options={
                "verbose_name": "close-of-business run",
                "verbose_name_plural": "close-of-business runs",
            },
        ),
        migrations.AlterModelOptions(
            name="promisetopay",
            options={"verbose_name": "promise to pay", "verbose_name_plural": "promises to pay"},
        ),
        migrations.RunPython(permissions_renamed, migrations.RunPython.noop, elidable=True),
    ]
