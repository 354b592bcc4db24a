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
