"""Close of business deducts in SQL (`wallet_collection.loans_collect_owing`: wallets shared over
their loans by window sums, each take split by the product's allocation order, the ledger rows by
INSERT … SELECT) and mirrors the Python collection that pledged orders use
(`wallet_collection.loans_collect`, with `payments.bulk.collections_post_bulk`). Differential
test: random loans, owed amounts, wallets (empty, short, rich, partly held) and allocation orders
through both, identical rows afterwards — journal entries with their request digests, postings in
order, balances, the pool, loans, installments, lines, events and status history — on SQLite and
PostgreSQL."""

import random

import pytest
from django.db import connection, transaction

from common.business_date import business_date_today
from lending import cob
from lending.models import CreditLine, Installment, Loan, LoanEvent, LoanStatusChange
from lending.services import wallet_collection
from payments import services as payments
from payments.models import Account, FundingPool, JournalEntry, Posting
from tests.lending.conftest import draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db

ORDERS = [
    [],  # the default order
    ["penalty", "fee", "interest", "principal"],
    ["principal", "interest", "penalty", "fee"],
    ["interest", "penalty", "principal", "fee"],
]
KEY = "cob:test:deduct:"


def owing_sql() -> str:
    statuses = cob._open_sql()
    return (
        "SELECT id AS loan_id, wallet_id, pool_id, line_id, product_id, reference, "
        "penalty_outstanding_fen AS penalty, 0 AS fee, due_interest_fen AS interest, "
        "due_principal_fen AS principal, "
        "penalty_outstanding_fen + due_interest_fen + due_principal_fen AS wanted "
        "FROM lending_loan WHERE status IN " + statuses + " "
        "AND penalty_outstanding_fen + due_interest_fen + due_principal_fen > 0"
    )


def collect_in_python(on) -> None:
    """What the deduction step did before it was SQL: lock, read, loans_collect."""
    with connection.cursor() as cursor:
        cursor.execute(owing_sql())
        rows = cursor.fetchall()
    available = wallet_collection.wallets_lock({row[1] for row in rows})
    wallet_collection.loans_collect(
        on=on,
        owed=[
            wallet_collection.Owed(
                loan_id=loan_id,
                wallet_id=wallet_id,
                pool_id=pool_id,
                line_id=line_id,
                product_id=product_id,
                reference=reference,
                penalty=penalty,
                fee=fee,
                interest=interest,
                principal=principal,
                wanted=wanted,
                idempotency_key=f"{KEY}{loan_id}",
            )
            for loan_id, wallet_id, pool_id, line_id, product_id, reference, penalty, fee, interest, principal, wanted in rows  # noqa: E501
        ],
        available=available,
        kind=LoanEvent.Kind.AUTO_DEDUCTED,
        reference="auto-deduction",
    )


def collect_in_sql(on) -> int:
    return wallet_collection.loans_collect_owing(
        on=on,
        owing=owing_sql(),
        params={},
        key_prefix=KEY,
        kind=LoanEvent.Kind.AUTO_DEDUCTED,
        reference="auto-deduction",
    )


def rows_after() -> dict:
    """Every row the collection writes, with ids of new rows replaced by what they stand for."""
    key_of = dict(JournalEntry.objects.values_list("pk", "idempotency_key"))
    return {
        "entries": list(
            JournalEntry.objects.order_by("pk").values_list(
                "idempotency_key", "kind", "request_hash", "reference", "business_on", "reverses_id"
            )
        ),
        "postings": [
            (key_of[entry_id], account_id, amount)
            for entry_id, account_id, amount in Posting.objects.order_by("pk").values_list(
                "entry_id", "account_id", "amount_fen"
            )
        ],
        "balances": list(Account.objects.order_by("pk").values_list("pk", "balance_fen", "held_fen")),
        "pools": list(FundingPool.objects.order_by("pk").values_list("pk", "principal_outstanding_fen")),
        "loans": list(Loan.objects.order_by("pk").values().iterator()),
        "installments": list(Installment.objects.order_by("pk").values()),
        "lines": list(CreditLine.objects.order_by("pk").values_list("pk", "used_fen", "status")),
        "events": [
            (*row[:-2], key_of.get(row[-2]), row[-1])
            for row in LoanEvent.objects.order_by("pk").values_list(
                "loan_id",
                "kind",
                "business_on",
                "principal_fen",
                "interest_fen",
                "penalty_fen",
                "fee_fen",
                "entry_id",
                "actor",
            )
        ],
        "history": list(
            LoanStatusChange.objects.order_by("pk").values_list(
                "loan_id", "kind", "from_status", "to_status", "business_on", "actor", "cob_run", "reason"
            )
        ),
    }


