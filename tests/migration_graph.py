"""The migration graph as it was before the squashed migrations: for tests that migrate a database
back to one of the originals a squash replaces, to try that original's data step on old rows."""

from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader


class OriginalsLoader(MigrationLoader):
    """A MigrationLoader that ignores the squashed migrations (those with `replaces`)."""

    def load_disk(self):
        super().load_disk()
        for key, migration in list(self.disk_migrations.items()):
            if migration.replaces:
                del self.disk_migrations[key]


def originals_executor(connection) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader = OriginalsLoader(connection)
    return executor
