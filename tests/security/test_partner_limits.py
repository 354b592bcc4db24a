"""One partner cannot stop another's money: each partner's settlements clear through its own
ledger account, amounts are capped per partner, and no account can be pushed to the database's
integer limit (a refusal naming the amount, never a 500). Close of business runs on whatever one
partner has done."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from common.business_date import business_date_set, business_date_today
from lending import cob
from merchants.models import Settlement
from payments import bulk, ledger
from payments.models import Account, JournalEntry, Posting
from payments.reconciliation import reconcile
from tests.merchants.factories import MerchantFactory
from tests.security.conftest import partner_client_for

BIGINT_MAX = 2**63 - 1
TODAY = dt.date(2026, 3, 2)


def settle(client, settlement_id: str, amount: str, key: str | None = None):
    body = {"id": settlement_id, "merchant_id": "SHOP-1", "amount": amount, "settled_on": "2026-03-01"}
    return client.post("/api/v1/settlements/", body, format="json", HTTP_IDEMPOTENCY_KEY=key or settlement_id)


def clearing_of(entry_id: int) -> Account:
    """The account a settlement entry debited: the partner's clearing account."""
    return Posting.objects.select_related("account").get(entry_id=entry_id, amount_fen__gt=0).account


def craft_balance(debit: Account, credit: Account, amount_fen: int) -> None:
    """A balanced entry written straight into the tables (as years of traffic would leave them),
    past every check the services make."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on, "
            "created_at) VALUES ('settlement', %s, '', 'crafted', %s, %s) RETURNING id",
            [f"crafted:{debit.pk}", TODAY, timezone.now()],
        )
        (entry_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO payments_posting (entry_id, account_id, amount_fen) "
            "VALUES (%s, %s, %s), (%s, %s, %s)",
            [entry_id, debit.pk, amount_fen, entry_id, credit.pk, -amount_fen],
        )
        cursor.execute(
            "UPDATE payments_account SET balance_fen = balance_fen + %s WHERE id IN (%s, %s)",
            [amount_fen, debit.pk, credit.pk],
        )


def limit_fen() -> int:
    """As close to the integer limit as the ledger lets an account's balance go."""
    return getattr(ledger, "ACCOUNT_BALANCE_LIMIT_FEN", BIGINT_MAX)


@pytest.fixture
def two_partners(db, settings):
    settings.SETTLEMENT_CAPS_FEN = {"daily": BIGINT_MAX, "total": BIGINT_MAX}
    business_date_set(on=TODAY, allow_backwards=True)
    a, b = partner_client_for(), partner_client_for()
    for client in (a, b):
        MerchantFactory(partner=client.partner, external_id="SHOP-1")
    return a, b


def test_one_partner_at_the_integer_limit_stops_neither_another_partner_nor_close_of_business(two_partners):
    a, b = two_partners
    first = settle(a, "A-1", "10.00")
    assert first.status_code == 201
    clearing = clearing_of(first.json()["journal_entry"])
    wallet = Account.objects.get(merchant__partner=a.partner)
    # Partner A's flows brought right up to the limit, 1.00 yuan below it.
    craft_balance(clearing, wallet, limit_fen() - clearing.balance_fen - 100)

    theirs = settle(b, "B-1", "15.00")
    over = settle(a, "A-2", "2.00")

    assert theirs.status_code == 201, theirs.content
    assert over.status_code in (409, 422), over.content
    assert "amount" in over.json()["error"]["fields"]
    assert not Settlement.objects.filter(external_id="A-2").exists()
    run = cob.close_of_business(on=business_date_today())
    assert run.status == "done"
    assert reconcile().is_clean


def test_the_day_of_settlements_credits_every_partner_but_the_one_over_its_limit(two_partners):
    a, b = two_partners
    first = settle(a, "A-1", "10.00")
    clearing = clearing_of(first.json()["journal_entry"])
    craft_balance(clearing, Account.objects.get(merchant__partner=a.partner), limit_fen() - 1000 - 100)
    for client, settlement_id, amount_fen in ((a, "A-2", 500), (b, "B-1", 1500)):
        Settlement.objects.create(
            partner=client.partner,
            merchant=client.partner.merchants.get(),
            external_id=settlement_id,
            amount_fen=amount_fen,
            settled_on=TODAY,
        )

    bulk.settlements_credit(first_on=TODAY, last_on=TODAY)

    assert Account.objects.get(merchant__partner=b.partner).balance_fen == 1500
    assert not JournalEntry.objects.filter(reference="settlement A-2").exists()
    assert reconcile().is_clean


def test_no_account_can_be_posted_past_the_limit():
    assert limit_fen() < BIGINT_MAX // 4


def test_a_partner_is_capped_per_day_and_in_total(two_partners, settings):
    a, b = two_partners
    settings.SETTLEMENT_CAPS_FEN = {"daily": 10_000, "total": 25_000}
    assert settle(a, "A-1", "60.00").status_code == 201
    assert settle(a, "A-2", "40.00").status_code == 201

    over_day = settle(a, "A-3", "0.01")
    assert over_day.status_code == 409 and "amount" in over_day.json()["error"]["fields"]
    assert "daily" in over_day.json()["error"]["message"]
    assert settle(b, "B-1", "100.00").status_code == 201  # B has its own day

    business_date_set(on=TODAY + dt.timedelta(days=1))
    assert settle(a, "A-4", "100.00").status_code == 201
    business_date_set(on=TODAY + dt.timedelta(days=2))
    over_total = settle(a, "A-5", "50.01")
    assert over_total.status_code == 409 and "total" in over_total.json()["error"]["message"]
    assert settle(a, "A-6", "50.00").status_code == 201
    assert Settlement.objects.filter(partner=a.partner).count() == 4


def test_a_cap_can_be_set_for_one_partner(two_partners, settings):
    a, b = two_partners
    settings.SETTLEMENT_CAPS_FEN = {"daily": 10_000, "total": 10**12}
    settings.SETTLEMENT_CAPS_FEN_BY_PARTNER = {a.partner.code: {"daily": 20_000}}
    assert settle(a, "A-1", "150.00").status_code == 201
    assert settle(b, "B-1", "150.00").status_code == 409
