"""The roles again, now that the portfolio's stored figures (scoring) and long jobs (common) have
their models: risk managers and administrators see them as their patterns say."""

from django.db import migrations

from common.roles import roles_migrate


class Migration(migrations.Migration):
    dependencies = [
        ("riskcontrol", "0011_warning_cash_sweep"),
        ("scoring", "0006_portfolio_snapshot"),
        ("common", "0004_job"),
    ]

    operations = [migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True)]
