"""The collections queue: cases opened and closed by sync, promises kept or broken on worked
examples, assignment (a race on PostgreSQL), the write-off proposal and recoveries, and the
workbench pages as a collections agent (403 as an inspector)."""

import datetime as dt
import random
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.utils import translation

from common.business_date import business_date_set
from common.errors import ApplicationError, ConflictError
from common.models import ApprovalRequest
from common.roles import roles_sync
from lending import cob, services
from lending import collections as collect
from lending.calculations import collections as rules
from lending.models import CollectionCase, ContactLog, Loan, LoanEvent, PromiseToPay
from lending.tasks_collections import collections_nightly
from payments import services as payments
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory


@pytest.fixture(autouse=True)
def in_english(settings):
    """The workbench answers in Chinese first; these checks read its English wording."""
    settings.LANGUAGE_CODE = "en"


MATURITY = DAY + dt.timedelta(days=10)


def user(name: str, role: str | None = None, **extra):
    roles_sync()
    person = get_user_model().objects.create_user(username=name, password="x", is_staff=True, **extra)
    if role:
        person.groups.add(Group.objects.get(name=role))
    return person


def login(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def spent_loan(amount_fen=1_000_000, code="ten-days") -> Loan:
    """A 10-day bullet loan drawn on DAY whose money the merchant spent at once."""
    product = ProductFactory(code=code, term=10)
    line = CreditLineFactory(product=product, merchant=MerchantFactory(), limit_fen=10_000_000)
    loan = draw(line, amount_fen, key=f"k-{line.pk}")
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=amount_fen,
        idempotency_key=f"gone-{loan.pk}",
    )
    return loan


def fund(loan, fen, key):
    payments.settlement_credit(wallet=loan.wallet, amount_fen=fen, idempotency_key=key)


def repay(loan, fen, on, key):
    fund(loan, fen, f"in-{key}")
    return services.loan_repay(loan=loan, amount_fen=fen, idempotency_key=key, actor="merchant", on=on)


def age(loan, days_past_due, status=Loan.Status.OVERDUE):
    """Test setup: put a loan where close of business would after so many days past due."""
    Loan.objects.filter(pk=loan.pk).update(
        status=status, days_past_due=days_past_due, max_days_past_due=days_past_due
    )


@pytest.fixture
def overdue(pool):
    """A loan made overdue by close of business itself: due on DAY+10, unpaid, closed to DAY+14."""
    loan = spent_loan()
    cob.close_through(through=MATURITY + dt.timedelta(days=4))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE and loan.days_past_due == 4
    return loan


ON = MATURITY + dt.timedelta(days=4)


# --- Sync --------------------------------------------------------------------------------------


def test_close_of_business_opens_one_case_for_an_overdue_loan_and_sync_closes_it_when_repaid(overdue):
    # The close that aged the loan opened its case; syncing the date again changes nothing.
    case = CollectionCase.objects.get()
    assert collect.cases_sync(on=ON) == {"closed": 0, "opened": 0, "rebucketed": 0}
    assert (case.status, case.bucket, case.strategy) == ("open", "M1", "M1")
    assert MATURITY < case.opened_on <= ON and case.next_action_on >= case.opened_on
    assert case.changes.get().kind == "opened"

    overdue.refresh_from_db()
    repay(overdue, overdue.total_outstanding_fen, ON, "all")
    overdue.refresh_from_db()
    assert overdue.status == Loan.Status.REPAID
    assert collect.cases_sync(on=ON)["closed"] == 1
    case.refresh_from_db()
    assert (case.status, case.close_reason, case.closed_on) == ("closed", "repaid", ON)
    assert list(case.changes.order_by("pk").values_list("kind", "to_status")) == [
        ("opened", "open"),
        ("repaid", "closed"),
    ]


def test_sync_moves_buckets_and_strategies_and_closes_a_cured_loan(pool):
    loan = spent_loan()
    age(loan, 45)
    collect.cases_sync(on=DAY)
    case = CollectionCase.objects.get()
    assert (case.bucket, case.strategy) == ("M2", "M2")
    CollectionCase.objects.filter(pk=case.pk).update(next_action_on=DAY + dt.timedelta(days=3))

    later = DAY + dt.timedelta(days=50)
    age(loan, 95)
    assert collect.cases_sync(on=later)["rebucketed"] == 1
    case.refresh_from_db()
    assert (case.bucket, case.strategy, case.next_action_on, case.synced_on) == ("M4", "M4+", later, later)
    age(loan, 130)  # M5: same strategy, the step's date stays
    collect.cases_sync(on=later + dt.timedelta(days=1))
    case.refresh_from_db()
    assert (case.bucket, case.strategy, case.next_action_on) == ("M5", "M4+", later)

    age(loan, 0, status=Loan.Status.ACTIVE)
    collect.cases_sync(on=later)
    case.refresh_from_db()
    assert (case.status, case.close_reason) == ("closed", "cured")
    # Overdue again: a new case.
    age(loan, 3)
    collect.cases_sync(on=later)
    assert CollectionCase.objects.filter(loan=loan, status="open").count() == 1
    assert CollectionCase.objects.filter(loan=loan).count() == 2


