"""What must hold when many requests race for the same money: real PostgreSQL, real threads,
committed transactions. Each test starts its threads together behind a barrier, lets them run
to the end, then checks the books: nothing overdrawn, nothing moved twice, no deadlock (read
from PostgreSQL's own counter, because the services retry a deadlock silently), and a clean
reconciliation.

At most 50 threads run at once (one connection each), so the tests fit in PostgreSQL's default
100 connections alongside other sessions; where a test sends more requests than that, each
thread sends several in turn."""

import datetime as dt
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import accumulate

import pytest
from django.db import connection
from django.utils import timezone

from common.business_date import business_date_today
from common.errors import ApplicationError, ConflictError
from payments import services, tasks
from payments.models import Account, Hold, JournalEntry, Payout, Posting
from payments.reconciliation import reconcile, trial_balance
from tests.conftest import requires_postgres
from tests.merchants.factories import MerchantFactory

P = Account.Purpose
EntryResult = services.EntryResult


# --- the harness -----------------------------------------------------------------------------


def run_concurrently(work: Callable, items: Sequence, *, threads: int) -> list:
    """Call `work(item)` for every item from `threads` threads that start together (thread k
    takes items k, k + threads, ...). Returns, in item order, what each call returned or the
    exception it raised. Every thread closes its own connection at the end."""
    outcomes: list = [None] * len(items)
    barrier = threading.Barrier(threads)
    crashed: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier, so the calls race
            barrier.wait(timeout=60)
            for i in range(k, len(items), threads):
                try:
                    outcomes[i] = work(items[i])
                except Exception as exc:
                    outcomes[i] = exc
            flush_statistics()
        except BaseException as exc:
            crashed.append(exc)
            barrier.abort()
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(k,), name=f"racer-{k}") for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in pool), "a thread is still running after 300 s"
    assert not crashed, f"a thread failed outside the work itself: {crashed[0]!r}"
    return outcomes


def flush_statistics() -> None:
    """Make this session report its statistics (deadlocks among them) before it answers, so the
    counter read afterwards is complete without waiting for anything."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


def deadlocks_detected() -> int:
    """PostgreSQL's count of deadlocks it broke in this database (the services retry a deadlock
    victim, so a deadlock would not show up as an error)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def unexpected(outcomes: Sequence, *allowed: type[Exception]) -> list:
    """The outcomes that are neither results nor one of the allowed errors (for messages)."""
    return [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, allowed)][:5]


def new_wallet() -> Account:
    return services.wallet_open(merchant=MerchantFactory())


def balance(account: Account) -> int:
    account.refresh_from_db()
    return account.balance_fen


def running_balances(account: Account) -> list[int]:
    """The account's balance after each of its postings, in the order they were written. A
    movement writes its postings while it holds the account's row lock, so posting ids on one
    account follow the order in which the movements were serialised."""
    amounts = Posting.objects.filter(account=account).order_by("pk").values_list("amount_fen", flat=True)
    return [total * account.normal_sign for total in accumulate(amounts)]


def open_platform_accounts() -> None:
    """Open the platform's accounts up front, so the racing threads only lock them."""
    for purpose in services.PLATFORM_ACCOUNTS:
        services.platform_account(purpose)


# --- deductions racing for the last yuan ------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_hundred_deductions_racing_for_137_take_exactly_137_and_never_overdraw():
    open_platform_accounts()
    wallet, fee = new_wallet(), services.platform_account(P.FEE_INCOME)
    services.settlement_credit(wallet=wallet, amount_fen=137 * 100, idempotency_key="fund")
    deadlocks_before = deadlocks_detected()

    def deduct(i: int) -> EntryResult:
        return services.collection_take(
            wallet=wallet,
            allocations=[(fee, 100)],
            idempotency_key=f"take-{i}",
            allow_partial=False,
        )

    outcomes = run_concurrently(deduct, range(200), threads=40)

    taken = [o for o in outcomes if isinstance(o, EntryResult)]
    refused = [o for o in outcomes if not isinstance(o, EntryResult)]
    assert not unexpected(outcomes, services.InsufficientFunds)
    assert len(taken) == 137 and all(r.amount_fen == 100 for r in taken)
    assert len(refused) == 63 and all("insufficient funds" in str(e) for e in refused)
    assert balance(wallet) == 0
    assert balance(fee) == 13_700
    assert min(running_balances(wallet)) == 0  # never below zero at any point
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.COLLECTION).count() == 137
    assert deadlocks_detected() == deadlocks_before
    assert reconcile().is_clean


