"""`manage.py reconcile` as an auditor tries it: a figure changed behind the ledger's back must be
noticed, not only a wallet's cached balance. Each case changes one stored figure with plain SQL
(as a bad migration, a hand fix or a half-applied write would) and expects the command to fail
naming it."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from lending import cob
from payments import services as payments
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def two_pools(db):
    """Two pools, a loan from each, three days accrued: the books balance."""
    first = open_pool()
    second = payments.funding_pool_create(code="second", name="Second")
    payments.funding_pool_add_capital(pool=second, amount_fen=10**10, idempotency_key="capital-2")
    loans = [draw(CreditLineFactory(limit_fen=5_000_000), 1_000_000, key="a")]
    line = CreditLineFactory(limit_fen=5_000_000)
    loans.append(draw(line, 2_000_000, key="b"))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE lending_loan SET pool_id = %s WHERE id = %s", [second.pk, loans[1].pk])
        cursor.execute(
            "UPDATE payments_fundingpool SET principal_outstanding_fen = CASE id WHEN %s THEN 1000000 "
            "ELSE 2000000 END",
            [first.pk],
        )
    cob.close_through(through=DAY + dt.timedelta(days=2))
    assert "books balance: no differences" in run("reconcile")
    return first, second, loans


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    ("column", "fen", "named"),
    [
        ("principal_outstanding_fen", -100, "principal outstanding"),
        ("interest_outstanding_fen", 1, "interest and penalty"),
    ],
)
def test_a_loans_balance_changed_behind_the_ledger_is_noticed(two_pools, column, fen, named):
    _, _, (loan, _) = two_pools
    sql(f"UPDATE lending_loan SET {column} = {column} + %s WHERE id = %s", [fen, loan.pk])  # noqa: S608
    out = StringIO()
    with pytest.raises(CommandError, match="difference"):
        call_command("reconcile", stdout=out)
    assert named in out.getvalue()


def test_principal_moved_from_one_pool_to_another_is_noticed(two_pools):
    """The pools' total still equals loans receivable; each pool no longer equals its loans."""
    first, _, _ = two_pools
    sql(
        "UPDATE payments_fundingpool SET principal_outstanding_fen = principal_outstanding_fen "
        "+ CASE id WHEN %s THEN 500 ELSE -500 END",
        [first.pk],
    )
    out = StringIO()
    with pytest.raises(CommandError, match="2 difference"):
        call_command("reconcile", stdout=out)
    assert "pool main: principal outstanding" in out.getvalue()
    assert "pool second: principal outstanding" in out.getvalue()
