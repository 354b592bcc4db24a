"""The migration graph `manage.py migrate` plans on, fit to migrate back to an original migration
that a squash replaces.

To reach such a target Django loads the graph again without the replacements; but the squashes
stay in that graph as leaves beside the originals they replace, and (recorded as applied) both
are replayed to build the project state: a model the squash deletes is deleted twice, and the
migration fails (`KeyError: ('merchants', 'simulatorstate')`, from the merchants squash that
deletes the simulator's old state). Loaded without the replacements, the graph here holds the
originals alone, as it does for a squash only part of whose originals are applied."""

from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader


class SquashAwareLoader(MigrationLoader):
    """A MigrationLoader that, when told not to replace (`replace_migrations = False`), drops the
    squashes from the graph and from the applied migrations, leaving their originals."""

    def build_graph(self):
        super().build_graph()
        if self.replace_migrations:
            return
        for key, migration in self.replacements.items():
            if key in self.graph.node_map:
                # Whatever depended on the squash now depends on the last original it replaces.
                self.graph.remove_replacement_node(key, migration.replaces)
            self.applied_migrations.pop(key, None)
        self.graph.ensure_not_cyclic()


class SquashAwareExecutor(MigrationExecutor):
    def __init__(self, connection, progress_callback=None):
        super().__init__(connection, progress_callback)
        self.loader = SquashAwareLoader(self.connection)