# --- transfers in both directions ------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_thousand_transfers_both_ways_between_two_wallets_conserve_money_without_deadlock():
    open_platform_accounts()
    a, b = new_wallet(), new_wallet()
    for wallet in (a, b):
        services.settlement_credit(wallet=wallet, amount_fen=40_000, idempotency_key=f"fund-{wallet.pk}")
    rng = random.Random(20240611)
    transfers = [(i, rng.random() < 0.5, rng.randint(1, 5_000)) for i in range(1_000)]
    deadlocks_before = deadlocks_detected()

    def send(transfer: tuple[int, bool, int]) -> EntryResult:
        i, a_to_b, amount = transfer
        source, target = (a, b) if a_to_b else (b, a)
        return services.wallet_to_wallet(
            source=source, target=target, amount_fen=amount, idempotency_key=f"t-{i}"
        )

    outcomes = run_concurrently(send, transfers, threads=50)

    assert not unexpected(outcomes, services.InsufficientFunds)
    done = [t for t, o in zip(transfers, outcomes, strict=True) if isinstance(o, EntryResult)]
    a_to_b = sum(amount for _, to_b, amount in done if to_b)
    b_to_a = sum(amount for _, to_b, amount in done if not to_b)
    assert (balance(a), balance(b)) == (40_000 - a_to_b + b_to_a, 40_000 - b_to_a + a_to_b)
    assert balance(a) + balance(b) == 80_000
    assert min(running_balances(a)) >= 0 and min(running_balances(b)) >= 0
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.TRANSFER).count() == len(done)
    assert deadlocks_detected() == deadlocks_before
    assert reconcile().is_clean
    rows = trial_balance(through=business_date_today())
    assert sum(r.net_fen for r in rows) == 0
    assert sum(r.debit_fen for r in rows) == sum(r.credit_fen for r in rows) > 0


# --- one idempotency key, many requests at once ------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_settlement_sent_a_hundred_times_at_once_moves_money_once():
    open_platform_accounts()
    wallet = new_wallet()

    def settle(_: int) -> EntryResult:
        return services.settlement_credit(wallet=wallet, amount_fen=8_888, idempotency_key="settle-once")

    outcomes = run_concurrently(settle, range(100), threads=50)

    assert not unexpected(outcomes)
    entry = JournalEntry.objects.get(idempotency_key="settle-once")
    results = [o for o in outcomes if isinstance(o, EntryResult)]
    assert results, "every request was told to retry later"
    assert {r.entry_id for r in results} == {entry.pk}
    assert {r.amount_fen for r in results} == {8_888}
    assert sum(not r.replayed for r in results) == 1
    assert JournalEntry.objects.count() == 1
    assert balance(wallet) == 8_888
    assert reconcile().is_clean


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_disbursement_key_with_different_amounts_at_once_pays_one_and_refuses_the_others():
    open_platform_accounts()
    pool = services.funding_pool_create(code="race", name="Race pool")
    services.funding_pool_add_capital(pool=pool, amount_fen=1_000_000, idempotency_key="cap")
    wallet = new_wallet()
    amounts = [10_000 + 100 * (i % 5) for i in range(100)]  # five different requests, one key

    def disburse(amount: int) -> EntryResult:
        return services.disbursement_make(
            pool=pool, wallet=wallet, amount_fen=amount, idempotency_key="loan-1"
        )

    outcomes = run_concurrently(disburse, amounts, threads=50)

    assert not unexpected(outcomes, ConflictError)
    entry = JournalEntry.objects.get(idempotency_key="loan-1")
    paid = balance(wallet)
    assert paid in set(amounts)
    for amount, outcome in zip(amounts, outcomes, strict=True):
        if amount == paid:
            assert isinstance(outcome, EntryResult), outcome
            if isinstance(outcome, EntryResult):
                assert (outcome.entry_id, outcome.amount_fen) == (entry.pk, paid)
        else:
            assert isinstance(outcome, ConflictError), (amount, outcome)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.DISBURSEMENT).count() == 1
    pool.refresh_from_db()
    assert pool.principal_outstanding_fen == paid
    assert reconcile().is_clean


