"""Close of business resumed after a crash equals a twin that was never interrupted: every loan,
installment, line, wallet, pool, loan event and journal row, with repayments, drawdowns and
write-offs through the services while the close was down (a twin does them before its close).

The crash is injected after N step statements (the chunk being closed when it strikes is rolled
back, as a killed process's would be), and on PostgreSQL by `kill -9` of a real
`manage.py close_of_business` process. The twin is the same database before the crash: a
savepoint rolled back in process, a copy made with CREATE DATABASE … TEMPLATE for the killed
process."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count

from common.business_date import business_date_today
from lending import cob, services
from lending.models import CobChunk, CreditLine, Installment, Loan, LoanEvent, RepaymentMethod
from payments import services as payments
from payments.models import Account, FundingPool, JournalEntry, Posting
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

ROOT = Path(__file__).resolve().parents[2]
CRASH_ON = DAY + dt.timedelta(days=31)  # 2026-04-01: monthly installments fall due, order loan #1 too


class Rollback(Exception):
    pass


# --- the scenario --------------------------------------------------------------------------------


def products():
    return {
        "order": ProductFactory(
            code="order_loan",
            is_revolving=False,
            term=31,
            daily_rate=Decimal("0.0005"),
            segment="b2c",
        ),
        "revolving": ProductFactory(),
        "installment": ProductFactory(credit_loan=True),
        "principal": ProductFactory(
            code="fixed_ep",
            is_revolving=False,
            term=6,
            term_unit="months",
            repayment_method=RepaymentMethod.EQUAL_PRINCIPAL,
            daily_rate=Decimal("0.0005"),
        ),
        "interest_only": ProductFactory(
            code="fixed_mi",
            is_revolving=False,
            term=12,
            term_unit="months",
            repayment_method=RepaymentMethod.MONTHLY_INTEREST,
            daily_rate=Decimal("0.0005"),
        ),
    }


def build(n_merchants: int = 14) -> None:
    """Loans of every repayment method drawn on DAY, wallets spent in full, in half or not at
    all, closed through the day before CRASH_ON. The lowest loan is a 31-day order loan that the
    close of CRASH_ON repays from its wallet."""
    open_pool()
    kinds = products()
    sink = payments.wallet_open(merchant=MerchantFactory(external_id="sink", shop_name="sink"))
    order = ("order", "installment", "principal", "interest_only", "revolving")
    for n in range(n_merchants):
        merchant = MerchantFactory(external_id=f"m{n}", shop_name=f"shop {n}")
        for k in range(1 + n % 3):
            kind = order[(n + k) % len(order)] if n else "order"
            product = kinds[kind]
            line = CreditLineFactory(
                merchant=merchant, product=product, limit_fen=50_000_000, daily_rate=product.daily_rate
            )
            draw(line, 1_000_000 + 12_345 * n + 7 * k, key=f"loan-{n}-{k}")
        wallet = payments.wallet_open(merchant=merchant)
        spend = {0: 0, 1: wallet.balance_fen, 2: wallet.balance_fen // 2}[n % 3]
        if spend:
            payments.wallet_to_wallet(
                source=wallet, target=sink, amount_fen=spend, idempotency_key=f"spend-{n}"
            )
        if n == 0:  # enough for the order loan's interest too: the close repays it in full
            payments.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="sales-0")
    # The merchant who draws while the close is down has its line before.
    late = MerchantFactory(external_id="late", shop_name="late shop")
    CreditLineFactory(merchant=late, product=kinds["installment"], limit_fen=50_000_000)
    payments.wallet_open(merchant=late)
    cob.close_through(through=CRASH_ON - dt.timedelta(days=1))
    assert business_date_today() == CRASH_ON


def open_loans():
    return Loan.objects.filter(status__in=("active", "overdue")).order_by("pk")


def activity(kind: str) -> None:
    """What the partner API does while the close is down (or, for the twin, before it)."""
    late = CreditLine.objects.get(merchant__external_id="late")
    draw(late, 2_000_000, key="drawn-while-down")
    if kind == "lowest":
        target = open_loans().first()
    else:  # the highest, which an interrupted run reaches last
        target = open_loans().exclude(idempotency_key="drawn-while-down").last()
        written_off = open_loans().exclude(idempotency_key="drawn-while-down").exclude(pk=target.pk).last()
        payments.settlement_credit(wallet=written_off.wallet, amount_fen=123_456, idempotency_key="down-in")
        services.loan_write_off(loan=written_off, actor="officer", reason="fraud", on=business_date_today())
    payments.settlement_credit(wallet=target.wallet, amount_fen=5_000_000, idempotency_key="down-fund")
    services.loan_repay(
        loan=target, amount_fen=None, idempotency_key="down-repay", actor="merchant", on=business_date_today()
    )


# --- comparing two databases by natural keys ----------------------------------------------------


def snapshot() -> dict:
    """Every business row, keyed by what identifies it in any database (ids of rows created after
    the twins parted differ, so rows are named by idempotency keys and codes)."""
    loan_key = dict(Loan.objects.values_list("pk", "idempotency_key"))
    # Longest first: a reference may begin with another's (…1 and …15), and the rows come in
    # whatever order each database keeps them.
    references = Loan.objects.values_list("reference", "idempotency_key")
    names = dict(sorted(references, key=lambda row: (-len(row[0]), row[0])))
    entry_key = dict(JournalEntry.objects.values_list("pk", "idempotency_key"))
    account = dict(Account.objects.values_list("pk", "code"))

    def text(value: str) -> str:
        for reference, key in names.items():
            value = value.replace(reference, f"<{key}>")
        return value

    loans = {}
    for row in Loan.objects.values():
        row = dict(row)
        key = row.pop("idempotency_key")
        for dropped in ("id", "reference", "updated_at"):
            row.pop(dropped)
        loans[key] = row
    postings: dict[int, list] = {}
    for entry_id, account_id, amount in Posting.objects.values_list("entry_id", "account_id", "amount_fen"):
        postings.setdefault(entry_id, []).append((account[account_id], amount))
    entries = sorted(
        (
            key or "",
            kind,
            str(on),
            text(reference),
            sorted(postings.get(pk, [])),
        )
        for pk, key, kind, on, reference in JournalEntry.objects.values_list(
            "pk", "idempotency_key", "kind", "business_on", "reference"
        )
    )
    return {
        "loans": loans,
        "installments": sorted(
            (
                loan_key[i["loan_id"]],
                i["number"],
                str(i["due_on"]),
                i["principal_fen"],
                i["interest_fen"],
                i["paid_principal_fen"],
                i["paid_interest_fen"],
                str(i["paid_on"]),
            )
            for i in Installment.objects.values()
        ),
        "events": sorted(
            (
                loan_key[e["loan_id"]],
                e["kind"],
                str(e["business_on"]),
                e["principal_fen"],
                e["interest_fen"],
                e["penalty_fen"],
                e["fee_fen"],
                entry_key.get(e["entry_id"]) or "",
                e["actor"],
                e["note"],
            )
            for e in LoanEvent.objects.values()
        ),
        "lines": sorted(
            (line.pk, line.limit_fen, line.used_fen, line.status) for line in CreditLine.objects.all()
        ),
        "accounts": sorted(Account.objects.values_list("code", "balance_fen", "held_fen")),
        "pools": sorted(
            FundingPool.objects.values_list(
                "code", "capital_fen", "borrowings_fen", "principal_outstanding_fen", "losses_fen"
            )
        ),
        "entries": entries,
    }


def comparable(data: dict) -> dict:
    """Through JSON, as a snapshot taken in another process arrives."""
    return json.loads(json.dumps(data, default=str))


def assert_same(crashed: dict, twin: dict, case: str = "") -> None:
    crashed, twin = comparable(crashed), comparable(twin)
    for key, expected in twin["loans"].items():
        got = crashed["loans"].get(key) or {}
        differing = {f: (got.get(f), v) for f, v in expected.items() if got.get(f) != v}
        assert not differing, f"{case}: loan {key} differs (crashed, twin): {differing}"
    for table in twin:
        missing = [row for row in twin[table] if row not in crashed[table]]
        extra = [row for row in crashed[table] if row not in twin[table]]
        assert crashed[table] == twin[table], (
            f"{case}: {table} differ: twin only {missing[:3]}, crashed only {extra[:3]}"
        )


# --- crashing ----------------------------------------------------------------------------------


@contextmanager
def crash_after(monkeypatch, statements: int):
    """Every step function counts; the one after `statements` raises as a killed worker would."""
    calls = {"n": 0}
    originals = dict(cob.STEP_FUNCTIONS)

    def wrap(step):
        def run(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] > statements:
                raise RuntimeError("worker killed")
            return originals[step](*args, **kwargs)

        return run

    for step in originals:
        monkeypatch.setitem(cob.STEP_FUNCTIONS, step, wrap(step))
    try:
        yield calls
    finally:
        for step, function in originals.items():
            monkeypatch.setitem(cob.STEP_FUNCTIONS, step, function)


def finish_and_go_on(days: int = 10) -> None:
    cob.close_through(through=CRASH_ON + dt.timedelta(days=days))
    assert reconcile().is_clean and cob.lending_reconcile() == []


@pytest.mark.parametrize("chunk_size", [3, 16])
def test_a_resumed_close_equals_a_twin_that_never_crashed(db, settings, monkeypatch, chunk_size):
    settings.LENDING_COB_CHUNK_SIZE = chunk_size
    build()
    loans = open_loans().count()
    chunks = -(-(open_loans().last().pk - open_loans().first().pk + 1) // chunk_size)
    cases = [
        # (a) the crashed run's own deduction repaid the lowest open loan
        ("collection", chunks + 1, None),
        # (b) the lowest open loan is repaid through the API while the close is down
        ("lowest", 2, "lowest"),
        # later crash: drawdown, repayment and write-off of loans the run had not reached
        ("highest", chunks * 2, "highest"),
    ]
    assert loans > 20
    failures = []
    for name, statements, down in cases:
        with pytest.raises(Rollback), transaction.atomic():
            if down:
                activity(down)
            finish_and_go_on()
            twin = snapshot()
            raise Rollback
        with pytest.raises(Rollback), transaction.atomic():
            with crash_after(monkeypatch, statements), pytest.raises(RuntimeError, match="killed"):
                cob.close_of_business(on=CRASH_ON)
            if down:
                activity(down)
            try:
                finish_and_go_on()
                assert_same(snapshot(), twin, f"{name}, chunks of {chunk_size}")
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
            raise Rollback
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("chunk_size", [1, 3, 16])
def test_a_run_frozen_by_wallet_resumed_equals_the_close_by_loan_chunks(
    db, settings, monkeypatch, chunk_size
):
    """The fanned-out close's chunks (ranges of wallets, each closed whole through due, deduction
    and accrual in one transaction, then recovered), closed in process and crashed at points in
    each step: resumed,
    with a loan drawn while it was down (by a merchant whose wallet lies above the frozen ranges),
    it leaves what the close by chunks of loan ids leaves, never interrupted. One merchant's last
    loan is written off with money arriving in its wallet: its other loans' deductions take first,
    the recovery what is left."""
    settings.LENDING_COB_CHUNK_SIZE = chunk_size
    build()
    wallet = (
        open_loans().values("wallet_id").annotate(n=Count("id")).filter(n__gt=1).order_by("wallet_id")[0]
    )["wallet_id"]
    written_off = open_loans().filter(wallet_id=wallet).last()
    services.loan_write_off(loan=written_off, actor="officer", reason="fraud", on=CRASH_ON)
    payments.settlement_credit(wallet=written_off.wallet, amount_fen=3_000_000, idempotency_key="recovery-in")
    with pytest.raises(Rollback), transaction.atomic():
        draw(CreditLine.objects.get(merchant__external_id="late"), 2_000_000, key="drawn-while-down")
        finish_and_go_on()
        twin = snapshot()
        recovered = LoanEvent.objects.filter(
            loan=written_off, kind=LoanEvent.Kind.RECOVERED, business_on=CRASH_ON
        )
        assert recovered.exists()
        raise Rollback
    # Merchants' loans lie in several chunks of loan ids: the wallets' chunks hold them whole.
    shared = Loan.objects.values("wallet_id").annotate(n=Count("id")).filter(n__gt=1).count()
    assert shared and len(cob.wallet_ranges(chunk_size)) > 1
    loan_chunks = len(cob.chunk_ranges(chunk_size))
    wallet_chunks = len(cob.wallet_ranges(chunk_size))
    # A chunk of wallets closes through due, deduction and accrual in one transaction, chunk
    # after chunk; then the recovery over the same chunks.
    assert loan_chunks
    crashes = {
        "never": None,
        "in the due step": 3 * (wallet_chunks // 2),
        "in the deduction": 3 * (wallet_chunks // 2) + 1,
        "in the accrual": 3 * (wallet_chunks // 2) + 2,
        "in the recovery": 3 * wallet_chunks + wallet_chunks // 2,
    }
    failures = []
    for name, statements in crashes.items():
        with pytest.raises(Rollback), transaction.atomic():
            run = cob.cob_run_start(on=CRASH_ON, by_wallet=True)
            assert run.wallet_bounds
            if statements is not None:
                with crash_after(monkeypatch, statements), pytest.raises(RuntimeError, match="killed"):
                    cob.close_of_business(on=CRASH_ON)
                draw(CreditLine.objects.get(merchant__external_id="late"), 2_000_000, key="drawn-while-down")
            else:
                draw(CreditLine.objects.get(merchant__external_id="late"), 2_000_000, key="drawn-while-down")
            done = cob.close_of_business(on=CRASH_ON)
            assert [s["chunks"] for s in done.steps if s["step"] in cob.ALL_STEPS] == [
                len(done.wallet_bounds)
            ] * len(cob.ALL_STEPS)
            # The rerun added a chunk of wallets for the late merchant's wallet.
            assert done.wallet_bounds[-1][1] >= Loan.objects.get(idempotency_key="drawn-while-down").wallet_id
            try:
                finish_and_go_on()
                assert_same(snapshot(), twin, f"crashed {name}, chunks of {chunk_size}")
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
            raise Rollback
    assert not failures, "\n".join(failures)


# --- kill -9 of a real process on PostgreSQL ----------------------------------------------------


def _database_url(name: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _manage(database: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(database), "LENDING_COB_CHUNK_SIZE": "3"}
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _shell(database: str, code: str) -> str:
    process = _manage(database, "shell", "-c", code)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out


def _admin(sql: str) -> None:
    import psycopg2

    db = connection.settings_dict
    admin = psycopg2.connect(
        dbname="postgres", user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql)
    admin.close()


SNAPSHOT = (
    "import json; from tests.lending.test_cob_resume import snapshot; "
    "print(json.dumps(snapshot(), default=str))"
)
ACTIVITY = "from tests.lending.test_cob_resume import activity; activity('highest')"
GO_ON = "from tests.lending.test_cob_resume import finish_and_go_on; finish_and_go_on()"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_close_killed_with_sigkill_resumes_to_the_twin(settings):
    settings.LENDING_COB_CHUNK_SIZE = 3
    build(n_merchants=24)
    main = connection.settings_dict["NAME"]
    twin = f"{main}_twin"
    connection.close()
    _admin(f'DROP DATABASE IF EXISTS "{twin}"')
    _admin(f'CREATE DATABASE "{twin}" TEMPLATE "{main}"')
    try:
        # The twin: the API's work first, then one uninterrupted close and ten more days.
        _shell(twin, ACTIVITY)
        _shell(twin, GO_ON)
        expected = json.loads(_shell(twin, SNAPSHOT).strip().splitlines()[-1])
        # This database: the close is killed after its first chunks, the API works, then reruns.
        process = _manage(main, "close_of_business", "--date", CRASH_ON.isoformat())
        deadline = time.monotonic() + 120
        while CobChunk.objects.filter(business_on=CRASH_ON).count() < 5:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        assert process.returncode == -signal.SIGKILL
        done = CobChunk.objects.filter(business_on=CRASH_ON).count()
        assert done < 5 * len(cob.chunk_ranges(3)), "the close finished before it was killed"
        connection.close()
        _shell(main, ACTIVITY)
        _shell(main, GO_ON)
        assert_same(json.loads(_shell(main, SNAPSHOT).strip().splitlines()[-1]), expected)
    finally:
        connection.close()
        _admin(f'DROP DATABASE IF EXISTS "{twin}"')
