"""The ledger's two ways of writing entries (one at a time through the services, many at once
through payments/bulk.py; on PostgreSQL a single entry is one statement) share one home,
payments/ledger.py. Random entries through both paths must leave identical rows, on SQLite and
on PostgreSQL."""

import random

import pytest
from django.db import transaction

from common.business_date import business_date_today
from payments import bulk, services
from payments.models import Account, JournalEntry, Posting
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db
P = Account.Purpose


@pytest.fixture
def accounts() -> list[Account]:
    wallets = [services.wallet_open(merchant=MerchantFactory()) for _ in range(4)]
    for wallet in wallets:
        services.settlement_credit(wallet=wallet, amount_fen=10_000_000, idempotency_key=f"fund-{wallet.pk}")
    platform = [
        services.platform_account(purpose)
        for purpose in (P.CLIENT_FUNDS, P.INTEREST_RECEIVABLE, P.INTEREST_INCOME, P.FEE_INCOME)
    ]
    return wallets + platform


def random_entries(accounts: list[Account], rng: random.Random, count: int) -> list[bulk.BulkEntry]:
    entries = []
    for i in range(count):
        chosen = rng.sample(accounts, rng.randint(2, 4))
        amounts = [rng.choice([-1, 1]) * rng.randint(1, 50_000) for _ in chosen[:-1]]
        if sum(amounts) == 0:
            amounts[0] += 1
        legs = [(a.pk, amount) for a, amount in zip(chosen, [*amounts, -sum(amounts)], strict=False)]
        entries.append(bulk.BulkEntry(idempotency_key=f"e-{i}", reference=f"random {i}", legs=legs))
    # Some keys sent again with the same content: each posts once on both paths.
    return entries + rng.sample(entries, count // 5)


def ledger_rows():
    entries = {
        pk: (key, kind, digest, reference, business_on, reverses)
        for pk, key, kind, digest, reference, business_on, reverses in JournalEntry.objects.values_list(
            "pk", "idempotency_key", "kind", "request_hash", "reference", "business_on", "reverses_id"
        )
    }
    postings = sorted(
        (entries[entry_id][0], account_id, amount)
        for entry_id, account_id, amount in Posting.objects.values_list(
            "entry_id", "account_id", "amount_fen"
        )
    )
    balances = sorted(Account.objects.values_list("pk", "balance_fen", "held_fen"))
    return sorted(entries.values()), postings, balances


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_entries_one_at_a_time_and_in_bulk_leave_identical_rows(accounts, seed):
    entries = random_entries(accounts, random.Random(seed), 60)
    by_pk = {a.pk: a for a in accounts}
    with transaction.atomic():
        for e in entries:
            services.entry_post(
                kind=JournalEntry.Kind.TRANSFER,
                legs=[(by_pk[pk], amount) for pk, amount in e.legs],
                idempotency_key=e.idempotency_key,
                reference=e.reference,
            )
        one_at_a_time = ledger_rows()
        transaction.set_rollback(True)

    posted = bulk.entries_post_bulk(
        kind=JournalEntry.Kind.TRANSFER, entries=entries[:60], business_on=business_date_today()
    )
    again = bulk.entries_post_bulk(
        kind=JournalEntry.Kind.TRANSFER, entries=entries[60:], business_on=business_date_today()
    )

    assert (posted, again) == (60, 0)
    assert ledger_rows() == one_at_a_time


def test_an_entry_that_would_overdraw_a_wallet_is_refused_by_both_paths_writing_nothing(accounts):
    wallet, income = accounts[0], accounts[-1]
    before = ledger_rows()
    too_much = 10_000_001
    with pytest.raises(services.InsufficientFunds):
        services.transfer(debit=wallet, credit=income, amount_fen=too_much, idempotency_key="x-1")
    with pytest.raises(services.InsufficientFunds):
        bulk.entries_post_bulk(
            kind=JournalEntry.Kind.TRANSFER,
            entries=[bulk.BulkEntry("x-1", "", [(wallet.pk, too_much), (income.pk, -too_much)])],
            business_on=business_date_today(),
        )
    assert ledger_rows() == before
