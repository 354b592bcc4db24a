"""The roles again: loan officers record guarantees, risk managers enter and end them, collections
agents read them (common/roles.py)."""

from django.db import migrations

from common.roles import roles_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0015_category_region_codes"),
        ("riskcontrol", "0014_partner_notice_reasons"),
    ]

    operations = [migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True)]
