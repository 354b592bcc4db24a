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


@pytest.mark.django_db
def test_a_claim_bounds_its_own_wait_and_leaves_the_write_after_it_unbounded(settings):
    """The claim takes one round trip: the lock wait is bounded while it inserts and the bound
    lifted again for the write that follows (which waits on its own locks as it would)."""
    from django.db import connection, transaction

    from common.idempotency import _claim
    from common.models import IdempotencyRecord

    settings.IDEMPOTENCY_WAIT_SECONDS = 3
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('lock_timeout', '0', true)")
        claimed = _claim("p1", "loans.draw", "k-1", "f" * 64, {"amount": "ab"})
        again = _claim("p1", "loans.draw", "k-1", "f" * 64, {"amount": "ab"})
        if connection.vendor == "postgresql":
            cursor.execute("SHOW lock_timeout")
            assert cursor.fetchone()[0] == "0"
    assert claimed is not None and again is None
    record = IdempotencyRecord.objects.get(pk=claimed)
    assert (record.scope, record.endpoint, record.idempotency_key, record.response_status) == (
        "p1",
        "loans.draw",
        "k-1",
        0,
    )
