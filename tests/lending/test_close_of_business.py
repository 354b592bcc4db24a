"""Close of business: worked examples over real days, idempotency, overdue ageing."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from common.business_date import business_date_today
from common.errors import ApplicationError
from lending import cob, cob_dispatch, services
from lending.models import CobChunk, CobRun, Loan, LoanEvent
from payments import services as payments
from payments.models import Account, JournalEntry
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory


def close_days(n):
    return cob.close_through(through=business_date_today() + dt.timedelta(days=n - 1))


def fund(wallet, fen, key):
    payments.settlement_credit(wallet=wallet, amount_fen=fen, idempotency_key=key)


def test_revolving_draw_of_100000_repaid_after_ten_days_costs_600(pool):
    line = CreditLineFactory(limit_fen=10_000_000)
    loan = draw(line, 10_000_000)
    close_days(10)
    loan.refresh_from_db()
    assert loan.interest_outstanding_fen == 60_000
    fund(loan.wallet, 60_000, "interest-money")
    event = services.loan_repay(
        loan=loan, amount_fen=None, idempotency_key="r", actor="merchant", on=business_date_today()
    )
    assert (event.interest_fen, event.principal_fen) == (60_000, 10_000_000)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_order_loan_of_50000_for_30_days_costs_750_and_repays_itself_at_maturity(pool):
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"))
    line = CreditLineFactory(product=product, limit_fen=5_000_000, daily_rate=product.daily_rate)
    loan = draw(line, 5_000_000)
    assert loan.maturity_on == DAY + dt.timedelta(days=30)
    fund(loan.wallet, 75_000, "interest-money")
    close_days(31)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID
    assert loan.interest_accrued_total_fen == 75_000 and loan.paid_total_fen == 5_075_000
    assert Account.objects.get(pk=loan.wallet_id).balance_fen == 0
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.AUTO_DEDUCTED).count() == 1
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_installments_are_deducted_on_their_due_dates(pool):
    product = ProductFactory(credit_loan=True)
    line = CreditLineFactory(product=product, limit_fen=10_000_000)
    loan = draw(line, 10_000_000)
    first = loan.installments.get(number=1)
    fund(loan.wallet, 2_000_000, "income")
    close_days((first.due_on - DAY).days + 1)
    loan.refresh_from_db()
    first.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE and loan.days_past_due == 0
    assert loan.interest_accrued_total_fen >= first.interest_fen
    assert first.interest_fen == 180_000  # 10,000,000 × 0.0006 × 30
    assert loan.principal_outstanding_fen == 10_000_000 - first.principal_fen
    assert loan.next_installment == 2
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_an_unpaid_loan_ages_accrues_penalty_and_is_classified(pool):
    product = ProductFactory(
        code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"), grace_days=3
    )
    line = CreditLineFactory(product=product, limit_fen=5_000_000, daily_rate=product.daily_rate)
    loan = draw(line, 1_000_000)
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=CreditLineFactory().merchant),
        amount_fen=1_000_000,
        idempotency_key="spent",
    )
    close_days(30 + 10)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE
    assert loan.days_past_due == 9
    assert loan.classification == Loan.Classification.SPECIAL_MENTION
    # Penalty from the fourth day past due: 1,000,000 × 0.0005 × 0.5 = 250 a day, days 4..9.
    assert loan.penalty_outstanding_fen == 6 * 250
    assert reconcile().is_clean and cob.lending_reconcile() == []
    fund(loan.wallet, 2_000_000, "rescue")
    close_days(1)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID and loan.days_past_due == 0
    assert loan.max_days_past_due == 9  # the worst it ever was stays on the loan


def test_closing_a_date_twice_changes_nothing(pool):
    line = CreditLineFactory()
    draw(line, 1_000_000)
    first = cob.close_of_business(on=DAY)
    entries = JournalEntry.objects.count()
    state = list(Loan.objects.values())
    again = cob.close_of_business(on=DAY)
    assert again.pk == first.pk and first.status == CobRun.Status.DONE
    assert [s["step"] for s in first.steps] == ["pledges", *cob.ALL_STEPS, "reconcile", "collections"]
    assert JournalEntry.objects.count() == entries
    assert list(Loan.objects.values()) == state
    with pytest.raises(ApplicationError, match="in order"):
        cob.close_of_business(on=DAY + dt.timedelta(days=5))


def test_the_days_interest_is_posted_once_by_a_database_constraint(pool):
    line = CreditLineFactory()
    draw(line, 1_000_000)
    cob.close_of_business(on=DAY)
    key = JournalEntry.objects.filter(idempotency_key__startswith=f"cob:{DAY}:accrue:").get().idempotency_key
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(kind="accrual", idempotency_key=key, business_on=DAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        CobChunk.objects.create(business_on=DAY, step="accrue", chunk=0)


def test_the_close_selects_open_loans_by_the_lifecycles_open_statuses(monkeypatch):
    import inspect

    from lending import lifecycle

    # No status list written by hand in the close's SQL: it follows the loan lifecycle.
    source = inspect.getsource(cob)
    assert "'active'" not in source and "'overdue'" not in source
    monkeypatch.setattr(cob, "LOAN_OPEN_STATUSES", frozenset({"active", "overdue", "restructured"}))
    assert cob._open_sql() == "('active', 'overdue', 'restructured')"
    assert cob._open_sql() == lifecycle.status_sql(cob.LOAN_OPEN_STATUSES)


def test_a_run_killed_half_way_finishes_on_rerun_as_one_clean_run(pool, monkeypatch):
    line = CreditLineFactory()
    loan = draw(line, 1_000_000)
    close_days(3)
    original = cob.STEP_FUNCTIONS["accrue"]

    def crash(*args):
        raise RuntimeError("worker killed")

    monkeypatch.setitem(cob.STEP_FUNCTIONS, "accrue", crash)
    with pytest.raises(RuntimeError):
        cob.close_of_business(on=business_date_today())
    assert CobRun.objects.get(business_on=DAY + dt.timedelta(days=3)).status == CobRun.Status.FAILED
    monkeypatch.setitem(cob.STEP_FUNCTIONS, "accrue", original)
    close_days(1)
    loan.refresh_from_db()
    assert loan.interest_outstanding_fen == 4 * 600  # 1,000,000 × 0.0006, four days, once each
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_reading_a_loan_costs_the_same_after_many_days(pool, django_assert_num_queries):
    line = CreditLineFactory()
    loan = draw(line, 1_000_000)

    def read():
        current = Loan.objects.select_related("product", "line").get(pk=loan.pk)
        list(current.installments.all())
        list(current.events.all())
        return current

    with django_assert_num_queries(3):
        read()
    close_days(60)
    with django_assert_num_queries(3):
        read()
    assert LoanEvent.objects.filter(loan=loan).count() == 1  # accrual adds no row per day


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_closing_the_same_date_post_its_interest_once():
    open_pool()
    for n in range(20):
        draw(CreditLineFactory(), 1_000_000, key=f"k-{n}")
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            cob.close_of_business(on=DAY, chunk_size=5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert CobRun.objects.get(business_on=DAY).status == CobRun.Status.DONE or errors
    if CobRun.objects.get(business_on=DAY).status != CobRun.Status.DONE:
        cob.close_of_business(on=DAY, chunk_size=5)
    assert set(Loan.objects.values_list("interest_outstanding_fen", flat=True)) == {600}
    accrual = JournalEntry.objects.filter(idempotency_key__startswith=f"cob:{DAY}:accrue:")
    assert accrual.count() == 1
    assert accrual.get().postings.filter(amount_fen__gt=0).get().amount_fen == 20 * 600
    assert reconcile().is_clean and cob.lending_reconcile() == []


# A worker thread writing while this thread polls: SQLite's shared test database locks whole
# tables ("database table is locked"), so the test needs a server database.
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_chunks_sent_to_a_celery_worker_close_the_date_like_in_process():
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    open_pool()
    for n in range(7):
        draw(CreditLineFactory(), 1_000_000, key=f"k-{n}")
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=settings.CELERY_QUEUES_ALL
    ):
        (run,) = cob_dispatch.cob_close_dispatch(through=DAY, chunk_size=3, timeout=60)
    assert run.business_on == DAY and run.status == CobRun.Status.DONE
    assert CobChunk.objects.filter(business_on=DAY, step="accrue").count() == 3
    assert set(Loan.objects.values_list("interest_outstanding_fen", flat=True)) == {600}
    assert reconcile().is_clean and cob.lending_reconcile() == []
