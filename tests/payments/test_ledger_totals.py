"""The ledger's running totals (payments.ledger_totals): the trial balance and the page's proof
read them plus the postings after their checkpoint, and must say exactly what summing the whole
journal says, to the fen, whenever the checkpoint was last moved, after a refresh that stopped
half-way, and while refreshes race each other and the writers (PostgreSQL, real threads)."""

import datetime as dt
import random
import threading
from collections import defaultdict

import pytest
from django.db import connection, transaction

from payments import ledger_totals
from payments.bulk import BulkEntry, entries_post_bulk
from payments.ledger_totals import ledger_totals_refresh
from payments.models import Account, AccountTotal, JournalEntry, LedgerCheckpoint, Posting
from payments.reconciliation import reconcile, trial_balance, trial_balance_checked
from tests.conftest import requires_postgres
from tests.payments.test_concurrency import run_concurrently

DAY = dt.date(2026, 3, 1)
TYPES = [Account.Type.ASSET, Account.Type.LIABILITY, Account.Type.INCOME, Account.Type.EXPENSE]


def accounts_open(n: int = 6) -> list[Account]:
    """Accounts no overdraft rule applies to (not wallets), so any balanced legs post."""
    return [
        Account.objects.create(
            code=f"test-totals-{i}",
            name=f"test totals {i}",
            type=TYPES[i % len(TYPES)],
            purpose=Account.Purpose.CHANNEL_SUSPENSE,
        )
        for i in range(n)
    ]


def random_entries(rng: random.Random, accounts: list[Account], n: int, tag: str) -> None:
    """`n` random balanced entries of two to four legs, in batches on random business dates
    (not in date order: a later batch may be dated earlier)."""
    written = 0
    while written < n:
        size = min(n - written, rng.randint(1, 8))
        batch = []
        for i in range(written, written + size):
            chosen = rng.sample(accounts, rng.randint(2, 4))
            amounts = [rng.choice([-1, 1]) * rng.randint(1, 10**9) for _ in chosen[1:]]
            amounts.append(-sum(amounts) or 1)
            amounts[0] -= sum(amounts)  # zero unless the others summed to zero
            batch.append(
                BulkEntry(
                    idempotency_key=f"{tag}-{i}",
                    reference="",
                    legs=[(a.pk, amt) for a, amt in zip(chosen, amounts, strict=True)],
                )
            )
        if batch:
            entries_post_bulk(
                kind=JournalEntry.Kind.TRANSFER,
                entries=batch,
                business_on=DAY + dt.timedelta(rng.randint(0, 9)),
            )
        written += size


def full_sums(through: dt.date | None) -> dict[str, tuple[int, int]]:
    """{account code: (debits, credits)} summed over every posting (up to a business date)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    postings = Posting.objects.select_related("account", "entry")
    for p in postings:
        if through is None or p.entry.business_on <= through:
            sums[p.account.code][0 if p.amount_fen > 0 else 1] += abs(p.amount_fen)
    return {code: (d, c) for code, (d, c) in sums.items()}


def trial_sums(through: dt.date) -> dict[str, tuple[int, int]]:
    return {r.code: (r.debit_fen, r.credit_fen) for r in trial_balance(through=through)}


def assert_exact() -> None:
    """Every date's trial balance equals the full sum; the stored totals never exceed what
    their checkpoint covers (nothing counted twice)."""
    for offset in (-1, 0, 3, 7, 9, 30):
        on = DAY + dt.timedelta(offset)
        assert trial_sums(on) == full_sums(on), on
    checkpoint = LedgerCheckpoint.objects.filter(pk=1).first()
    through = checkpoint.through_posting_id if checkpoint else 0
    covered: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for account_id, amount in Posting.objects.filter(pk__lte=through).values_list("account_id", "amount_fen"):
        covered[account_id][0 if amount > 0 else 1] += abs(amount)
    stored = {t.account_id: [t.debit_fen, t.credit_fen] for t in AccountTotal.objects.all()}
    assert {k: v for k, v in stored.items() if v != [0, 0]} == dict(covered)


@pytest.mark.django_db
def test_the_trial_balance_equals_the_full_sum_after_random_postings_and_refreshes():
    rng = random.Random(20261206)
    accounts = accounts_open()
    assert_exact()  # no checkpoint yet: everything is the tail
    for round_ in range(12):
        random_entries(rng, accounts, rng.randint(1, 30), tag=f"r{round_}")
        if rng.random() < 0.6:
            ledger_totals_refresh(batch=rng.choice([1, 3, 50, 10**6]))
        assert_exact()
    ledger_totals_refresh()
    assert_exact()
    assert LedgerCheckpoint.objects.get().through_posting_id == Posting.objects.latest("pk").pk


def posting_ids_skip(to: int) -> None:
    """Move the postings' id sequence on, as other writers' rolled-back inserts and earlier
    tests leave it: the next posting takes an id above `to`."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('payments_posting', 'id'), %s)", [to])
        else:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = 'payments_posting'", [to])
            if not cursor.rowcount:
                cursor.execute("INSERT INTO sqlite_sequence VALUES ('payments_posting', %s)", [to])


