"""One rule for the partner API's Idempotency-Key header, whichever endpoint takes it."""

import pytest
from rest_framework.test import APIRequestFactory

from common.errors import ApplicationError
from common.idempotency import MAX_LENGTH, idempotency_key_from
from merchants.models import Settlement
from tests.merchants.factories import MerchantFactory


def header(value: str | None):
    headers = {} if value is None else {"HTTP_IDEMPOTENCY_KEY": value}
    return APIRequestFactory().post("/", **headers)


@pytest.mark.parametrize("value", ["k", "a" * MAX_LENGTH, "  draw-2026-01-15:ab_C~9  "])
def test_keys_of_visible_characters_up_to_the_limit_are_taken_as_sent(value):
    assert idempotency_key_from(header(value)) == value.strip()


@pytest.mark.parametrize("value", [None, "", "   ", "a" * (MAX_LENGTH + 1), "two words", "ключ", "tab\tkey"])
def test_other_keys_are_refused_naming_the_header(value):
    with pytest.raises(ApplicationError) as refused:
        idempotency_key_from(header(value))
    assert "Idempotency-Key" in refused.value.extra["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(("length", "expected"), [(MAX_LENGTH, 201), (MAX_LENGTH + 1, 400)])
def test_settlements_and_loans_take_the_same_keys(partner_client, length, expected):
    MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    key = "k" * length
    body = {"id": "ST-1", "merchant_id": "SHOP-1", "amount": "15.00", "settled_on": "2026-01-15"}
    api = {"format": "json", "HTTP_IDEMPOTENCY_KEY": key}
    settlement = partner_client.post("/api/v1/settlements/", body, **api)
    repayment = partner_client.post("/api/v1/loans/L1/repayments/", {}, **api)

    assert settlement.status_code == expected
    assert Settlement.objects.exists() == (expected == 201)
    if expected == 400:
        assert "Idempotency-Key" in settlement.json()["error"]["fields"]
        assert "Idempotency-Key" in repayment.json()["error"]["fields"]
    else:
        assert repayment.status_code == 404  # the key passed; the loan is unknown
