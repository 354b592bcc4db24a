import os

import pytest
from django.apps import apps
from django.db import connection

from tests.merchants.factories import ApiKeyFactory

# The browser tests' fixtures (Chromium, pages, signing in), for every browser test wherever it lives.
pytest_plugins = ["tests.browser_support"]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgis")),
    reason="needs PostgreSQL (set DATABASE_URL): row locks, deferred constraints and real "
    "concurrency do not exist on SQLite, so the test would pass vacuously",
)
requires_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs a Redis server (set REDIS_URL)"
)
# The demo is an app apart (XIAODAI_DEMO=0 leaves it out, as production does): tests that need its
# marketplace or commands skip, and everything else must pass without it.
DEMO_SKIP_REASON = "needs the demo app, which XIAODAI_DEMO=0 leaves out (as a production install does)"
requires_demo = pytest.mark.skipif(not apps.is_installed("demo"), reason=DEMO_SKIP_REASON)


def skip_unless_demo() -> None:
    """For helpers that build data with the demo's simulator: skip the test calling them."""
    if not apps.is_installed("demo"):
        pytest.skip(DEMO_SKIP_REASON)


@pytest.fixture(autouse=True, scope="session")
def private_filesystem_broker(tmp_path_factory):
    """On the filesystem broker (no REDIS_URL), tests queue into their own folders, never into
    the demo's var/celery, where a running demo worker would pick their tasks up."""
    from config.celery import app

    if not app.conf.broker_url.startswith("filesystem"):
        yield
        return
    root = tmp_path_factory.mktemp("broker")
    folders = {name: root / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    original = app.conf.broker_transport_options
    app.conf.broker_transport_options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }
    yield
    app.conf.broker_transport_options = original


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in settings.LANGUAGE_CODE (zh-Hans) and leaves no language behind: a
    test asserting English words says so (Accept-Language, translation.override), never relies
    on a language an earlier test left active on the thread."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture
def partner_key(db):
    """A partner platform with a live API key: (ApiKey, raw key)."""
    raw = "xd_testkey1_" + "s" * 40
    key = ApiKeyFactory(raw_key=raw)
    return key, raw


@pytest.fixture
def partner_client(partner_key):
    from rest_framework.test import APIClient

    key, raw = partner_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.partner = key.partner
    return client
