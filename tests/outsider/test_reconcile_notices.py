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

from common.business_date import business_date_today
from lending import cob, services
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


def test_principal_moved_between_two_loans_of_one_pool_is_noticed_naming_both(db):
    """+100 on one loan, −100 on another of the same pool: the loans' total, the pool's and
    loans receivable all still agree; each loan no longer agrees with the ledger's entries of
    its drawdown and repayments (LoanEvent.entry), and both are named."""
    open_pool()
    first = draw(CreditLineFactory(limit_fen=5_000_000), 1_000_000, key="a")
    second = draw(CreditLineFactory(limit_fen=5_000_000), 2_000_000, key="b")
    cob.close_through(through=DAY + dt.timedelta(days=2))
    payments.settlement_credit(wallet=first.wallet, amount_fen=300_000, idempotency_key="in")
    services.loan_repay(
        loan=first, amount_fen=300_000, idempotency_key="r", actor="merchant", on=business_date_today()
    )
    first.refresh_from_db()
    owed = first.principal_outstanding_fen
    assert 700_000 < owed < 1_000_000
    assert "books balance: no differences" in run("reconcile")
    sql(
        "UPDATE lending_loan SET principal_outstanding_fen = principal_outstanding_fen "
        "+ CASE id WHEN %s THEN 100 ELSE -100 END WHERE id IN (%s, %s)",
        [first.pk, first.pk, second.pk],
    )
    out = StringIO()
    with pytest.raises(CommandError, match="2 difference"):
        call_command("reconcile", stdout=out)
    text = out.getvalue()
    assert (
        f"loan {first.reference}: principal outstanding {owed + 100} != its ledger entries' {owed}"
    ) in text
    assert f"loan {second.reference}: principal outstanding 1999900 != its ledger entries' 2000000" in text


def test_a_loans_event_changed_behind_the_ledger_is_noticed_naming_the_entry(db):
    """The loan's row and its event changed alike: the event no longer agrees with the entry
    it names."""
    open_pool()
    loan = draw(CreditLineFactory(limit_fen=5_000_000), 1_000_000, key="a")
    assert "books balance: no differences" in run("reconcile")
    sql("UPDATE lending_loan SET principal_outstanding_fen = 999900 WHERE id = %s", [loan.pk])
    sql("UPDATE lending_loanevent SET principal_fen = 999900 WHERE loan_id = %s", [loan.pk])
    sql("UPDATE payments_fundingpool SET principal_outstanding_fen = principal_outstanding_fen - 100", [])
    out = StringIO()
    with pytest.raises(CommandError, match="difference"):
        call_command("reconcile", stdout=out)
    entry = loan.events.get().entry_id
    assert f"entry {entry}: loans receivable moves 1000000, its loans' events ({loan.reference}) 999900" in (
        out.getvalue()
    )


def trial_balance_page(client, language: str) -> str:
    page = client.get("/admin/payments/account/trial-balance/", headers={"accept-language": language})
    assert page.status_code == 200
    return page.content.decode()


@pytest.fixture
def officer(db):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("auditor", password="x"))
    return client


@pytest.fixture
def eager_tasks(django_capture_on_commit_callbacks):
    """The trial-balance page's button, its task run at once in this process on commit (as a
    worker would run it): call with the client."""
    from config.celery import app

    def check_each_loan(client) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/admin/lending/loan/book-check/")
        assert response.status_code == 302 and response.url == "/admin/payments/account/trial-balance/"

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield check_each_loan
    app.conf.task_always_eager = before


