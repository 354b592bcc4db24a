"""The roles again: administrators see sign-in lockouts (django-axes) and lift them, which only a
superuser could do before."""

from django.db import migrations

from common.roles import roles_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("riskcontrol", "0007_cluster_params"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True)]
