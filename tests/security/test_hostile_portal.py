"""The merchant portal's money forms as a hostile (or merely stale) browser posts them: amounts
that are not plain yuan, a missing or forged agreement hash, a token that is not one the page
minted. Always a page that says what is wrong (a 4xx), never a 500, and no money moves."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from lending.models import Loan, LoanEvent
from payments.models import JournalEntry
from tests.api.conftest import world_build

BAD_AMOUNTS = ["1e5", "NaN", "-1", "１００", "0.001", "9" * 400, "0x10", "٣", ""]


@pytest.fixture
def seller(db):
    world = world_build()
    world.shop_a.user = User.objects.create_user("seller-a", password="x")
    world.shop_a.save(update_fields=["user"])
    client = Client(raise_request_exception=False)
    client.force_login(world.shop_a.user)
    return world, client


def _counts() -> tuple:
    return Loan.objects.count(), LoanEvent.objects.count(), JournalEntry.objects.count()


def _draw_cases(world) -> list[tuple[str, dict]]:
    good = {"amount": "1000.00", "contract_sha256": world.contract_sha256, "request_token": str(uuid.uuid4())}
    cases = [(f"amount={amount!r}", {**good, "amount": amount}) for amount in BAD_AMOUNTS]
    cases += [
        ("no amount", {key: value for key, value in good.items() if key != "amount"}),
        ("token not a uuid", {**good, "request_token": "not-a-uuid"}),
        ("no token", {key: value for key, value in good.items() if key != "request_token"}),
        ("hash not hex", {**good, "contract_sha256": "z" * 64}),
        ("nothing", {}),
    ]
    return cases


def test_a_stale_or_forged_drawdown_form_is_a_400_page_and_draws_nothing(seller):
    world, client = seller
    before = _counts()
    failures = []
    for name, data in _draw_cases(world):
        response = client.post(f"/loans/draw/{world.line.pk}/", data)
        if response.status_code != 400:
            failures.append(f"{name}: {response.status_code}")
        elif not response.context["quote_form"].non_field_errors():
            failures.append(f"{name}: the page does not ask for a new quote")
    assert not failures, failures
    assert _counts() == before


@pytest.mark.parametrize("path", ["/wallet/withdraw/", "repay"])
def test_hostile_amounts_on_the_other_money_forms_are_refused_not_500(seller, path):
    world, client = seller
    path = f"/loans/{world.loan.reference}/repay/" if path == "repay" else path
    before = _counts()
    codes = {
        amount: client.post(path, {"amount": amount, "request_token": str(uuid.uuid4())}).status_code
        for amount in [*BAD_AMOUNTS[:-1], "1.00\x00"]  # an empty repayment means "all that is owed"
    }
    assert all(code < 500 and code != 302 for code in codes.values()), codes
    assert _counts() == before
