"""The nightly queue sync races the day's work: close of business closes date D at 00:10 and
moves the business date to D + 1; the partner API and the workbench work on D + 1 before the
nightly task runs at 00:30. What they changed is the queue of D + 1: a case closed by a repayment
made on D + 1 is closed on D + 1, never on D (before the loan was repaid), and a case sent to
collections on D + 1 is not closed the day before it was opened. Promises are still checked for
D, the last date closed."""

import datetime as dt

from common.business_date import business_date_today
from lending import cob, services
from lending import collections as collect
from lending.models import CollectionCase, CollectionCaseChange, Loan
from lending.tasks_collections import collections_nightly
from payments import services as payments
from tests.lending.conftest import DAY, draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory


def spent_loan(code: str, term: int) -> Loan:
    product = ProductFactory(code=code, term=term, is_revolving=False)
    merchant = MerchantFactory()
    line = CreditLineFactory(product=product, merchant=merchant, limit_fen=10_000_000)
    loan = draw(line, 1_000_000, key=f"k-{code}")
    wallet = payments.wallet_open(merchant=merchant)
    payments.wallet_to_wallet(
        source=wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=wallet.balance_fen,
        idempotency_key=f"gone-{code}",
    )
    return loan


def test_the_nightly_sync_stamps_the_days_work_with_its_own_date(pool):
    late = spent_loan("ten-days", 10)
    current = spent_loan("sixty-days", 60)
    closed = DAY + dt.timedelta(days=14)
    cob.close_through(through=closed)
    today = business_date_today()
    assert today == closed + dt.timedelta(days=1)
    late.refresh_from_db()
    assert late.status == Loan.Status.OVERDUE
    assert CollectionCase.objects.filter(loan=late, status="open").count() == 1

    # Between the close and the nightly task: a repayment, and a loan sent to collections.
    payments.settlement_credit(
        wallet=late.wallet, amount_fen=late.total_outstanding_fen, idempotency_key="in"
    )
    services.loan_repay(loan=late, amount_fen=None, idempotency_key="all", actor="merchant", on=today)
    sent, _ = collect.case_open(loan=current, on=today, actor="risk", reason="watch list")

    result = collections_nightly()
    assert result["on"] == closed.isoformat()  # promises: the last date closed

    repaid = CollectionCase.objects.get(loan=late)
    assert (repaid.status, repaid.close_reason, repaid.closed_on) == ("closed", "repaid", today)
    sent.refresh_from_db()
    assert sent.status == "closed" and sent.closed_on >= sent.opened_on == today
    for change in CollectionCaseChange.objects.filter(kind__in=("repaid", "cured")):
        assert change.business_on == today, (change.kind, change.business_on)
    # Run again: nothing more.
    assert collections_nightly() == {**result, "closed": 0, "opened": 0, "rebucketed": 0}