def random_book(rng: random.Random) -> None:
    """Merchants with one to four loans each on products of different allocation orders; each
    loan owes a random mix of penalty, interest and principal due; wallets empty, short, rich,
    or with part of their money held."""
    # The platform's accounts exist before either path runs (a path would otherwise open them
    # inside its rolled-back transaction, and PostgreSQL does not give the ids back).
    for purpose in payments.PLATFORM_ACCOUNTS:
        payments.platform_account(purpose)
    products = [
        ProductFactory(code=f"order{n}", allocation_order=order, amount_min_fen=1_000)
        for n, order in enumerate(ORDERS)
    ]
    for m in range(rng.randint(8, 12)):
        merchant = MerchantFactory()
        loans = []
        # One line per merchant and product: each of the merchant's loans on another product.
        for n, product in enumerate(rng.sample(products, rng.randint(1, len(products)))):
            line = CreditLineFactory(merchant=merchant, product=product, limit_fen=50_000_000)
            loans.append(draw(line, rng.randrange(100_000, 5_000_000), key=f"m{m}-{n}"))
        for loan in loans:
            principal = rng.choice([0, 0, rng.randrange(1, loan.principal_fen), loan.principal_fen])
            interest = rng.choice([0, rng.randrange(1, 50_000)])
            penalty = rng.choice([0, 0, rng.randrange(1, 5_000)])
            if not principal + interest + penalty:
                interest = 1
            Loan.objects.filter(pk=loan.pk).update(
                due_principal_fen=principal,
                interest_outstanding_fen=interest + rng.randrange(0, 1000),
                due_interest_fen=interest,
                interest_accrued_total_fen=interest + 1000,
                penalty_outstanding_fen=penalty,
                status=rng.choice([Loan.Status.ACTIVE, Loan.Status.OVERDUE]),
                oldest_unpaid_due_on=business_date_today(),
            )
        wallet = loans[0].wallet
        owed = sum(
            row.due_principal_fen + row.due_interest_fen + row.penalty_outstanding_fen
            for row in Loan.objects.filter(wallet=wallet)
        )
        balance = rng.choice([0, rng.randrange(1, owed + 1), owed, owed + rng.randrange(1, 10_000)])
        held = rng.choice([0, 0, rng.randrange(0, balance + 1)])
        Account.objects.filter(pk=wallet.pk).update(balance_fen=balance, held_fen=held)


@pytest.mark.parametrize("seed", range(4))
def test_random_deductions_in_sql_and_in_python_leave_identical_rows(pool, seed):
    random_book(random.Random(seed))
    on = business_date_today()
    results = {}
    for name, collect in (("python", collect_in_python), ("sql", collect_in_sql)):
        with transaction.atomic():
            collect(on)
            results[name] = rows_after()
            transaction.set_rollback(True)
    python, sql = results["python"], results["sql"]
    for table in python:
        assert sql[table] == python[table], table
    # The cases this is about happened: short wallets, several loans on one wallet, orders.
    events = [row for row in python["events"] if row[1] == LoanEvent.Kind.AUTO_DEDUCTED]
    assert len(events) >= 3
    assert any(row[3] == "repaid" for row in python["history"]) or any(
        row[3] == "active" for row in python["history"]
    )


def test_a_deduction_posted_before_is_refused_writing_nothing(pool):
    random_book(random.Random(9))
    on = business_date_today()
    collect_in_sql(on)
    before = rows_after()
    with pytest.raises(Exception, match="posted before"), transaction.atomic():
        # The same keys again (loans made to owe once more): all or nothing, nothing written.
        Loan.objects.filter(status__in=("active", "overdue")).update(
            due_interest_fen=1, interest_outstanding_fen=1
        )
        for account in Account.objects.filter(purpose=Account.Purpose.WALLET):
            Account.objects.filter(pk=account.pk).update(balance_fen=account.balance_fen + 1)
        collect_in_sql(on)
    assert rows_after() == before


def test_the_loans_that_owed_are_handed_back_and_every_loan_left_owing_is_among_them(pool):
    """`owing_loans` lists the loans the query chose, before paying any (repayment.failed can then
    read just those: only the deduction makes a loan owe less)."""
    random_book(random.Random(5))
    on = business_date_today()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT loan_id FROM ({owing_sql()}) o ORDER BY loan_id")  # noqa: S608
        owed_before = [pk for (pk,) in cursor.fetchall()]
    owing_loans: list[int] = []
    with transaction.atomic():
        paid = wallet_collection.loans_collect_owing(
            on=on,
            owing=owing_sql(),
            params={},
            key_prefix=KEY,
            kind=LoanEvent.Kind.AUTO_DEDUCTED,
            reference="auto-deduction",
            owing_loans=owing_loans,
        )
    assert owing_loans == owed_before
    assert paid > 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT loan_id FROM ({owing_sql()}) o")  # noqa: S608
        still_owing = {pk for (pk,) in cursor.fetchall()}
    assert still_owing <= set(owing_loans)