# --- Promises ----------------------------------------------------------------------------------


@pytest.fixture
def case(overdue):
    collect.cases_sync(on=ON)
    return CollectionCase.objects.get()


def test_promise_kept_by_two_repayments_within_its_window(case):
    agent = user("agent", "collections_agent")
    loan = case.loan
    promise = collect.promise_add(
        case=case, agent=agent, amount_fen=50_000, due_on=ON + dt.timedelta(days=5), on=ON
    )
    repay(loan, 30_000, ON + dt.timedelta(days=1), "p1")
    assert collect.promises_check(on=ON + dt.timedelta(days=1)) == {"kept": 0, "broken": 0}
    promise.refresh_from_db()
    assert (promise.status, promise.paid_fen) == ("pending", 30_000)
    repay(loan, 20_000, ON + dt.timedelta(days=3), "p2")
    assert collect.promises_check(on=ON + dt.timedelta(days=3)) == {"kept": 1, "broken": 0}
    promise.refresh_from_db()
    assert (promise.status, promise.paid_fen, promise.checked_on) == (
        "kept",
        50_000,
        ON + dt.timedelta(days=3),
    )
    assert collect.promises_check(on=ON + dt.timedelta(days=9)) == {"kept": 0, "broken": 0}


def test_promise_broken_when_its_due_date_closes_one_fen_short(case):
    agent = user("agent", "collections_agent")
    loan = case.loan
    repay(loan, 10_000, ON - dt.timedelta(days=1), "before")  # before the promise: does not count
    promise = collect.promise_add(
        case=case, agent=agent, amount_fen=50_000, due_on=ON + dt.timedelta(days=2), on=ON
    )
    repay(loan, 49_999, ON + dt.timedelta(days=1), "short")
    assert collect.promises_check(on=ON + dt.timedelta(days=1)) == {"kept": 0, "broken": 0}
    repay(loan, 1, ON + dt.timedelta(days=3), "late")  # after the due date: does not count
    assert collect.promises_check(on=ON + dt.timedelta(days=2)) == {"kept": 0, "broken": 1}
    promise.refresh_from_db()
    assert (promise.status, promise.paid_fen) == ("broken", 49_999)


def test_a_promise_must_be_within_what_is_owed_and_the_days_allowed(case, settings):
    agent = user("agent", "collections_agent")
    owed = case.loan.total_outstanding_fen
    with pytest.raises(ApplicationError) as too_much:
        collect.promise_add(case=case, agent=agent, amount_fen=owed + 1, due_on=ON, on=ON)
    assert "amount" in too_much.value.extra["fields"]
    settings.LENDING_PROMISE_MAX_DAYS = 14
    with pytest.raises(ApplicationError) as too_far:
        collect.promise_add(case=case, agent=agent, amount_fen=100, due_on=ON + dt.timedelta(days=15), on=ON)
    assert "due_on" in too_far.value.extra["fields"]
    with pytest.raises(ApplicationError) as past:
        collect.promise_add(case=case, agent=agent, amount_fen=100, due_on=ON - dt.timedelta(days=1), on=ON)
    assert "due_on" in past.value.extra["fields"]
    assert collect.promise_add(
        case=case, agent=agent, amount_fen=owed, due_on=ON + dt.timedelta(days=14), on=ON
    )


def test_the_nightly_task_syncs_and_checks_the_given_date(overdue):
    result = collections_nightly(on=ON.isoformat())
    # Close of business already synced the date: the nightly run finds nothing more to do.
    assert result == {"on": ON.isoformat(), "closed": 0, "opened": 0, "rebucketed": 0, "kept": 0, "broken": 0}
    assert CollectionCase.objects.filter(loan=overdue, status="open").count() == 1
    # Without a date: the last date close of business finished.
    assert collections_nightly()["on"] == ON.isoformat()


# --- Assignment --------------------------------------------------------------------------------


