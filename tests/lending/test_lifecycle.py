"""One lifecycle for loans and credit lines: a declared transition table, one compare-and-set
transition that records who or which run, why, the business date, before and after, and a
set-based variant for close of business that writes exactly the rows the per-row one does."""

import datetime as dt
import random
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from common.business_date import business_date_today
from common.errors import ConflictError
from lending import cob, lifecycle, services
from lending.models import (
    LINE_TRANSITIONS,
    LOAN_OPEN_STATUSES,
    LOAN_TRANSITIONS,
    CobRun,
    CreditLine,
    CreditLineChange,
    Installment,
    Loan,
    LoanStatusChange,
    Transition,
)
from payments import services as payments
from tests.conftest import requires_postgres
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory

HISTORY = ("kind", "from_status", "to_status", "business_on", "actor", "cob_run", "reason")


def history(loan: Loan) -> list[tuple]:
    return list(LoanStatusChange.objects.filter(loan=loan).order_by("pk").values_list(*HISTORY))


def random_twins(rng: random.Random, today: dt.date, *, also=None, count: int = 24) -> list[tuple[int, int]]:
    """Pairs of loans in the same random state (status, oldest unpaid due date, and whatever
    `also(rng)` returns as further columns), each pair (a, b) twins."""
    twins = []
    for number in range(count):
        columns = {
            "status": rng.choice(["active", "overdue", "repaid", "written_off"]),
            "oldest_unpaid_due_on": rng.choice([None, today, today - dt.timedelta(days=rng.randint(1, 90))]),
            **(also(rng) if also is not None else {}),
        }
        pair = []
        for side in "ab":
            loan = draw(CreditLineFactory(), 500_000, key=f"{number}{side}")
            Loan.objects.filter(pk=loan.pk).update(**columns)
            pair.append(loan.pk)
        twins.append((pair[0], pair[1]))
    return twins


def drained_loan(line: CreditLine, amount_fen: int, key: str) -> Loan:
    """A loan whose drawn money has left the wallet: nothing to collect on its due dates."""
    loan = draw(line, amount_fen, key=key)
    sink = payments.wallet_open(merchant=CreditLineFactory().merchant)
    payments.wallet_to_wallet(
        source=loan.wallet, target=sink, amount_fen=amount_fen, idempotency_key=f"out-{key}"
    )
    return loan


def test_the_tables_name_only_declared_statuses_and_final_ones_have_no_way_out():
    for table, choices in ((LOAN_TRANSITIONS, Loan.Status), (LINE_TRANSITIONS, CreditLine.Status)):
        for step in table.values():
            assert step.target in choices.values and step.sources <= set(choices.values)
    assert {Loan.Status.ACTIVE, Loan.Status.OVERDUE} == LOAN_OPEN_STATUSES
    assert not any(
        status in step.sources for step in LOAN_TRANSITIONS.values() for status in ("repaid", "written_off")
    )


