import os

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _queries_unrecorded(sender, connection, **kwargs) -> None:
    """While `make run` builds the demo (XIAODAI_SQLITE_BUILD=1, DEBUG on), the connection's
    cursors do not record every query: under DEBUG, Django keeps each statement with its
    parameters quoted for display, which on SQLite is one more statement per statement run (a
    `SELECT QUOTE(?)`), for a log nobody reads during the build. A block that asks for the
    queries (`CaptureQueriesContext`, `force_debug_cursor`) still gets them."""
    if connection.vendor != "sqlite":
        return
    recording = connection.make_debug_cursor

    def make_debug_cursor(cursor):
        return recording(cursor) if connection.force_debug_cursor else connection.make_cursor(cursor)

    connection.make_debug_cursor = make_debug_cursor


class DemoConfig(AppConfig):
    """The demo: the marketplace simulator, its borrowers, logins and commands. It stands above
    the production apps and listens to the hooks they offer; none of them imports it, and a
    production install leaves it out of INSTALLED_APPS (XIAODAI_DEMO=0)."""

    name = "demo"
    verbose_name = "Demo"  # read in the reader's language (common.made_up_labels.OTHER_APPS)

    def ready(self) -> None:
        from demo import receivers  # noqa: F401 - connects the signal receivers

        if os.environ.get("XIAODAI_SQLITE_BUILD", "").lower() in ("1", "true", "yes", "on"):
            connection_created.connect(_queries_unrecorded, dispatch_uid="demo.build.queries_unrecorded")