def test_assign_takes_a_free_case_and_refuses_a_taken_one_or_a_non_agent(case):
    ann, bob = user("ann", "collections_agent"), user("bob", "collections_agent")
    clerk = user("clerk", "inspector")
    with pytest.raises(ApplicationError) as refused:
        collect.case_assign(case=case, assignee=clerk)
    assert "assignee" in refused.value.extra["fields"]
    assert collect.case_assign(case=case, assignee=ann).assignee == ann
    with translation.override("en"), pytest.raises(ConflictError, match="held by ann"):
        collect.case_assign(case=case, assignee=bob)
    with translation.override("zh-hans"), pytest.raises(ConflictError, match="案件已被 ann 领取"):
        collect.case_assign(case=case, assignee=bob)
    # Handing over names the holder it replaces.
    assert collect.case_assign(case=case, assignee=bob, expected_assignee_id=ann.pk).assignee == bob


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_assigning_one_case_at_once_one_wins():
    open_pool()
    loan = spent_loan()
    age(loan, 20)
    collect.cases_sync(on=DAY)
    case = CollectionCase.objects.get()
    agents = [user("ann", "collections_agent"), user("bob", "collections_agent")]
    barrier = threading.Barrier(2)
    outcomes = []

    def take(agent):
        try:
            barrier.wait()
            collect.case_assign(case=case, assignee=agent)
            outcomes.append(("won", agent.username))
        except ConflictError:
            outcomes.append(("lost", agent.username))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(kind for kind, _ in outcomes) == ["lost", "won"]
    winner = next(name for kind, name in outcomes if kind == "won")
    assert CollectionCase.objects.get().assignee.username == winner


# --- Write-off and recovery --------------------------------------------------------------------


def test_write_off_proposal_needs_the_policy_then_creates_a_pending_request(case):
    agent = user("agent", "collections_agent")
    with pytest.raises(ApplicationError) as below:
        collect.case_write_off_propose(case=case, agent=agent, reason="gone", on=ON)
    assert "case" in below.value.extra["fields"]
    age(case.loan, 200)
    PromiseToPay.objects.create(
        case=case, loan=case.loan, amount_fen=100, made_on=ON, due_on=ON, status="broken", created_by=agent
    )
    request = collect.case_write_off_propose(case=case, agent=agent, reason="shop closed, owner gone", on=ON)
    assert (request.action, request.target, request.status) == (
        "loan.write_off",
        f"lending.Loan:{case.loan_id}",
        ApprovalRequest.Status.PENDING,
    )
    assert request.params == {"loan_id": case.loan_id, "reason": "shop closed, owner gone"}
    assert Loan.objects.get(pk=case.loan_id).status == Loan.Status.OVERDUE  # nothing happens on asking


def test_after_write_off_the_case_closes_and_a_recovery_is_recorded(case):
    agent = user("agent", "collections_agent")
    loan = case.loan
    services.loan_write_off(loan=loan, actor="a / b", reason="gone", on=ON)
    collect.cases_sync(on=ON)
    case.refresh_from_db()
    assert (case.status, case.close_reason) == ("closed", "written_off")
    fund(loan, 300_000, "found-money")
    event = collect.case_recovery_record(
        case=case, agent=agent, amount_fen=200_000, idempotency_key="r1", on=ON
    )
    assert (event.kind, event.principal_fen, event.actor) == ("recovered", 200_000, "agent")
    loan.refresh_from_db()
    assert loan.recovered_fen == 200_000


# --- The workbench -----------------------------------------------------------------------------


QUEUE = "/admin/lending/collectioncase/queue/"


def page(case):
    return f"/admin/lending/collectioncase/{case.pk}/work/"


def test_the_queue_orders_by_days_past_due_then_amount_and_filters(pool):
    business_date_set(on=DAY, allow_backwards=True)
    small, big, late = spent_loan(100_000, "a"), spent_loan(900_000, "b"), spent_loan(50_000, "c")
    age(small, 10)
    age(big, 10)
    age(late, 40)
    collect.cases_sync(on=DAY)
    agent = user("agent", "collections_agent")
    html = login(agent).get(QUEUE).content.decode()
    positions = [html.index(f'data-testid="case-{loan.reference}"') for loan in (late, big, small)]
    assert positions == sorted(positions)
    only_m1 = login(agent).get(QUEUE, {"bucket": "M1"}).content.decode()
    assert small.reference in only_m1 and late.reference not in only_m1


def test_an_agent_works_a_case_from_the_workbench(case):
    business_date_set(on=ON, allow_backwards=True)
    agent = user("agent", "collections_agent")
    client = login(agent)
    loan = case.loan
    assert loan.reference in client.get(QUEUE).content.decode()
    taken = client.post(QUEUE, {"case": case.pk}, follow=True).content.decode()
    assert "assigned to you" in taken
    assert loan.reference in client.get(QUEUE, {"assignee": "me"}).content.decode()

    html = client.get(page(case)).content.decode()
    assert "Reminder SMS" in html and "Total owed" in html and "agent" in html
    client.post(
        page(case), {"action": "contact", "channel": "phone", "outcome": "promised", "note": "will pay"}
    )
    contact = ContactLog.objects.get()
    assert (contact.agent, contact.channel, contact.business_on) == (agent, "phone", ON)
    case.refresh_from_db()
    assert case.next_action_on == ON + dt.timedelta(days=7)  # M1: every 7 days

    done = client.post(
        page(case),
        {"action": "promise", "amount": "500.00", "due_on": (ON + dt.timedelta(days=3)).isoformat()},
        follow=True,
    )
    assert "recorded" in done.content.decode()
    assert PromiseToPay.objects.get().amount_fen == 50_000
    bad = client.post(page(case), {"action": "promise", "amount": "5,00", "due_on": "soon"}, follow=True)
    assert bad.status_code == 200 and "amount" in bad.content.decode()
    assert PromiseToPay.objects.count() == 1


