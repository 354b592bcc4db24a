"""A NUL character in a request header (the API key, the Idempotency-Key, the signature, the
browser's User-Agent that the login audit keeps): no database stores one in text, so it is a 400
naming the header before anything reads it, never a 500 from the database."""

import pytest
from django.test import Client

from tests.api.conftest import KEY_A, world_build
from tests.api.test_bad_input import _problem_naming


@pytest.fixture
def world(db):
    return world_build()


HEADERS = {
    "Authorization": ("HTTP_AUTHORIZATION", "Api-Key xd_part\x00nera_" + "a" * 40),
    "Idempotency-Key": ("HTTP_IDEMPOTENCY_KEY", "key\x00one"),
    "Xiaodai-Signature": ("HTTP_XIAODAI_SIGNATURE", "t=1\x00,v1=" + "a" * 64),
    "User-Agent": ("HTTP_USER_AGENT", "Mozilla/5.0\x00"),
}


@pytest.mark.parametrize("header", list(HEADERS))
def test_a_nul_in_an_api_request_header_is_a_400_naming_it(world, header):
    meta, value = HEADERS[header]
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {KEY_A}", meta: value}
    client = Client(raise_request_exception=False)
    response = client.post(
        "/api/v1/applications/",
        {"merchant": "SHOP-A", "product": "credit_loan", "amount": "2000.00"},
        content_type="application/json",
        **{"HTTP_IDEMPOTENCY_KEY": "k-1", **headers},
    )
    assert _problem_naming(response, header) is None
    assert response.status_code == 400


def test_a_nul_in_the_user_agent_of_a_portal_login_is_a_400(db):
    client = Client(raise_request_exception=False)
    response = client.post(
        "/login/", {"username": "nobody", "password": "wrong"}, HTTP_USER_AGENT="Mozilla/5.0\x00"
    )
    assert response.status_code == 400