def test_the_trial_balance_page_shows_the_loan_book_and_the_pools_against_the_ledger(
    officer, two_pools, eager_tasks
):
    first, _, (loan_a, loan_b) = two_pools
    page = trial_balance_page(officer, "zh-hans")
    assert "借款台账与总账核对" in page and "资金池与其在贷借款核对" in page
    eager_tasks(officer)
    page = trial_balance_page(officer, "zh-hans")
    assert "每笔借款的未还本金与其会计分录一致" in page
    assert "账务平衡" in page
    # Principal moved between the pools and from one loan to another behind the ledger's back.
    sql(
        "UPDATE payments_fundingpool SET principal_outstanding_fen = principal_outstanding_fen "
        "+ CASE id WHEN %s THEN 500 ELSE -500 END",
        [first.pk],
    )
    sql(
        "UPDATE lending_loan SET principal_outstanding_fen = principal_outstanding_fen "
        "+ CASE id WHEN %s THEN 100 ELSE -100 END",
        [loan_a.pk],
    )
    # The pools as they are now; each loan as the last check found it, until it is checked again.
    page = trial_balance_page(officer, "en")
    assert "(main)" in page and ">4.00<" in page and loan_a.reference not in page
    eager_tasks(officer)
    for language, words in (
        ("zh-hans", ("借款台账与总账不符", "逐笔借款与其会计分录核对", "差额（元）")),
        (
            "en",
            (
                "the loan book differs from the ledger",
                "Each loan against its ledger entries",
                "Difference (¥)",
            ),
        ),
    ):
        page = trial_balance_page(officer, language)
        for word in words:
            assert word in page, (language, word)
        # Each pool with its figures and difference, each loan named with its difference.
        assert "(main)" in page and "(second)" in page
        assert "10,005.00" in page and "19,995.00" in page
        assert loan_a.reference in page and loan_b.reference in page
        assert ">1.00<" in page and ">-1.00<" in page
        assert ">4.00<" in page and ">-4.00<" in page  # 500 fen moved, 100 of it with a loan


def test_the_trial_balance_pages_queries_do_not_grow_with_the_loans(officer, two_pools):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(db) as few:
        trial_balance_page(officer, "zh-hans")
    line = CreditLineFactory(limit_fen=50_000_000)
    for n in range(6):
        draw(line, 1_000_000, key=f"more-{n}")
    with CaptureQueriesContext(db) as many:
        trial_balance_page(officer, "zh-hans")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_trial_balance_page_reads_no_loan_event(officer, two_pools):
    """Each loan against its entries reads every loan event and every loans-receivable posting
    ever written (1.6 s at 1,000,000 loans): the page shows the last check's result instead of
    running it on each view."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(db) as queries:
        trial_balance_page(officer, "en")
    assert not [q["sql"] for q in queries.captured_queries if "lending_loanevent" in q["sql"]]


def test_each_loan_is_checked_from_the_page_and_shown_with_when_and_by_whom(officer, two_pools, eager_tasks):
    _, _, (loan_a, loan_b) = two_pools
    page = trial_balance_page(officer, "en")
    assert "Not checked yet" in page and "Check each loan now" in page
    sql(
        "UPDATE lending_loan SET principal_outstanding_fen = principal_outstanding_fen "
        "+ CASE id WHEN %s THEN 100 ELSE -100 END",
        [loan_a.pk],
    )
    eager_tasks(officer)
    page = trial_balance_page(officer, "en")
    assert "started by auditor" in page and "Not checked yet" not in page
    assert loan_a.reference in page and loan_b.reference in page
    assert "the loan book differs from the ledger" in page
    page = trial_balance_page(officer, "zh-hans")
    assert "由 auditor 发起" in page and loan_a.reference in page
    # The same check as `manage.py reconcile` makes, which stays whole.
    with pytest.raises(CommandError, match="difference"):
        call_command("reconcile", stdout=StringIO())


def test_the_nightly_task_checks_each_loan_for_the_page(
    officer, two_pools, eager_tasks, django_capture_on_commit_callbacks
):
    from common.models import Job
    from lending.reconciliation import CHECK_KIND
    from lending.tasks import loan_book_check_nightly

    with django_capture_on_commit_callbacks(execute=True):
        job_id = loan_book_check_nightly.delay().get()
    job = Job.objects.get(pk=job_id)
    assert job.kind == CHECK_KIND and job.status == Job.Status.DONE and job.created_by is None
    assert job.result == {"loans": [], "loans_more": 0, "entries": [], "entries_more": 0}
    page = trial_balance_page(officer, "en")
    assert "by the nightly check" in page
    assert "principal outstanding agrees with its ledger entries, and every entry with its loans" in page


def test_a_second_check_while_one_is_queued_is_that_one(officer, two_pools):
    from common.models import Job
    from lending.reconciliation import CHECK_KIND

    response = officer.post("/admin/lending/loan/book-check/")  # queued: no worker runs it here
    assert response.status_code == 302
    page = trial_balance_page(officer, "en")
    assert "is running" in page and "Check each loan now" not in page
    response = officer.post("/admin/lending/loan/book-check/", follow=True, headers={"accept-language": "en"})
    assert "A check of each loan is running already." in response.content.decode()
    assert Job.objects.filter(kind=CHECK_KIND).count() == 1