def test_write_off_proposed_from_the_case_page(case):
    business_date_set(on=ON, allow_backwards=True)
    agent = user("agent", "collections_agent")
    age(case.loan, 200)
    PromiseToPay.objects.create(
        case=case, loan=case.loan, amount_fen=100, made_on=ON, due_on=ON, status="broken", created_by=agent
    )
    html = login(agent).get(page(case)).content.decode()
    assert 'data-testid="write-off-form"' in html
    done = login(agent).post(page(case), {"action": "write_off", "reason": "owner vanished"}, follow=True)
    assert "waits for a second officer" in done.content.decode()
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


def test_an_inspector_may_not_see_the_queue_or_a_case(case):
    inspector = user("inspector", "inspector")
    assert login(inspector).get(QUEUE).status_code == 403
    assert login(inspector).get(page(case)).status_code == 403
    assert login(inspector).post(page(case), {"action": "assign"}).status_code == 403


# --- The check's statements against the pure rule -----------------------------------------------

COUNTED = ["repaid", "auto_deducted", "pledge_settled", "recovered"]


@pytest.mark.parametrize("seed", range(6))
def test_promises_check_agrees_with_the_pure_rule_day_by_day(case, seed):
    """Random promises and loan events over three weeks, checked each day by promises_check and by
    lending.calculations.collections.promise_outcome over the same events."""
    rng = random.Random(seed)
    agent = user("agent", "collections_agent")
    start = ON
    days = [start + dt.timedelta(days=n) for n in range(21)]
    events = []
    for _ in range(rng.randint(0, 12)):
        kind = rng.choice([*COUNTED, "fell_due", "disbursed"])
        amount = rng.choice([1, 999, 5_000, 20_000])
        on = rng.choice(days)
        LoanEvent.objects.create(
            loan=case.loan, kind=kind, business_on=on, principal_fen=amount // 2, fee_fen=amount - amount // 2
        )
        events.append((kind, on, amount))
    promises = []
    for _ in range(rng.randint(1, 8)):
        made_on = rng.choice(days[:14])
        promise = PromiseToPay.objects.create(
            case=case,
            loan=case.loan,
            amount_fen=rng.choice([1, 1_000, 5_000, 25_000, 60_000]),
            made_on=made_on,
            due_on=made_on + dt.timedelta(days=rng.randint(0, 7)),
            created_by=agent,
        )
        promises.append(promise)
    expected = {p.pk: "pending" for p in promises}
    for day in days:
        collect.promises_check(on=day)
        for p in promises:
            if expected[p.pk] != "pending" or p.made_on > day:
                continue
            paid = sum(
                amount
                for kind, on, amount in events
                if kind in COUNTED and p.made_on <= on <= min(p.due_on, day)
            )
            expected[p.pk] = rules.promise_outcome(
                amount_fen=p.amount_fen, paid_fen=paid, due_on=p.due_on, on=day
            )
        assert dict(PromiseToPay.objects.values_list("pk", "status")) == expected, day


def test_a_recovery_is_recorded_from_the_case_page_of_a_written_off_loan(case):
    business_date_set(on=ON, allow_backwards=True)
    agent = user("agent", "collections_agent")
    services.loan_write_off(loan=case.loan, actor="a / b", reason="gone", on=ON)
    collect.cases_sync(on=ON)
    fund(case.loan, 150_000, "found")
    html = login(agent).get(page(case)).content.decode()
    assert 'data-testid="recover-form"' in html and 'data-testid="contact-form"' not in html
    done = login(agent).post(
        page(case), {"action": "recover", "amount": "1000.00", "key": "once"}, follow=True
    )
    assert "Recovered ¥1,000.00" in done.content.decode()
    login(agent).post(page(case), {"action": "recover", "amount": "1000.00", "key": "once"})  # a double click
    assert Loan.objects.get(pk=case.loan_id).recovered_fen == 100_000


def test_a_contact_with_an_unknown_channel_is_refused_naming_it(case):
    agent = user("agent", "collections_agent")
    with pytest.raises(ApplicationError) as refused:
        collect.contact_log_add(case=case, agent=agent, channel="fax", outcome="reached", note="", on=ON)
    assert list(refused.value.extra["fields"]) == ["channel"]
    assert not ContactLog.objects.exists()
