"""Recoveries on written-off loans as an auditor adds them up: a pool's losses are the principal
it wrote off and has not had back, loan by loan. What a borrower pays beyond the principal written
off (the interest and penalty written off with it) is income recovered, not lending capacity, and
must not shrink another loan's loss."""

from lending import services
from lending.models import LoanEvent
from payments import services as payments
from payments.models import FundingPool
from payments.reconciliation import reconcile
from tests.lending.test_cob_recovery import spent_loan, write_off

# tests/lending/test_cob_recovery.py: 10,000 yuan lent, five days at 600 fen, written off.
PRINCIPAL, INTEREST = 1_000_000, 3_000


def recover(loan, amount_fen: int, key: str) -> LoanEvent:
    payments.settlement_credit(wallet=loan.wallet, amount_fen=amount_fen, idempotency_key=f"in-{key}")
    return services.loan_recover(
        loan=loan, amount_fen=None, idempotency_key=key, actor="agent", on=loan.closed_on
    )


def test_interest_recovered_on_one_loan_leaves_the_pools_loss_on_another(pool):
    repaying, absconded = spent_loan(), spent_loan()
    write_off(repaying, absconded)
    assert FundingPool.objects.get().losses_fen == 2 * PRINCIPAL
    # The first borrower pays back all it owed when written off: principal, then interest.
    first = recover(repaying, 600_000, "r-1")
    second = recover(repaying, 403_000, "r-2")
    repaying.refresh_from_db()
    assert repaying.recovered_fen == repaying.written_off_fen == PRINCIPAL + INTEREST
    # The recoveries say what they were: principal first, then the interest written off.
    assert (first.principal_fen, first.interest_fen) == (600_000, 0)
    assert (second.principal_fen, second.interest_fen) == (400_000, INTEREST)
    # Its principal is back; the other loan's loss is all still there.
    assert FundingPool.objects.get().losses_fen == PRINCIPAL
    assert reconcile().is_clean
