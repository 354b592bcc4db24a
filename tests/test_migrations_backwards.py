"""`manage.py migrate` takes an app back to an original migration that a squash replaces, and
forward again, on SQLite and on PostgreSQL (DATABASE_URL), with the demo app or without it.

For such a target Django plans on the graph without the replacements, which must not replay a
squash beside its originals (the merchants squash deleted the simulator's old state a second
time: `KeyError: ('merchants', 'simulatorstate')`, whatever the app migrated back). One step back
per squashed app whose step unapplies little keeps the test short; migrating every app back past
its last three migrations was checked by hand when this was fixed (minutes on SQLite)."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

# The last original each squash replaces: one step back from the squash.
TARGETS = [
    ("payments", "0008_entry_balance_checked_once"),
    ("scoring", "0007_english_labels"),
    ("riskcontrol", "0014_partner_notice_reasons"),
]


def _unapplied() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@pytest.mark.django_db(transaction=True)
def test_an_app_migrates_back_to_an_original_a_squash_replaces_and_forward_again():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaced = {key for migration in loader.replacements.values() for key in migration.replaces}
    assert set(TARGETS) <= replaced
    for app, name in TARGETS:
        call_command("migrate", app, name, verbosity=0)
        left = _unapplied()
        assert left, f"{app} {name}: nothing was unapplied"
        assert not [m for m in left if m.startswith(f"{app}.") and m.split(".")[1] <= name], (app, name)
        call_command("migrate", verbosity=0)
        assert _unapplied() == [], (app, name)
