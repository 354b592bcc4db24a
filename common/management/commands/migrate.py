"""`manage.py migrate` planning on common.migration_graph's loader, so that migrating back to an
original migration a squash replaces (`migrate payments 0008`) works."""

from django.core.management.commands import migrate as django_migrate

from common.migration_graph import SquashAwareExecutor


class Command(django_migrate.Command):
    def handle(self, *args, **options):
        # Django's command builds its executor from this module-level name; it is ours for the
        # length of the command (a migrate runs alone in its process).
        django_executor = django_migrate.MigrationExecutor
        django_migrate.MigrationExecutor = SquashAwareExecutor
        try:
            return super().handle(*args, **options)
        finally:
            django_migrate.MigrationExecutor = django_executor