def test_a_loan_records_its_drawdown_ageing_cure_and_repayment_with_who_and_which_run(pool):
    line = CreditLineFactory(product=ProductFactory(term=30))
    loan = drained_loan(line, 1_000_000, "k")
    drawn_on = loan.disbursed_on
    due_on = Installment.objects.get(loan=loan).due_on
    cob.close_through(through=due_on + dt.timedelta(days=1))
    run = CobRun.objects.get(business_on=due_on + dt.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE
    payments.settlement_credit(
        wallet=loan.wallet, amount_fen=loan.total_outstanding_fen, idempotency_key="in"
    )
    services.loan_repay(
        loan=loan, amount_fen=None, idempotency_key="all", actor="merchant:seller", on=business_date_today()
    )
    assert history(loan) == [
        ("disbursed", "", "active", drawn_on, "test", None, "drawdown"),
        (
            "fell_overdue",
            "active",
            "overdue",
            run.business_on,
            "close of business",
            run.pk,
            "an amount fallen due is unpaid",
        ),
        (
            "repaid",
            "overdue",
            "repaid",
            business_date_today(),
            "merchant:seller",
            None,
            "everything owed is paid",
        ),
    ]


def test_paying_what_is_due_cures_an_overdue_loan_and_paying_less_does_not(pool):
    product = ProductFactory(code="fixed", term=3, term_unit="months", repayment_method="monthly_interest")
    loan = drained_loan(CreditLineFactory(product=product), 1_000_000, "k")
    first_due = Installment.objects.filter(loan=loan).order_by("number").first().due_on
    cob.close_through(through=first_due + dt.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE and loan.due_principal_fen == 0
    due = loan.due_interest_fen + loan.penalty_outstanding_fen
    payments.settlement_credit(wallet=loan.wallet, amount_fen=due, idempotency_key="in")
    services.loan_repay(
        loan=loan, amount_fen=due - 1, idempotency_key="short", actor="m", on=business_date_today()
    )
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.OVERDUE
    services.loan_repay(loan=loan, amount_fen=1, idempotency_key="rest", actor="m", on=business_date_today())
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due, loan.oldest_unpaid_due_on) == (Loan.Status.ACTIVE, 0, None)
    assert history(loan)[-1] == (
        "cured",
        "overdue",
        "active",
        business_date_today(),
        "m",
        None,
        "everything due is paid",
    )


def test_write_off_is_recorded_and_a_written_off_loan_moves_no_further(pool):
    loan = draw(CreditLineFactory(), 500_000)
    services.loan_write_off(loan=loan, actor="officer.wang", reason="shop vanished", on=business_date_today())
    assert history(loan)[-1] == (
        "written_off",
        "active",
        "written_off",
        business_date_today(),
        "officer.wang",
        None,
        "shop vanished",
    )
    # Refused naming the status by its label in the reader's language
    with pytest.raises(ConflictError, match=str(Loan.Status.WRITTEN_OFF.label)):
        services.loan_write_off(loan=loan, actor="officer.wang", reason="again", on=business_date_today())
    with pytest.raises(ConflictError, match="cannot be cured"):
        lifecycle.transition(
            lifecycle.LOAN, pk=loan.pk, event="cured", business_on=business_date_today(), actor="x"
        )
    assert len(history(loan)) == 2
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF


def test_a_new_state_fits_by_a_table_entry(pool, monkeypatch):
    """What risk control will do: a new status and its events are entries in the table; the
    transition, its history and the set-based variant need nothing else."""
    monkeypatch.setitem(LOAN_TRANSITIONS, "restructured", Transition(frozenset({"overdue"}), "restructured"))
    monkeypatch.setitem(
        LOAN_TRANSITIONS, "restructuring_done", Transition(frozenset({"restructured"}), "active")
    )
    first, second = draw(CreditLineFactory(), 500_000, key="a"), draw(CreditLineFactory(), 500_000, key="b")
    Loan.objects.filter(pk__in=[first.pk, second.pk]).update(status=Loan.Status.OVERDUE)
    today = business_date_today()
    lifecycle.transition(lifecycle.LOAN, pk=first.pk, event="restructured", business_on=today, actor="risk")
    moved = lifecycle.transition_many(
        lifecycle.LOAN, event="restructured", where="id = %(id)s", params={"id": second.pk}, business_on=today
    )
    assert moved == 1
    assert set(Loan.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        "restructured"
    }
    lifecycle.transition(
        lifecycle.LOAN, pk=first.pk, event="restructuring_done", business_on=today, actor="risk"
    )
    assert [row[:3] for row in history(first)][1:] == [
        ("restructured", "overdue", "restructured"),
        ("restructuring_done", "restructured", "active"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_the_set_based_transition_writes_the_rows_the_per_row_one_does(seed):
    """Twin loans in random states; every event moved per row on one twin (selected in
    Python) and set-based on the other (selected in SQL): identical statuses and history."""
    open_pool()
    rng = random.Random(seed)
    today = business_date_today()
    run = CobRun.objects.create(business_on=today)
    twins = random_twins(rng, today)
    per_row = [a for a, _ in twins]
    set_based = [b for _, b in twins]
    past_due_sql = f"oldest_unpaid_due_on IS NOT NULL AND {cob._days_since('oldest_unpaid_due_on')} > 0"

    def past_due(loan):
        return loan.oldest_unpaid_due_on is not None and loan.oldest_unpaid_due_on < today

    for event, where, selects in (
        ("fell_overdue", past_due_sql, past_due),
        ("cured", f"NOT ({past_due_sql})", lambda loan: not past_due(loan)),
        (
            "written_off",
            "oldest_unpaid_due_on IS NOT NULL",
            lambda loan: loan.oldest_unpaid_due_on is not None,
        ),
    ):
        sources = LOAN_TRANSITIONS[event].sources
        for loan in Loan.objects.filter(pk__in=per_row).order_by("pk"):
            if loan.status in sources and selects(loan):
                lifecycle.transition(
                    lifecycle.LOAN,
                    pk=loan.pk,
                    event=event,
                    business_on=today,
                    actor=lifecycle.CLOSE_OF_BUSINESS,
                    reason=f"reason for {event}",
                    cob_run_id=run.pk,
                )
        ids = ",".join(str(pk) for pk in set_based)
        lifecycle.transition_many(
            lifecycle.LOAN,
            event=event,
            where=f"id IN ({ids}) AND {where}",
            params={"on": cob._date_param(today)},
            business_on=today,
            reason=f"reason for {event}",
            cob_run_id=run.pk,
        )
    moved = 0
    for a, b in twins:
        rows_a = LoanStatusChange.objects.filter(loan_id=a).order_by("pk").values_list(*HISTORY)
        rows_b = LoanStatusChange.objects.filter(loan_id=b).order_by("pk").values_list(*HISTORY)
        assert list(rows_a) == list(rows_b), (a, b)
        assert Loan.objects.get(pk=a).status == Loan.objects.get(pk=b).status
        moved += len(rows_a) - 1
    assert moved > 0


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_moves_inside_an_update_write_the_rows_the_set_based_transitions_do(seed):
    """Close of business moves statuses inside the UPDATE that writes the loans' figures
    (`moves_sql`, recorded just before by `moves_record`): twin loans in random states, one twin
    moved by `transition_many` per event in turn, the other in one UPDATE; identical statuses,
    identical history, written in the same order."""
    open_pool()
    rng = random.Random(seed)
    today = business_date_today()
    run = CobRun.objects.create(business_on=today)
    twins = random_twins(rng, today, also=lambda rng: {"fee_outstanding_fen": rng.choice([0, 0, 100])})
    past_due_sql = f"oldest_unpaid_due_on IS NOT NULL AND {cob._days_since('oldest_unpaid_due_on')} > 0"
    # As the deduction's moves (repaid first), then the accrual's, each pair exclusive.
    moves = (
        ("repaid", "fee_outstanding_fen = 100 AND oldest_unpaid_due_on IS NULL", "repaid here"),
        ("fell_overdue", past_due_sql, "fell overdue here"),
        ("cured", f"NOT ({past_due_sql}) AND fee_outstanding_fen = 0", "cured here"),
    )
    params = {"on": cob._date_param(today)}
    one_by_one = ",".join(str(a) for a, _ in twins)
    for event, condition, reason in moves:
        lifecycle.transition_many(
            lifecycle.LOAN,
            event=event,
            where=f"id IN ({one_by_one}) AND {condition}",
            params=params,
            business_on=today,
            reason=reason,
            cob_run_id=run.pk,
        )
    in_update = ",".join(str(b) for _, b in twins)
    recorded = lifecycle.moves_record(
        lifecycle.LOAN,
        moves=moves,
        rows=f"lending_loan WHERE id IN ({in_update})",
        params=params,
        business_on=today,
        cob_run_id=run.pk,
    )
    status = lifecycle.moves_sql(lifecycle.LOAN, [(event, condition) for event, condition, _ in moves])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE lending_loan SET status = {status} WHERE id IN ({in_update})", params)  # noqa: S608
    twin_of = {b: a for a, b in twins}

    def written(loans):
        return [
            (twin_of.get(loan_id, loan_id), *row)
            for loan_id, *row in LoanStatusChange.objects.filter(loan_id__in=loans, business_on=today)
            .exclude(kind="disbursed")
            .order_by("pk")
            .values_list("loan_id", *HISTORY)
        ]

    assert written([b for _, b in twins]) == written([a for a, _ in twins])
    assert recorded == len(written([b for _, b in twins])) > 0
    for a, b in twins:
        assert Loan.objects.get(pk=a).status == Loan.objects.get(pk=b).status


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_officers_moving_a_loan_at_once_exactly_one_moves_it():
    open_pool()
    loan = draw(CreditLineFactory(), 500_000)
    today = business_date_today()
    barrier = threading.Barrier(4)
    outcomes = []

    def move(n):
        try:
            barrier.wait()
            lifecycle.transition(
                lifecycle.LOAN, pk=loan.pk, event="fell_overdue", business_on=today, actor=f"o{n}"
            )
            outcomes.append("moved")
        except ConflictError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["moved", "refused", "refused", "refused"]
    assert LoanStatusChange.objects.filter(loan=loan, kind="fell_overdue").count() == 1


def test_a_line_records_opening_and_every_status_change_with_the_business_date(pool):
    merchant = CreditLineFactory().merchant
    product = ProductFactory(code="fixed", amount_min_fen=5_000_000, amount_max_fen=100_000_000)
    line = services.credit_line_open(
        merchant=merchant,
        product=product,
        limit_fen=5_000_000,
        daily_rate=product.daily_rate,
        grade="B",
        actor="scoring",
        reason="offer 1",
        on=business_date_today(),
    )
    services.credit_line_freeze(line=line, actor="risk", reason="early warning", on=business_date_today())
    with pytest.raises(ConflictError, match="cannot be frozen"):
        services.credit_line_freeze(line=line, actor="risk", reason="twice", on=business_date_today())
    services.credit_line_close(line=line, actor="risk", reason="done", on=business_date_today())
    today = business_date_today()
    rows = list(
        CreditLineChange.objects.filter(line=line)
        .order_by("pk")
        .values_list("kind", "from_status", "to_status", "business_on", "actor", "reason")
    )
    assert rows == [
        ("opened", "", "active", today, "scoring", "offer 1"),
        ("frozen", "active", "frozen", today, "risk", "early warning"),
        ("closed", "frozen", "closed", today, "risk", "done"),
    ]


def test_the_workbench_shows_the_status_history_read_only(pool):
    loan = draw(CreditLineFactory(), 500_000)
    services.loan_write_off(
        loan=loan, actor="officer.wang", reason="shop vanished 失联", on=business_date_today()
    )
    services.credit_line_freeze(
        line=loan.line, actor="officer.wang", reason="under review", on=business_date_today()
    )
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username="boss", password="x"))
    page = client.get(f"/admin/lending/loan/{loan.pk}/change/").content.decode()
    assert "状态变更记录" in page and "shop vanished 失联" in page and "officer.wang" in page
    assert 'name="status_changes-0-reason"' not in page  # shown, not editable
    line_page = client.get(f"/admin/lending/creditline/{loan.line_id}/change/").content.decode()
    assert "变更记录" in line_page and "under review" in line_page
