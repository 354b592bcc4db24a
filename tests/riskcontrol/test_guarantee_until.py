"""A guarantee's end (`until_on`) is bounded: sent as a plain date, not before its start, at most
GUARANTEE_MAX_YEARS after it. Refused naming `guarantees.<n>.until_on` by the API, and by the
service, the model's own validation (any form) and the database for what each can check; nothing
of a refused batch is written."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings

from common.errors import ApplicationError
from merchants import partner_signals
from merchants.models import Guarantee, SignalReceipt
from tests.merchants.factories import MerchantFactory
from tests.security.conftest import partner_client_for

SINCE = "2026-01-15"


@pytest.fixture
def setup(db):
    client = partner_client_for()
    borrower = MerchantFactory(partner=client.partner, external_id="BORROWER")
    guarantor = MerchantFactory(partner=client.partner, external_id="GUARANTOR")
    return client, borrower, guarantor


def guarantee(n: int = 1, **changes) -> dict:
    return {
        "id": f"G-{n}",
        "borrower_id": "BORROWER",
        "guarantor_id": "GUARANTOR",
        "amount": "1000.00",
        "since_on": SINCE,
        **changes,
    }


def post(client, *items):
    return client.post("/api/v1/guarantees/", {"guarantees": list(items)}, format="json")


def refused_naming(response, field: str) -> str:
    assert response.status_code == 400, response.content[:300]
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == [field], problem
    return problem["errors"][0]["message"]


@pytest.mark.parametrize(
    "until_on",
    [
        "9999-12-31",
        "2031-01-16",  # a day past five years
        "2100-01-01",
        "2026-01-14",  # before since_on
        "1999-12-31",
        "２０２６-02-01",
        "2026-2-1",
        "2026-02-30",
        20260201,
        "",
        "2026-02-01T00:00:00Z",
    ],
)
def test_an_out_of_range_or_malformed_end_is_refused_naming_it(setup, until_on):
    client, *_ = setup
    response = post(client, guarantee(0), guarantee(1, until_on=until_on))
    refused_naming(response, "guarantees.1.until_on")
    assert not Guarantee.objects.exists() and not SignalReceipt.objects.exists()


def test_the_longest_end_allowed_is_the_configured_maximum(setup):
    client, *_ = setup
    assert post(client, guarantee(1, until_on="2031-01-15")).status_code == 200
    assert Guarantee.objects.get().until_on == dt.date(2031, 1, 15)
    with override_settings(GUARANTEE_MAX_YEARS=1):
        message = refused_naming(post(client, guarantee(2, until_on="2027-01-16")), "guarantees.0.until_on")
        assert "at most 1 years after since_on" in message and "2027-01-15" in message
        assert post(client, guarantee(3, until_on="2027-01-15")).status_code == 200


def test_a_guarantee_resent_to_end_it_is_bounded_too(setup):
    client, *_ = setup
    assert post(client, guarantee(1)).status_code == 200
    refused_naming(post(client, guarantee(1, until_on="3026-01-15")), "guarantees.0.until_on")
    assert Guarantee.objects.get().until_on is None
    assert post(client, guarantee(1, until_on="2026-03-01")).json()["updated"] == 1


def test_the_service_and_the_model_refuse_it_too(setup):
    client, borrower, guarantor = setup
    item = {
        "id": "G-9",
        "borrower_id": "BORROWER",
        "guarantor_id": "GUARANTOR",
        "amount_fen": 100_000,
        "since_on": dt.date(2026, 1, 15),
        "until_on": dt.date(2040, 1, 1),
    }
    with pytest.raises(ApplicationError) as refused:
        partner_signals.guarantees_record_batch(partner=client.partner, guarantees=[item])
    assert list(refused.value.extra["fields"]) == ["guarantees.0.until_on"]
    row = Guarantee(
        borrower=borrower,
        guarantor=guarantor,
        amount_fen=100_000,
        since_on=dt.date(2026, 1, 15),
        until_on=dt.date(2040, 1, 1),
    )
    with pytest.raises(ValidationError) as invalid:
        row.full_clean()
    assert "until_on" in invalid.value.message_dict
    row.until_on = dt.date(2026, 1, 1)
    with pytest.raises(ValidationError):
        row.full_clean()
    # The database keeps an end before the start out whatever writes it.
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
    assert not Guarantee.objects.exists()
