"""Money that reaches a written-off merchant's wallet is recovered by close of business, like any
other deduction: its own ledger entry per loan and day, up to what was written off, after the
merchant's open loans have had what falls due."""

import datetime as dt
from decimal import Decimal

import pytest

from common.business_date import business_date_today
from lending import cob, services
from lending.models import CobRun, Loan, LoanEvent
from payments import services as payments
from payments.models import Account, FundingPool, JournalEntry
from payments.reconciliation import reconcile
from tests.lending.conftest import DAY, draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

Purpose = Account.Purpose


def spent_loan(merchant=None) -> Loan:
    """A loan of 10,000 yuan drawn on DAY whose money the merchant spent at once."""
    line = CreditLineFactory(**({"merchant": merchant} if merchant else {}))
    loan = draw(line, 1_000_000, key=f"bad-{line.pk}")
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=1_000_000,
        idempotency_key=f"gone-{loan.pk}",
    )
    return loan


def write_off(*loans: Loan) -> None:
    """Five days of interest (600 a day), then written off."""
    cob.close_through(through=DAY + dt.timedelta(days=4))
    for loan in loans:
        services.loan_write_off(loan=loan, actor="officer", reason="absconded", on=business_date_today())
        loan.refresh_from_db()
        assert loan.status == Loan.Status.WRITTEN_OFF and loan.written_off_fen == 1_003_000


def written_off_loan(merchant=None) -> Loan:
    loan = spent_loan(merchant)
    write_off(loan)
    return loan


def test_close_of_business_recovers_what_reaches_a_written_off_wallet(pool):
    loan = written_off_loan()
    expense = payments.platform_account(Purpose.WRITE_OFF_EXPENSE).balance_fen
    losses = FundingPool.objects.get().losses_fen
    payments.settlement_credit(wallet=loan.wallet, amount_fen=300_000, idempotency_key="sales-1")
    on = DAY + dt.timedelta(days=5)
    cob.close_of_business(on=on)
    loan.refresh_from_db()
    assert loan.recovered_fen == 300_000
    assert Account.objects.get(pk=loan.wallet_id).balance_fen == 0
    event = LoanEvent.objects.get(loan=loan, kind=LoanEvent.Kind.RECOVERED)
    assert (event.business_on, event.principal_fen) == (on, 300_000)
    assert event.entry.idempotency_key == f"recover:cob:{on}:{loan.pk}"
    assert payments.platform_account(Purpose.WRITE_OFF_EXPENSE).balance_fen == expense - 300_000
    assert FundingPool.objects.get().losses_fen == losses - 300_000
    # Closing the date again takes nothing more, even with more money in the wallet.
    payments.settlement_credit(wallet=loan.wallet, amount_fen=5_000_000, idempotency_key="sales-2")
    cob.close_of_business(on=on)
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.RECOVERED).count() == 1
    # The next day recovers the rest of what was written off, and no more.
    cob.close_of_business(on=on + dt.timedelta(days=1))
    cob.close_of_business(on=on + dt.timedelta(days=2))
    loan.refresh_from_db()
    assert loan.recovered_fen == loan.written_off_fen
    assert Account.objects.get(pk=loan.wallet_id).balance_fen == 5_300_000 - 1_003_000
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.RECOVERED).count() == 2
    assert CobRun.objects.get(business_on=on + dt.timedelta(days=2)).steps[-2]["rows"] == 0
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_a_recovery_interrupted_by_a_crash_is_posted_once(pool, monkeypatch):
    loans = [spent_loan() for _ in range(5)]
    write_off(*loans)
    for loan in loans:
        payments.settlement_credit(wallet=loan.wallet, amount_fen=200_000, idempotency_key=f"in-{loan.pk}")
    on = DAY + dt.timedelta(days=5)
    original = cob.STEP_FUNCTIONS["recover"]
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return original(*args, **kwargs)

    monkeypatch.setitem(cob.STEP_FUNCTIONS, "recover", crash_on_second)
    with pytest.raises(RuntimeError, match="killed"):
        cob.close_of_business(on=on, chunk_size=2)
    monkeypatch.setitem(cob.STEP_FUNCTIONS, "recover", original)
    cob.close_of_business(on=on, chunk_size=2)
    for loan in loans:
        loan.refresh_from_db()
        assert loan.recovered_fen == 200_000
        assert JournalEntry.objects.filter(idempotency_key=f"recover:cob:{on}:{loan.pk}").count() == 1
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_a_merchants_open_loan_is_paid_before_its_written_off_one(pool):
    merchant = MerchantFactory()
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"))
    line = CreditLineFactory(
        merchant=merchant, product=product, limit_fen=5_000_000, daily_rate=product.daily_rate
    )
    good = draw(line, 1_000_000, key="good")
    payments.wallet_to_wallet(
        source=good.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=1_000_000,
        idempotency_key="good-spent",
    )
    bad = written_off_loan(merchant)
    cob.close_through(through=good.maturity_on - dt.timedelta(days=1))
    # On the due date the wallet holds what the open loan owes (30 days × 500) and 500 yuan more.
    payments.settlement_credit(wallet=good.wallet, amount_fen=1_015_000 + 50_000, idempotency_key="sales")
    cob.close_of_business(on=good.maturity_on)
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == Loan.Status.REPAID
    assert bad.recovered_fen == 50_000
    assert Account.objects.get(pk=good.wallet_id).balance_fen == 0
    assert reconcile().is_clean and cob.lending_reconcile() == []
