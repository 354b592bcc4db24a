"""A fresh demo, fast-forwarded 60 days, has loans in every state and books that balance."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from common.business_date import business_date_today
from lending.models import CreditLine, Loan
from payments.reconciliation import reconcile

END = dt.date(2026, 5, 31)


# The demo's shops draw their behaviour from seeds that include their ids: ids from 1, as in a
# fresh demo, whatever tests ran before on the same database.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_demo_has_loans_in_every_state_after_sixty_days():
    call_command(
        "seed_demo", "--merchants", "150", "--days", "100", "--end-date", END.isoformat(), stdout=StringIO()
    )
    assert CreditLine.objects.exists() and Loan.objects.exists()
    call_command("demo_advance", "--days", "60", stdout=StringIO())
    assert business_date_today() == END + dt.timedelta(days=61)
    states = set(Loan.objects.values_list("status", flat=True))
    assert states == {"active", "overdue", "repaid", "written_off"}
    assert Loan.objects.filter(next_due_on=business_date_today()).exists()  # due today
    assert reconcile().is_clean


def test_a_shop_is_in_a_squeeze_exactly_when_one_started_within_squeeze_days():
    """The scan that carries on from the day before gives what drawing the whole window gives,
    day after day, after a gap, and going back in time."""
    import random

    from demo import borrowers

    def drawn_afresh(merchant_id, careful, on):
        chance = borrowers.SQUEEZE_BASE_CHANCE + borrowers.SQUEEZE_CARELESS_CHANCE * (1 - careful)
        return any(
            borrowers._squeeze_draw(merchant_id, on - dt.timedelta(days=back)) < chance
            for back in range(borrowers.SQUEEZE_DAYS)
        )

    rng = random.Random(3)
    start = dt.date(2026, 1, 1)
    squeezed = 0
    for merchant_id in range(40):
        careful = rng.random()
        days = [start + dt.timedelta(days=n) for n in range(150)]
        days += sorted({start + dt.timedelta(days=rng.randrange(400)) for _ in range(60)})
        days += [start + dt.timedelta(days=rng.randrange(400)) for _ in range(30)]
        for on in days:
            in_squeeze = borrowers._in_squeeze(merchant_id, careful, on)
            assert in_squeeze == drawn_afresh(merchant_id, careful, on), (merchant_id, on)
            squeezed += in_squeeze
    assert 0 < squeezed < 40 * 240
