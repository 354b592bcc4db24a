import os

import pytest
from django.db import connection

from tests.merchants.factories import ApiKeyFactory


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
