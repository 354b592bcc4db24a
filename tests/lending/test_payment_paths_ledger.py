"""The ledger's legs of a repayment have one home (`payments.ledger.collection_legs`), whichever
way the money comes: one repayment through the portal or the partner API (`loan_repay`, posted
by `payments.services.collection_take`) and the collections that pledged orders and close of
business make (`wallet_collection.loans_collect`, posted by `payments.bulk.collections_post_bulk`;
its SQL twin is held to it by test_cob_deduction_paths). Differential test: twin loans, the same
random repayments through each path, the same journal rows (kind, date, legs in order, with
each twin's wallet in the same place) and the same pool figures — on SQLite and PostgreSQL."""

import random
from decimal import Decimal

import pytest

from common.business_date import business_date_today
from lending import cob
from lending.models import Loan, RepaymentMethod
from payments import ledger
from payments import services as payments
from payments.models import FundingPool, JournalEntry, Posting
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.lending.test_payment_paths import KINDS, OPEN, repay_both, twin_loans

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(pool):
    """Where the drawn money goes, so only what a test pays in is there to collect."""
    return payments.wallet_open(merchant=CreditLineFactory().merchant)


def repayment_entries(loan: Loan) -> list[tuple]:
    """The loan's repayment entries in order: kind, business date, amount and legs, the loan's own
    wallet named "wallet" and the loan's reference taken out, so twins compare."""
    entries = JournalEntry.objects.filter(reference__endswith=loan.reference).order_by("pk")
    rows = []
    for entry in entries:
        legs = [
            ("wallet" if account_id == loan.wallet_id else account_id, amount)
            for account_id, amount in Posting.objects.filter(entry=entry)
            .order_by("pk")
            .values_list("account_id", "amount_fen")
        ]
        rows.append((entry.kind, entry.business_on, legs))
    return rows


@pytest.mark.parametrize("seed", range(2))
def test_random_repayments_post_the_same_legs_whichever_path_took_them(seed, pool, sink):
    rng = random.Random(seed)
    pairs = []
    for number, (method, term, unit) in enumerate(KINDS):
        product = ProductFactory(
            code=f"l{number}",
            repayment_method=method,
            term=term,
            term_unit=unit,
            daily_rate=Decimal(rng.choice(["0.0003", "0.0005"])),
            is_revolving=method == RepaymentMethod.BULLET,
        )
        pairs.append(twin_loans(product, rng.randrange(5_000_000, 40_000_000), sink, f"g{seed}-{number}"))
    repayments = 0
    for day in range(rng.randint(40, 60)):
        for number, (a, b) in enumerate(pairs):
            if Loan.objects.get(pk=a.pk).status not in OPEN or rng.random() > 0.15:
                continue
            choice = rng.random()
            amount = None if choice < 0.1 else rng.randrange(1, a.principal_fen // 4)
            repay_both(a, b, amount, f"g{seed}-{day}-{number}")
            repayments += 1
            assert repayment_entries(a) == repayment_entries(b), (seed, day, number, amount)
        cob.close_of_business(on=business_date_today())
    assert repayments >= 5
    for a, b in pairs:
        assert repayment_entries(a) == repayment_entries(b)
    pool = FundingPool.objects.get(pk=pool.pk)
    assert cob.lending_reconcile() == []
    assert pool.principal_outstanding_fen == sum(
        Loan.objects.filter(pool=pool).values_list("principal_outstanding_fen", flat=True)
    )


def test_the_legs_debit_the_wallet_credit_in_order_and_return_the_cash_to_the_pool():
    assert ledger.collection_legs(wallet=1, take=150, allocations=[(7, 100), (8, 80)]) == [
        (1, 150),
        (7, -100),
        (8, -50),
    ]
    assert ledger.collection_legs(wallet=1, take=30, allocations=[(7, 30)], pool_funds=5, client_funds=3) == [
        (1, 30),
        (7, -30),
        (5, 30),
        (3, -30),
    ]
