"""`manage.py reconcile` after the demo marketplace has traded: the books balance."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from payments.models import Account, JournalEntry
from tests.conftest import requires_demo

pytestmark = [pytest.mark.django_db, requires_demo]  # seed_demo and simulate_day are the demo's
END = dt.date(2025, 3, 31)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_books_balance_after_seeding_and_a_simulated_month():
    run("seed_demo", "--merchants", "25", "--days", "40", "--end-date", END.isoformat())
    run("simulate_day", "--through", (END + dt.timedelta(days=30)).isoformat())
    assert JournalEntry.objects.filter(kind="settlement", business_on__gt=END).exists()
    report = run("reconcile", "--trial-balance")
    assert "books balance: no differences" in report
    assert "DIFFERENCE" not in report


def test_reconcile_reports_a_tampered_balance_and_fails():
    run("seed_demo", "--merchants", "10", "--days", "10", "--end-date", END.isoformat())
    wallet = Account.objects.filter(purpose="wallet", balance_fen__gt=0).first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_account SET balance_fen = balance_fen + 1 WHERE id = %s", [wallet.pk])
    with pytest.raises(CommandError, match="1 difference"):
        run("reconcile")


def test_officer_sees_the_trial_balance(client):
    run("seed_demo", "--merchants", "10", "--days", "10", "--end-date", END.isoformat())
    client.force_login(get_user_model().objects.get(username="admin"))
    page = client.get("/admin/payments/account/trial-balance/").content.decode()
    assert "账务平衡" in page and "wallet" in page  # "Books balance", Chinese first
    assert "试算平衡表" in client.get("/admin/payments/account/").content.decode()  # "Trial balance"


def test_the_nightly_check_looks_at_one_days_entries_and_every_balance():
    from payments.reconciliation import reconcile

    run("seed_demo", "--merchants", "10", "--days", "10", "--end-date", END.isoformat())
    day = JournalEntry.objects.order_by("-business_on").values_list("business_on", flat=True).first()
    nightly = reconcile(on=day, entries_of=day)
    assert nightly.is_clean
    assert nightly.entries_checked == JournalEntry.objects.filter(business_on=day).count()
    assert reconcile().entries_checked == JournalEntry.objects.count() > nightly.entries_checked
    wallet = Account.objects.filter(purpose="wallet", balance_fen__gt=0).first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE payments_account SET held_fen = held_fen + 1 WHERE id = %s", [wallet.pk])
    assert reconcile(on=day, entries_of=day).differences == [f"{wallet.code}: held 1 != pending holds 0"]
