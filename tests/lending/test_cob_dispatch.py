"""Close of business fanned out over real Celery workers (two, on Redis and PostgreSQL): the rows it
leaves are those of the in-process close of the same world, whatever the duplicates, redeliveries
and failures on the way."""

import contextlib
import datetime as dt
import io
import itertools
import json
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from kombu.asynchronous import set_event_loop

from common.business_date import business_date_today
from config.celery import app
from lending import cob, cob_dispatch, tasks
from lending.models import CobChunk, CobRun, CreditLine, Installment, Loan, LoanEvent, Pledge
from merchants.webhooks.models import WebhookEvent
from payments import services as payments
from payments.models import Account, FundingPool, JournalEntry, Posting
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres, requires_redis
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]

# The world is built and closed in-process to just before its first due dates; the dates compared
# then cover an order loan's maturity (DAY + 30), a monthly installment (DAY + 31) and the first
# days of penalty after three days' grace.
PREPARED_THROUGH = DAY + dt.timedelta(days=28)
COMPARED_THROUGH = DAY + dt.timedelta(days=35)


def purge_queues():
    with app.connection_for_write() as conn:
        for queue in settings.CELERY_QUEUES_ALL:
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def workers(settings):
    """Two workers, each a thread of this process consuming every queue, on an empty broker."""
    settings.LENDING_COB_CHUNK_SIZE = 3
    purge_queues()
    kwargs = {"pool": "solo", "perform_ping_check": False, "shutdown_timeout": 60}
    with contextlib.ExitStack() as stack:
        for name in ("cob-a@test", "cob-b@test"):
            # kombu keeps one event loop per process and a worker adopts the one it finds: two
            # workers sharing it lose each other's timers (a retry's countdown never fires).
            set_event_loop(None)
            stack.enter_context(start_worker(app, queues=settings.CELERY_QUEUES_ALL, hostname=name, **kwargs))
        yield
    set_event_loop(None)
    purge_queues()