# --- a funding pool's capacity -------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_disbursements_racing_for_a_pool_with_room_for_seventeen_pay_exactly_seventeen():
    open_platform_accounts()
    pool = services.funding_pool_create(code="tight", name="Tight pool")
    services.funding_pool_add_capital(pool=pool, amount_fen=100_000, idempotency_key="cap")
    services.funding_pool_borrow(pool=pool, amount_fen=70_000, idempotency_key="borrow")
    wallets = [new_wallet() for _ in range(50)]
    deadlocks_before = deadlocks_detected()

    def disburse(wallet: Account) -> EntryResult:
        return services.disbursement_make(
            pool=pool, wallet=wallet, amount_fen=10_000, idempotency_key=f"loan-{wallet.pk}"
        )

    outcomes = run_concurrently(disburse, wallets, threads=50)

    assert not unexpected(outcomes, ApplicationError)
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert all(type(e) is ApplicationError and "capacity" in str(e) for e in refused), refused[:3]
    assert len(refused) == 33
    paid = [w for w, o in zip(wallets, outcomes, strict=True) if isinstance(o, EntryResult)]
    assert len(paid) == 17
    assert sorted(balance(w) for w in wallets) == [0] * 33 + [10_000] * 17
    pool.refresh_from_db()
    assert pool.principal_outstanding_fen == 170_000 == pool.capital_fen + pool.borrowings_fen
    assert pool.capacity_fen == 0
    receivable = services.platform_account(P.LOANS_RECEIVABLE)
    assert max(running_balances(receivable)) <= pool.capital_fen + pool.borrowings_fen
    assert deadlocks_detected() == deadlocks_before
    assert reconcile().is_clean


# --- posting and voiding one hold at once ------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_racing_posts_and_voids_on_a_hold_let_exactly_one_close_it():
    open_platform_accounts()
    wallet, fee = new_wallet(), services.platform_account(P.FEE_INCOME)
    services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="fund")
    expires = timezone.now() + dt.timedelta(hours=1)
    holds = [
        services.hold_place(
            account=wallet, amount_fen=1_000 + i, idempotency_key=f"h-{i}", expires_at=expires
        )
        for i in range(10)
    ]
    tasks = [(hold.pk, action) for hold in holds for action in ("post", "void") * 10]
    random.Random(7).shuffle(tasks)
    deadlocks_before = deadlocks_detected()

    def close(task: tuple[int, str]) -> Hold:
        hold = Hold.objects.get(pk=task[0])  # each thread its own instance
        if task[1] == "post":
            return services.hold_post(hold=hold, credit=fee, amount_fen=hold.amount_fen - 500)
        return services.hold_void(hold=hold)

    outcomes = run_concurrently(close, tasks, threads=40)

    assert not unexpected(outcomes, ConflictError)
    posted_total = 0
    for hold in holds:
        hold.refresh_from_db()
        mine = [(action, o) for (pk, action), o in zip(tasks, outcomes, strict=True) if pk == hold.pk]
        posts_won = [o for action, o in mine if action == "post" and isinstance(o, Hold)]
        voids_ok = [o for action, o in mine if action == "void" and isinstance(o, Hold)]
        if hold.status == Hold.Status.POSTED:
            assert len(posts_won) == 1 and not voids_ok
            assert hold.posted_fen == hold.amount_fen - 500 and hold.entry_id is not None
            posted_total += hold.posted_fen
        else:
            assert hold.status == Hold.Status.VOIDED
            assert not posts_won and voids_ok  # a void after a void is a no-op, not an error
            assert all(o.status == Hold.Status.VOIDED for o in voids_ok)
            assert hold.posted_fen == 0 and hold.entry_id is None
        assert Counter(type(o).__name__ for _, o in mine)["ConflictError"] == 20 - len(posts_won) - len(
            voids_ok
        )
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (100_000 - posted_total, 0)
    assert balance(fee) == posted_total
    assert Posting.objects.filter(entry__kind=JournalEntry.Kind.TRANSFER).count() == 2 * sum(
        h.status == Hold.Status.POSTED for h in holds
    )
    assert deadlocks_detected() == deadlocks_before
    assert reconcile().is_clean


# --- one hold sent many times at once -----------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_hold_sent_fifty_times_at_once_reserves_the_money_once():
    open_platform_accounts()
    wallet = new_wallet()
    services.settlement_credit(wallet=wallet, amount_fen=10_000, idempotency_key="fund")
    expires = timezone.now() + dt.timedelta(hours=1)

    def hold(amount: int) -> Hold:
        return services.hold_place(
            account=wallet, amount_fen=amount, idempotency_key="h-1", expires_at=expires
        )

    outcomes = run_concurrently(hold, [6_000] * 50, threads=50)

    assert not unexpected(outcomes)
    first = Hold.objects.get(idempotency_key="h-1")
    assert {o.pk for o in outcomes if isinstance(o, Hold)} == {first.pk}
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (10_000, 6_000)
    assert reconcile().is_clean


