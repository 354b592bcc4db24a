"""The nightly rewrite of the loans stays in place on PostgreSQL: the accrual changes no indexed
column, and the loan table's pages keep room for each row's new version (its fill factor), so
the close's updates are HOT (no new entry in any of the loan table's indexes)."""

import pytest
from django.db import connection

from common.business_date import business_date_today
from lending import cob
from tests.conftest import requires_postgres
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory


def _loan_updates() -> tuple[int, int]:
    """Updates and HOT updates of the loan table so far, as the statistics have them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:  # flushed when the backend went idle, before this
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'lending_loan'"
        )
        return cursor.fetchone()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_accrual_rewrites_every_loan_in_place():
    open_pool()
    # More loans than one page holds when filled to the brim (about 19 rows of ~400 bytes).
    loans = [draw(CreditLineFactory(), 1_000_000, key=f"k-{n}") for n in range(60)]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM lending_loan")  # last night's dead rows gone, as autovacuum leaves them
    updates, hot = _loan_updates()
    run = cob.close_of_business(on=business_date_today())
    after_updates, after_hot = _loan_updates()
    accrued = next(step["rows"] for step in run.steps if step["step"] == "accrue")
    assert accrued == len(loans)
    assert after_updates - updates == len(loans)  # nothing falls due or is deducted on day one
    assert after_hot - hot == len(loans)


@requires_postgres
@pytest.mark.django_db
def test_the_tables_the_close_rewrites_keep_room_on_their_pages():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class "
            "WHERE relname IN ('lending_loan', 'lending_installment', 'lending_creditline')"
        )
        options = dict(cursor.fetchall())
    assert options == {
        "lending_loan": ["fillfactor=45"],
        "lending_installment": ["fillfactor=90"],
        "lending_creditline": ["fillfactor=85"],
    }