def build_world():
    """Fourteen loans on three products; a quarter of the wallets keep everything, the others
    spend all, all but a little, or half, so that deductions are full, partial and missing. One
    merchant has two order loans, the first and the last, in different chunks, falling due on the
    same date on a wallet that pays one and a part of the other."""
    open_pool()
    revolving = ProductFactory()
    order_loan = ProductFactory(
        code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"), grace_days=3
    )
    credit_loan = ProductFactory(credit_loan=True)
    sink = payments.wallet_open(merchant=CreditLineFactory().merchant)
    shared = CreditLineFactory(product=order_loan, limit_fen=10_000_000, daily_rate=order_loan.daily_rate)
    first = draw(shared, 1_000_000, key="shared-first")
    for n in range(12):
        product = (revolving, order_loan, credit_loan)[n % 3]
        line = CreditLineFactory(product=product, limit_fen=10_000_000, daily_rate=product.daily_rate)
        amount = 1_000_000 + 37_001 * n
        loan = draw(line, amount, key=f"k-{n}")
        keep = (amount * 2, 0, 3_000, amount // 2)[n % 4]
        spent = min(amount, max(amount - keep, 0))
        if spent:
            payments.wallet_to_wallet(
                source=loan.wallet, target=sink, amount_fen=spent, idempotency_key=f"spend-{n}"
            )
    draw(shared, 1_000_000, key="shared-last")
    # Each owes 1,015,000 at maturity: the wallet pays the first in full and 185,000 of the last.
    payments.wallet_to_wallet(source=first.wallet, target=sink, amount_fen=800_000, idempotency_key="spend")
    cob.close_through(through=PREPARED_THROUGH)


def snapshot() -> dict:
    """Every table's rows and every sequence's position (PostgreSQL COPY)."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    copied = {}
    with connection.cursor() as cursor:
        for table in tables:
            buffer = io.StringIO()
            cursor.cursor.copy_expert(f'COPY "{table}" TO STDOUT', buffer)
            copied[table] = buffer.getvalue()
        sequences = {}
        for sequence in connection.introspection.sequence_list():
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [sequence["table"], sequence["column"]])
            name = cursor.fetchone()[0]
            if name:
                cursor.execute(f"SELECT last_value, is_called FROM {name}")  # noqa: S608 (a name from PostgreSQL)
                sequences[name] = cursor.fetchone()
    return {"tables": copied, "sequences": sequences}


def restore(saved: dict) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in saved["tables"]))
        for table, rows in saved["tables"].items():
            cursor.cursor.copy_expert(f'COPY "{table}" FROM STDIN', io.StringIO(rows))
        for name, (last_value, is_called) in saved["sequences"].items():
            cursor.execute("SELECT setval(%s, %s, %s)", [name, last_value, is_called])


def _rows(model, order_by="pk") -> list[tuple]:
    fields = [f.attname for f in model._meta.concrete_fields if not f.attname.endswith("_at")]
    return list(model.objects.order_by(order_by).values_list(*fields))


def books() -> dict:
    """What a close leaves, without row ids that depend on the order chunks ran in (journal
    entries and loan events are matched by content and idempotency key) or wall-clock times.
    The chunks are ranges of loan ids in process and of wallet ids fanned out: each date's rows
    and amounts are compared summed over its chunks, per step."""
    keys = dict(JournalEntry.objects.values_list("pk", "idempotency_key"))
    postings: dict[int, list] = {}
    for entry_id, account_id, fen in Posting.objects.values_list("entry_id", "account_id", "amount_fen"):
        postings.setdefault(entry_id, []).append((account_id, fen))
    entries = Counter(
        (key, kind, reference, business_on, keys.get(reverses), tuple(sorted(postings[pk])))
        for pk, key, kind, reference, business_on, reverses in JournalEntry.objects.values_list(
            "pk", "idempotency_key", "kind", "reference", "business_on", "reverses_id"
        )
    )
    events = Counter(
        (*row[:-1], keys.get(row[-1]))
        for row in LoanEvent.objects.values_list(
            "loan_id",
            "kind",
            "business_on",
            "principal_fen",
            "interest_fen",
            "penalty_fen",
            "fee_fen",
            "actor",
            "note",
            "entry_id",
        )
    )
    runs = [
        (
            run.business_on,
            run.status,
            [(s["step"], s["rows"], None if s["step"] in cob.ALL_STEPS else s["chunks"]) for s in run.steps],
        )
        for run in CobRun.objects.order_by("business_on")
    ]
    # The fanned-out close's chunks are ranges of wallets, the in-process close's of loan ids:
    # their rows and amounts compared per date and step.
    chunks = Counter()
    by_wallet = Counter()
    for on, step, rows, amounts in CobChunk.objects.values_list("business_on", "step", "rows", "amounts"):
        by_wallet[(on, step)] += rows
        for ledger, by_product in amounts.items():
            for product, fen in by_product.items():
                chunks[(on, step, ledger, product)] += fen
    return {
        "loans": _rows(Loan),
        "installments": _rows(Installment),
        "lines": _rows(CreditLine),
        "pledges": _rows(Pledge),
        "accounts": _rows(Account),
        "pools": _rows(FundingPool),
        "entries": entries,
        "events": events,
        "runs": runs,
        "chunks": chunks,
        "wallet_step_rows": by_wallet,
        # What partners hear (repayment.succeeded and .failed from the deductions among them).
        "webhook_events": Counter(
            (partner, kind, on, json.dumps(data, sort_keys=True))
            for partner, kind, on, data in WebhookEvent.objects.values_list(
                "partner_id", "type", "business_on", "data"
            )
        ),
        "business_date": business_date_today(),
    }


def fan_out_through(through: dt.date, chunk_size: int = 3, timeout: float = 120) -> list[CobRun]:
    return cob_dispatch.cob_close_dispatch(through=through, chunk_size=chunk_size, timeout=timeout)


def wait_until_queues_are_empty(seconds: float = 60) -> None:
    """Every message sent has been taken (the late duplicates included)."""
    deadline = time.monotonic() + seconds
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        while any(client.llen(queue) for queue in settings.CELERY_QUEUES_ALL):
            assert time.monotonic() < deadline, "messages still queued"
            time.sleep(0.1)


def wait_until_closed(through: dt.date, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not CobRun.objects.filter(business_on=through, status=CobRun.Status.DONE).exists():
        assert time.monotonic() < deadline, f"{through} not closed after {seconds}s"
        time.sleep(0.1)


@pytest.fixture
def twin(settings):
    """The world prepared, then closed in-process through COMPARED_THROUGH: the rows to expect.
    Returns them; the database is back where the close began."""
    settings.LENDING_COB_CHUNK_SIZE = 3
    build_world()
    saved = snapshot()
    cob.close_through(through=COMPARED_THROUGH)
    expected = books()
    assert reconcile().is_clean and cob.lending_reconcile() == []
    assert any(kind == "auto_deducted" for _, kind, *_ in expected["events"])  # the dates do work
    assert {kind for _, kind, _, _ in expected["webhook_events"]} >= {
        "repayment.succeeded",
        "repayment.failed",
    }
    assert any(ledger == "penalty" for _, _, ledger, _ in expected["chunks"])  # penalty accrued too
    restore(saved)
    assert business_date_today() == PREPARED_THROUGH + dt.timedelta(days=1)
    return expected


def test_fanned_out_close_leaves_the_rows_of_the_in_process_close(twin, workers):
    runs = fan_out_through(COMPARED_THROUGH)
    assert [run.business_on for run in runs] == [
        PREPARED_THROUGH + dt.timedelta(days=n)
        for n in range(1, (COMPARED_THROUGH - PREPARED_THROUGH).days + 1)
    ]
    assert books() == twin
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_every_message_delivered_twice_writes_once(twin, workers, monkeypatch):
    original = tasks.cob_close_chunk.delay

    def twice(*args, **kwargs):
        original(*args, **kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(tasks.cob_close_chunk, "delay", twice)
    # Two starts of the same close, as when the nightly task and an officer's command meet.
    tasks.cob_close_start.delay(COMPARED_THROUGH.isoformat(), 3)
    fan_out_through(COMPARED_THROUGH)
    wait_until_queues_are_empty()  # the late duplicates of a closed date write nothing either
    time.sleep(0.5)
    assert books() == twin
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_a_chunk_whose_worker_fails_half_way_is_rolled_back_and_done_again(twin, workers, monkeypatch):
    original = cob.STEP_FUNCTIONS["deduct"]
    failed = []

    def dies_once(on, lo, hi, **scope):
        result = original(on, lo, hi, **scope)  # the chunk's writes are made, then the worker is lost
        if not failed and result[0] > 0:
            failed.append((on, lo, hi))
            raise RuntimeError("worker lost half-way through a chunk")
        return result

    monkeypatch.setitem(cob.STEP_FUNCTIONS, "deduct", dies_once)
    fan_out_through(COMPARED_THROUGH)
    assert failed, "no deduction chunk had work to fail"
    assert books() == twin
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_a_wallet_shared_across_chunks_pays_its_loans_in_loan_order(twin, workers, monkeypatch):
    shared_line = Loan.objects.order_by("pk").first().line_id
    first, last = Loan.objects.filter(line_id=shared_line).order_by("pk")
    assert first.wallet_id == last.wallet_id
    original = cob.STEP_FUNCTIONS["deduct"]
    holding = []

    def slow_shared_wallet(on, lo, hi, **scope):
        assert "loans" in scope  # fanned out, the deduction's chunks are ranges of wallets
        if lo <= first.wallet_id <= hi:
            holding.append((on, lo, hi))
            time.sleep(1.5)  # the shared wallet's chunk is late: the others are free to run before it
        return original(on, lo, hi, **scope)

    monkeypatch.setitem(cob.STEP_FUNCTIONS, "deduct", slow_shared_wallet)
    fan_out_through(COMPARED_THROUGH)
    # The two loans are in different chunks of loan ids, and in one chunk of wallets.
    run = CobRun.objects.get(business_on=COMPARED_THROUGH)
    assert len(run.chunk_bounds) > 1 and len(run.wallet_bounds) > 1
    assert [n for n, (lo, hi) in enumerate(run.chunk_bounds) if lo <= first.pk <= hi] != [
        n for n, (lo, hi) in enumerate(run.chunk_bounds) if lo <= last.pk <= hi
    ]
    assert len({on for on, _, _ in holding}) == len(holding)  # one chunk a date holds the wallet
    first.refresh_from_db()
    last.refresh_from_db()
    assert first.status == Loan.Status.REPAID and last.status == Loan.Status.OVERDUE
    assert books() == twin


def test_deduction_chunks_run_at_once_on_two_workers(twin, workers, monkeypatch):
    """Two chunks of the deduction in flight together: each of the first two waits for the
    other (run one after another, the first would wait alone and fail)."""
    original = cob.STEP_FUNCTIONS["deduct"]
    both = threading.Barrier(2, timeout=60)
    met = []

    def meets_another(on, lo, hi, **scope):
        if not met:
            both.wait()  # raises BrokenBarrierError when no second chunk comes
            met.append((on, lo, hi))
        return original(on, lo, hi, **scope)

    monkeypatch.setitem(cob.STEP_FUNCTIONS, "deduct", meets_another)
    fan_out_through(COMPARED_THROUGH)
    assert met and not both.broken
    assert books() == twin
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_several_dates_close_one_after_another(workers):
    open_pool()
    for n in range(7):
        draw(CreditLineFactory(), 1_000_000, key=f"k-{n}")
    through = DAY + dt.timedelta(days=3)
    runs = fan_out_through(through)
    assert [run.status for run in runs] == [CobRun.Status.DONE] * 4
    assert business_date_today() == through + dt.timedelta(days=1)
    for earlier, later in itertools.pairwise(runs):
        first_chunk = CobChunk.objects.filter(business_on=later.business_on).order_by("done_at").first()
        assert earlier.finished_at <= later.started_at <= first_chunk.done_at
    assert [step["step"] for step in runs[0].steps] == ["pledges", *cob.ALL_STEPS, "reconcile", "collections"]
    assert CobChunk.objects.filter(business_on=DAY, step="accrue").count() == 3
    assert set(Loan.objects.values_list("interest_outstanding_fen", flat=True)) == {4 * 600}
    accruals = JournalEntry.objects.filter(kind=JournalEntry.Kind.ACCRUAL, idempotency_key__contains="accrue")
    assert accruals.count() == 4
    assert reconcile().is_clean and cob.lending_reconcile() == []


def test_nightly_task_closes_through_yesterday_on_the_workers(workers, monkeypatch):
    open_pool()
    draw(CreditLineFactory(), 1_000_000)
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: DAY + dt.timedelta(days=3))
    tasks.close_of_business_nightly.delay()
    wait_until_closed(DAY + dt.timedelta(days=2))
    assert list(CobRun.objects.order_by("business_on").values_list("business_on", "status")) == [
        (DAY + dt.timedelta(days=n), CobRun.Status.DONE) for n in range(3)
    ]
    assert business_date_today() == DAY + dt.timedelta(days=3)
    assert Loan.objects.get().interest_outstanding_fen == 3 * 600


def test_command_with_dispatch_closes_on_the_workers_and_waits(workers):
    open_pool()
    draw(CreditLineFactory(), 1_000_000)
    out = io.StringIO()
    call_command("close_of_business", "--days", "2", "--dispatch", stdout=out)
    assert f"closed {DAY}: pledges 0" in out.getvalue()
    assert f"closed {DAY + dt.timedelta(days=1)}:" in out.getvalue()
    assert business_date_today() == DAY + dt.timedelta(days=2)
    assert Loan.objects.get().interest_outstanding_fen == 2 * 600