# --- one withdrawal sent many times at once ----------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("funded", [10_000, 20_000], ids=["room-for-one", "room-for-three"])
def test_the_same_withdrawal_sent_fifty_times_at_once_holds_the_money_once(monkeypatch, funded):
    open_platform_accounts()
    wallet = new_wallet()
    services.settlement_credit(wallet=wallet, amount_fen=funded, idempotency_key="fund")
    # The broker is the outside world here: record what would be queued for the channel instead
    # of leaving fifty messages in a queue that other test runs' workers read.
    queued: list[int] = []
    monkeypatch.setattr(tasks.payout_submit, "delay", queued.append)

    def withdraw(amount: int) -> Payout:
        return services.withdrawal_request(
            wallet=wallet, amount_fen=amount, idempotency_key="w-1", is_interactive=True
        )

    outcomes = run_concurrently(withdraw, [6_000] * 50, threads=50)

    assert not unexpected(outcomes)
    payout = Payout.objects.get(idempotency_key="w-1")
    assert {o.pk for o in outcomes if isinstance(o, Payout)} == {payout.pk}
    assert queued == [payout.pk]
    assert Hold.objects.count() == 1
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (funded, 6_000)
    with pytest.raises(ConflictError):
        services.withdrawal_request(wallet=wallet, amount_fen=6_001, idempotency_key="w-1")
    assert reconcile().is_clean


# --- reversing one entry, confirming and failing one payout, at once ------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_forty_reversals_of_one_entry_under_different_keys_reverse_it_once():
    open_platform_accounts()
    wallet = new_wallet()
    entry_id = services.settlement_credit(wallet=wallet, amount_fen=5_000, idempotency_key="s-1").entry_id
    services.settlement_credit(wallet=wallet, amount_fen=50_000, idempotency_key="s-2")

    def reverse(i: int) -> EntryResult:
        entry = JournalEntry.objects.get(pk=entry_id)
        return services.entry_reverse(entry=entry, idempotency_key=f"r-{i}", reason="duplicate")

    outcomes = run_concurrently(reverse, range(40), threads=40)

    assert not unexpected(outcomes, ConflictError)
    assert sum(isinstance(o, EntryResult) for o in outcomes) == 1
    assert JournalEntry.objects.filter(reverses_id=entry_id).count() == 1
    assert balance(wallet) == 50_000
    assert reconcile().is_clean


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_racing_channel_answers_confirm_or_fail_each_payout_once(monkeypatch):
    open_platform_accounts()
    monkeypatch.setattr(tasks.payout_submit, "delay", lambda payout_id: None)  # no broker
    wallet = new_wallet()
    services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="fund")
    payouts = [
        services.withdrawal_request(wallet=wallet, amount_fen=1_000 * (i + 1), idempotency_key=f"w-{i}")
        for i in range(8)
    ]
    answers = [(p.pk, answer) for p in payouts for answer in ("confirm", "fail") * 5]
    random.Random(11).shuffle(answers)

    def answer(task: tuple[int, str]) -> Payout:
        payout = Payout.objects.get(pk=task[0])
        if task[1] == "confirm":
            return services.payout_confirm(payout=payout, channel_reference=f"CH{task[0]}")
        return services.payout_fail(payout=payout, reason="card rejected")

    outcomes = run_concurrently(answer, answers, threads=40)

    assert not unexpected(outcomes, ConflictError)
    confirmed = 0
    for payout in payouts:
        payout.refresh_from_db()
        replies = [o for (pk, _), o in zip(answers, outcomes, strict=True) if pk == payout.pk]
        # Whichever answer came first decided; the same answer again is a no-op, the other a conflict.
        assert payout.status in (Payout.Status.CONFIRMED, Payout.Status.FAILED)
        assert {o.status for o in replies if isinstance(o, Payout)} == {payout.status}
        assert sum(isinstance(o, ConflictError) for o in replies) == 5
        assert payout.hold.status == (
            Hold.Status.POSTED if payout.status == Payout.Status.CONFIRMED else Hold.Status.VOIDED
        )
        confirmed += payout.amount_fen if payout.status == Payout.Status.CONFIRMED else 0
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (100_000 - confirmed, 0)
    assert balance(services.platform_account(P.CHANNEL_SUSPENSE)) == confirmed
    assert reconcile().is_clean