@pytest.mark.django_db
def test_a_batch_counts_postings_not_ids_so_gaps_in_the_ids_cost_nothing(monkeypatch):
    accounts = accounts_open()
    random_entries(random.Random(7), accounts, 3, tag="before-gap")
    posting_ids_skip(Posting.objects.latest("pk").pk + 100_000)
    random_entries(random.Random(8), accounts, 3, tag="after-gap")
    folds = []
    fold = ledger_totals._fold
    monkeypatch.setattr(ledger_totals, "_fold", lambda lo, hi: (folds.append((lo, hi)), fold(lo, hi)))
    result = ledger_totals_refresh(batch=2)
    postings = Posting.objects.count()
    assert len(folds) == -(-postings // 2)  # one fold per two postings, none per empty id range
    assert result.postings_folded == postings
    assert_exact()


@pytest.mark.django_db
def test_refreshing_again_changes_nothing():
    accounts = accounts_open()
    random_entries(random.Random(1), accounts, 40, tag="a")
    first = ledger_totals_refresh()
    totals = sorted(AccountTotal.objects.values_list("account_id", "debit_fen", "credit_fen"))
    again = ledger_totals_refresh()
    assert again.postings_folded == 0 and again.through_posting_id == first.through_posting_id
    assert sorted(AccountTotal.objects.values_list("account_id", "debit_fen", "credit_fen")) == totals
    assert LedgerCheckpoint.objects.get().entries_checked == JournalEntry.objects.count() == 40


@pytest.mark.django_db
def test_a_refresh_interrupted_half_way_keeps_the_totals_exact_and_the_next_one_finishes(monkeypatch):
    accounts = accounts_open()
    random_entries(random.Random(2), accounts, 60, tag="b")
    real_fold = ledger_totals._fold
    calls = []

    def fold_then_fail(lo, hi):
        calls.append((lo, hi))
        real_fold(lo, hi)  # the totals moved ...
        if len(calls) == 3:
            raise RuntimeError("worker killed")  # ... and the transaction is rolled back

    monkeypatch.setattr(ledger_totals, "_fold", fold_then_fail)
    with pytest.raises(RuntimeError):
        ledger_totals_refresh(batch=20)
    monkeypatch.setattr(ledger_totals, "_fold", real_fold)
    # Two batches were kept, the third rolled back with its checkpoint.
    assert LedgerCheckpoint.objects.get().through_posting_id == calls[2][0]
    assert_exact()
    ledger_totals_refresh(batch=20)
    assert_exact()
    assert LedgerCheckpoint.objects.get().entries_checked == 60


@pytest.mark.django_db
def test_the_page_proof_agrees_with_the_full_reconciliation_and_finds_an_unbalanced_entry():
    """With the database's balance check deferred to the end of the transaction, an unbalanced
    entry can be written inside it: the proof names it whether it is before the checkpoint or
    after."""
    accounts = accounts_open()
    random_entries(random.Random(3), accounts, 20, tag="c")
    ledger_totals_refresh()
    rows, report = trial_balance_checked(on=DAY + dt.timedelta(30))
    full = reconcile()
    assert report.is_clean and full.is_clean
    assert (report.entries_checked, report.accounts_checked) == (full.entries_checked, full.accounts_checked)
    assert sum(r.debit_fen for r in rows) == sum(r.credit_fen for r in rows) > 0

    def unbalanced_entry(key: str) -> int:
        entry = JournalEntry.objects.create(
            kind=JournalEntry.Kind.TRANSFER, idempotency_key=key, business_on=DAY
        )
        Posting.objects.create(entry=entry, account=accounts[0], amount_fen=5)
        Posting.objects.create(entry=entry, account=accounts[1], amount_fen=-3)
        return entry.pk

    before = unbalanced_entry("bad-1")
    ledger_totals_refresh()
    after = unbalanced_entry("bad-2")
    _, report = trial_balance_checked(on=DAY)
    assert f"entry {before}: 2 postings summing to 2" in report.differences
    assert f"entry {after}: 2 postings summing to 2" in report.differences
    assert report.postings_total_fen == 4
    assert report.entries_checked == 22
    # The missing legs, so that PostgreSQL's check at the end of the test finds them balanced.
    for entry_id in (before, after):
        Posting.objects.create(entry_id=entry_id, account=accounts[2], amount_fen=-2)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_refresh_waits_for_a_transaction_still_writing_lower_posting_ids():
    """A transaction holds posting ids and has not committed; a later one commits higher ids.
    The refresh must not move the checkpoint past the first's ids until it has finished."""
    accounts = accounts_open()
    written, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                entries_post_bulk(
                    kind=JournalEntry.Kind.TRANSFER,
                    entries=[BulkEntry("slow", "", [(accounts[0].pk, 500), (accounts[1].pk, -500)])],
                    business_on=DAY,
                )
                written.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(timeout=60)
        entries_post_bulk(
            kind=JournalEntry.Kind.TRANSFER,
            entries=[BulkEntry("fast", "", [(accounts[2].pk, 700), (accounts[3].pk, -700)])],
            business_on=DAY,
        )
        waiting = ledger_totals_refresh()
        assert waiting.waiting_for_writers == 1
        assert waiting.through_posting_id < Posting.objects.latest("pk").pk
        assert_exact()
    finally:
        release.set()
        thread.join(timeout=60)
    done = ledger_totals_refresh()
    assert done.waiting_for_writers == 0
    assert done.through_posting_id == Posting.objects.latest("pk").pk
    assert_exact()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_refreshes_racing_each_other_and_the_writers_count_every_posting_once():
    accounts = accounts_open(8)
    rng = random.Random(7)
    random_entries(rng, accounts, 50, tag="seed")
    jobs = [("write", i) for i in range(40)] + [("refresh", i) for i in range(40)]
    rng.shuffle(jobs)

    def work(job):
        kind, i = job
        if kind == "refresh":
            return ledger_totals_refresh(batch=random.Random(i).choice([5, 50, 10**6]))
        random_entries(random.Random(i), accounts, 5, tag=f"w{i}")
        return None

    outcomes = run_concurrently(work, jobs, threads=12)
    assert not [o for o in outcomes if isinstance(o, BaseException)][:3]
    assert_exact()  # mid-way checkpoints: whatever was folded, once
    ledger_totals_refresh()
    assert LedgerCheckpoint.objects.get().through_posting_id == Posting.objects.latest("pk").pk
    assert LedgerCheckpoint.objects.get().entries_checked == JournalEntry.objects.count() == 250
    assert_exact()
