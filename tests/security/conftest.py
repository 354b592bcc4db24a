import secrets
import threading

from django.db import connection
from rest_framework.test import APIClient

from tests.merchants.factories import ApiKeyFactory


def partner_client_for(partner=None) -> APIClient:
    """A client holding a new live key of `partner` (or of a new partner)."""
    raw = f"xd_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    key = ApiKeyFactory(raw_key=raw, **({"partner": partner} if partner is not None else {}))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.partner = key.partner
    client.raw_key = raw
    return client


def at_once(calls, *, timeout: float = 120) -> list:
    """Run the calls in real threads released together; each thread has its own database
    connection (closed at the end). Returns each call's result or the exception it raised."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except BaseException as exc:  # reported to the test, which fails on it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a request never returned"
    return results
