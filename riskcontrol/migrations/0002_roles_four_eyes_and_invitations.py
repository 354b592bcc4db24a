"""The roles again, now that approval requests (four eyes) and portal invitations exist: risk
managers, finance and administrators approve requests; officers see them and invite merchants."""

from django.db import migrations

from common.roles import roles_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("riskcontrol", "0001_roles"),
        ("common", "0002_approval_request"),
        ("merchants", "0004_portal_access"),
    ]

    operations = [migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True)]
