"""The embedded database under test: a live server thread, an in-process Celery worker and the test
itself write to one SQLite database at once. Each must wait its turn (busy timeout, WAL), not fail
with "database table is locked" as Django's shared-cache in-memory test database does."""

import threading

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import close_old_connections, connection, transaction

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's own locking; PostgreSQL locks rows"
)


def test_the_test_database_is_a_file_not_shared_cache_memory():
    name = str(settings.DATABASES["default"]["TEST"]["NAME"])
    assert "memory" not in name and name.endswith(".sqlite3")


@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_for_the_first_instead_of_failing():
    first_holds_lock = threading.Event()
    release = threading.Event()
    errors = []

    def first_writer():
        try:
            with transaction.atomic():
                Group.objects.create(name="first")
                first_holds_lock.set()
                release.wait(timeout=10)
        except Exception as exc:  # reported to the test's thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert first_holds_lock.wait(timeout=10)
    # Reading while the other thread writes works at once (WAL).
    assert not Group.objects.filter(name="first").exists()
    # Writing waits on the busy timeout until the first commits, then succeeds.
    threading.Timer(0.3, release.set).start()
    with transaction.atomic():
        Group.objects.create(name="second")
    thread.join(timeout=10)
    assert errors == []
    assert set(Group.objects.values_list("name", flat=True)) >= {"first", "second"}
