"""A recovery on a written-off loan has one rule whichever path takes it: `loan_recover` (one loan,
through payments.services.recovery_collect: a collections officer's recovery) and close of
business's set-based `loans_recover` (SQL, payments.bulk.collections_post_table), which says it
does what `loan_recover(idempotency_key="cob:<date>:<loan id>")` would. Differential test: twin
written-off loans, the same money reaching their wallets on random days, one twin recovered by
each path: the same loan figures, events, journal legs and keys, and the same move of the pool's
losses — on SQLite and PostgreSQL."""

import datetime as dt
import random
import re

import pytest
from django.db import transaction

from lending import cob, services
from lending.models import Loan, LoanEvent
from lending.services.loans import loans_recover
from payments import services as payments
from payments.models import FundingPool, JournalEntry, Posting
from tests.lending.conftest import DAY
from tests.lending.test_cob_recovery import spent_loan, write_off

pytestmark = pytest.mark.django_db
ACTOR = "close of business"
LOAN_FIGURES = ("status", "written_off_fen", "recovered_fen", "principal_outstanding_fen", "closed_on")


def recovery_state(loan: Loan) -> dict:
    events = list(
        LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.RECOVERED)
        .order_by("pk")
        .values_list("business_on", "principal_fen", "interest_fen", "penalty_fen", "fee_fen", "actor")
    )
    entries = []
    for entry in JournalEntry.objects.filter(reference=f"recovery on {loan.reference}").order_by("pk"):
        legs = [
            ("wallet" if account_id == loan.wallet_id else account_id, amount)
            for account_id, amount in Posting.objects.filter(entry=entry)
            .order_by("pk")
            .values_list("account_id", "amount_fen")
        ]
        key = re.sub(rf":{loan.pk}$", ":<loan>", entry.idempotency_key)
        entries.append((entry.kind, entry.business_on, key, legs))
    return {
        "loan": Loan.objects.values(*LOAN_FIGURES).get(pk=loan.pk),
        "events": events,
        "entries": entries,
    }


def losses() -> int:
    return FundingPool.objects.get().losses_fen


@pytest.mark.parametrize("seed", range(3))
def test_random_recoveries_through_either_path_leave_identical_rows(pool, seed):
    rng = random.Random(seed)
    a, b = spent_loan(), spent_loan()
    write_off(a, b)
    a.refresh_from_db()
    b.refresh_from_db()
    on = DAY + dt.timedelta(days=5)
    for day in range(12):
        on += dt.timedelta(days=1)
        amount = rng.choice([0, rng.randrange(1, 50_000), rng.randrange(100_000, 700_000)])
        if amount:
            for loan in (a, b):
                payments.settlement_credit(
                    wallet=loan.wallet, amount_fen=amount, idempotency_key=f"in-{seed}-{day}-{loan.pk}"
                )
        before = losses()
        if Loan.objects.get(pk=a.pk).recovered_fen < a.written_off_fen:
            services.loan_recover(
                loan=a, amount_fen=None, idempotency_key=f"cob:{on}:{a.pk}", actor=ACTOR, on=on
            )
        by_one = before - losses()
        before = losses()
        with transaction.atomic():
            loans_recover(on=on, loan_ids=[b.pk], actor=ACTOR)
        by_set = before - losses()
        assert recovery_state(a) == recovery_state(b), (seed, day, amount)
        assert by_one == by_set, (seed, day, amount)
    assert Loan.objects.get(pk=a.pk).recovered_fen > 0
    assert cob.lending_reconcile() == []
