"""Hostile `Xiaodai-Signature` headers from a partner whose key signs: each refusal is a 401
problem naming the header at fault (`Xiaodai-Signature`, not `Authorization`, whose key is
fine), nothing is written, and a signature of characters outside ASCII (a WSGI server hands
header bytes over as Latin-1) is refused like any other wrong one, never a 500."""

import json
import time
import uuid

import pytest
from django.test import Client

from merchants.api.auth import SIGNATURE_WINDOW_SECONDS, sign
from tests.api.test_bad_input import PROBLEM, _counts
from tests.merchants.factories import ApiKeyFactory, MerchantFactory

SECRET = "test-signing-secret"  # the factory's
BODY = json.dumps({"merchant": "SHOP-S", "product": "credit_loan", "amount": "2000.00"}).encode()


@pytest.fixture
def signing_key(db):
    raw = f"xd_{uuid.uuid4().hex[:8]}_" + "s" * 40
    key = ApiKeyFactory(raw_key=raw, requires_signature=True)
    MerchantFactory(partner=key.partner, external_id="SHOP-S")
    return raw


def _post(raw: str, signature: str):
    return Client(raise_request_exception=False).post(
        "/api/v1/applications/",
        BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
        HTTP_IDEMPOTENCY_KEY="sig-1",
        HTTP_XIAODAI_SIGNATURE=signature,
    )


def _refused_naming_the_signature(response) -> None:
    assert response.status_code == 401, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert [error["field"] for error in body["errors"]] == ["Xiaodai-Signature"], body
    assert body["detail"] and body["status"] == 401


def _now() -> int:
    return int(time.time())


CASES = {
    "digest of latin-1 letters": lambda: f"t={_now()},v1=" + "é" * 64,
    "digest of a latin-1 letter among hex": lambda: f"t={_now()},v1=" + "a" * 63 + "\xff",
    "digest not hex": lambda: f"t={_now()},v1=" + "z" * 64,
    "no digest": lambda: f"t={_now()}",
    "no timestamp": lambda: "v1=" + "a" * 64,
    "timestamp of unicode digits": lambda: "t=١٢٣,v1=" + "a" * 64,
    "stale": lambda: sign(SECRET, BODY, _now() - SIGNATURE_WINDOW_SECONDS - 60),
    "from the future": lambda: sign(SECRET, BODY, _now() + SIGNATURE_WINDOW_SECONDS + 60),
    "another body": lambda: sign(SECRET, b"{}", _now()),
    "another secret": lambda: sign("not-the-secret", BODY, _now()),
    "nonsense": lambda: "nonsense",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_signature_is_a_401_naming_the_header_and_writes_nothing(signing_key, case):
    before = _counts()
    _refused_naming_the_signature(_post(signing_key, CASES[case]()))
    assert _counts() == before


def test_a_missing_signature_names_the_header(signing_key):
    response = Client().post(
        "/api/v1/applications/",
        BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {signing_key}",
        HTTP_IDEMPOTENCY_KEY="sig-1",
    )
    _refused_naming_the_signature(response)


def test_a_replayed_signature_names_the_header(signing_key):
    signature = sign(SECRET, BODY, _now())
    assert _post(signing_key, signature).status_code != 401
    _refused_naming_the_signature(_post(signing_key, signature))


def test_a_bad_key_still_names_authorization(signing_key):
    response = _post("xd_nobody_" + "x" * 40, sign(SECRET, BODY, _now()))
    assert response.status_code == 401
    assert [error["field"] for error in response.json()["errors"]] == ["Authorization"]
