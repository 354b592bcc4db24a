"""Close of business (日终批处理): one business date at a time, in order, idempotently.

First, pledged orders that settled repay their order loans and refunded ones make their share due.
Then each chunk of loans (a range of loan ids) is closed in one transaction, these steps in turn:
  due      loans whose next due date is D: the installment's unpaid principal and all interest
           accrued through D−1 fall due; the next period begins.
  deduct   loans with anything due: automatic deduction from the wallet, partial if short,
           in the product's allocation order (penalty → fee → interest → principal by default).
  accrue   in one pass over the chunk's rows (one UPDATE, each column changed only where its
           rule applies; none of the three reads what another writes):
           - interest for day D on what is still owed (daily mode: principal × rate, running
             total over the constant-principal span; spread mode: the period's planned interest
             spread evenly over its days, and principal past due at the daily rate);
           - penalty: extra interest on principal overdue past the grace days (rate × markup);
           - ageing: days past due and the five-tier classification; then overdue status
             through the loan lifecycle.
Every step is a few set-based statements per chunk, not a Python loop over loans (the
deduction too: `wallet_collection.loans_collect_owing` shares each wallet over its loans, splits
each take and writes the ledger rows in SQL, beside the Python collection it mirrors).
Then, over the same chunks, written-off loans recover what reached their merchants' wallets
(after every open loan has had its deduction). Last, in one transaction: one aggregated ledger
entry per product per day for accrual and for penalty, a reconciliation of the books, the run
marked done and the business date moved on.

Overdue interest and penalty use the same running-total rule as interest: over each span of
days in which the amount past due stays the same, day k posts round(base·rate·k) − what the
span has posted, so the span adds up to its rounded simple interest.

Resuming. The chunks' id ranges are frozen on the CobRun when the run starts (a rerun extends
them only with loans drawn since, which a run that was never interrupted would have seen too),
so chunk n always means the same loans. Each chunk writes a CobChunk row per step in the same
transaction as that step's statements; the row's unique constraint (date, step, chunk) is what
makes a rerun, a resumed run after a crash, or a second process skip work already done. Because
a chunk closes all its loans' steps at once, a crash leaves every loan either closed for the day
or untouched, so what the API does while the close is down acts on untouched loans exactly as
it would have before the close. The aggregated entries are posted in the transaction that marks
the run done (and keyed by date, step and product): a day's interest is posted once, complete.

Runs frozen by wallet. The fanned-out close (lending.cob_dispatch) also freezes ranges of wallet
ids (CobRun.wallet_bounds): each of its chunks holds every loan of its wallets (within the run's
loan ids) and closes whole, due, deduction and accrual in one transaction (its loans paid in loan
id order), then recovers in another, so that chunks can run at once and a crash or an API call
between them finds every loan closed for the day or untouched. Whoever resumes such a run, on the
workers or in process (_plan), keeps that partition; a later attempt adds ranges for wallets above
the frozen ones. A wallet's loans are paid in the same order, from the same balance, as by the
chunks of loan ids one after another, and each loan's accrual follows its deduction: the rows
left are the same.
"""

import datetime as dt
import logging
import time
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Min, Q

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from lending import calculations as calc
from lending import events, lifecycle
from lending.models import LOAN_OPEN_STATUSES, CobChunk, CobRun, Loan, LoanEvent
from lending.services import wallet_collection
from lending.services.pledges import pledges_process
from payments import bulk as payments_bulk
from payments import services as payments
from payments.models import Account, JournalEntry

log = logging.getLogger(__name__)
Purpose = Account.Purpose
# A chunk closes its loans through these steps in one transaction, in this order.
STEPS = ("due", "deduct", "accrue")
# Then, over the same chunks once every open loan has had its deduction, recoveries.
LATE_STEPS = ("recover",)
ALL_STEPS = STEPS + LATE_STEPS
# The steps that take money from wallets: in a run frozen by wallet (CobRun.wallet_bounds), their
# chunks are ranges of wallet ids, each holding all its wallets' loans.
WALLET_STEPS = ("deduct", "recover")


# --- SQL that differs between PostgreSQL and SQLite -------------------------------------------


def _open_sql() -> str:
    """The loan lifecycle's open statuses as an SQL list: the loans the steps act on."""
    return lifecycle.status_sql(LOAN_OPEN_STATUSES)


def _days_between(later: str, earlier: str) -> str:
    """Whole days between two SQL date expressions."""
    if connection.vendor == "postgresql":
        return f"(({later})::date - ({earlier})::date)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _days_since(column: str) -> str:
    """Whole days from a date column to the business date being closed, %(on)s."""
    return _days_between("%(on)s", column)


def _materialised() -> str:
    """Ends a derived table that PostgreSQL must compute once, rather than fold its expressions
    (and their subqueries) into every place the outer statement uses them."""
    return "OFFSET 0" if connection.vendor == "postgresql" else ""


def _date_param(on: dt.date):
    return on if connection.vendor == "postgresql" else on.isoformat()


def _date_params(on: dt.date, lo: int, hi: int) -> dict:
    return {"on": _date_param(on), "yesterday": _date_param(on - dt.timedelta(days=1)), "lo": lo, "hi": hi}


def _span_sql(*, prefix: str, rate: str, through: str) -> tuple[str, str, str]:
    """Running totals over a span of days on the principal past due (overdue interest, penalty):
    the span goes on while its base is still what is past due and yesterday was accrued;
    otherwise a new one starts today. Returns SQL for (the span's start, its rounded total
    through today, what it had posted before today)."""
    goes_on = (
        f"({prefix}_start_on IS NOT NULL AND {prefix}_base_fen = due_principal_fen "
        f"AND {through} = %(yesterday)s)"
    )
    start = f"(CASE WHEN {goes_on} THEN {prefix}_start_on ELSE %(on)s END)"
    days = f"({_days_between('%(on)s', start)} + 1)"
    total = f"((due_principal_fen * {rate} * {days} + 50000000) / 100000000)"
    posted = f"(CASE WHEN {goes_on} THEN {prefix}_posted_fen ELSE 0 END)"
    return start, total, posted


def _accrual_total_sql() -> str:
    """The rounded running total of interest for the current span, through day D."""
    k = f"({_days_since('accrual_segment_start_on')} + 1)"
    return (
        "CASE WHEN accrual_mode = 'daily' "
        f"THEN (accrual_segment_base_fen * rate_ppb * {k} + 50000000) / 100000000 "
        "ELSE (2 * accrual_segment_base_fen * "
        f"(CASE WHEN {k} < accrual_segment_days THEN {k} ELSE accrual_segment_days END) "
        "+ accrual_segment_days) / (2 * accrual_segment_days) END"
    )


# --- chunks -------------------------------------------------------------------------------------


def _to_close():
    """Loans close of business acts on: open ones, and written-off ones with something left to
    recover."""
    return Loan.objects.filter(
        Q(status__in=LOAN_OPEN_STATUSES)
        | Q(status=Loan.Status.WRITTEN_OFF, written_off_fen__gt=F("recovered_fen"))
    )


def chunk_ranges(chunk_size: int | None = None, *, after: int | None = None) -> list[tuple[int, int]]:
    """Id ranges of the loans to close (those with ids above `after`), chunk_size ids each (ids
    are dense enough for this)."""
    size = chunk_size or settings.LENDING_COB_CHUNK_SIZE
    loans = _to_close() if after is None else _to_close().filter(pk__gt=after)
    bounds = loans.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return []
    return [(lo, min(lo + size - 1, bounds["hi"])) for lo in range(bounds["lo"], bounds["hi"] + 1, size)]


def wallet_ranges(chunk_size: int | None = None, *, after: int | None = None) -> list[tuple[int, int]]:
    """Ranges of the wallet ids of the loans to close (wallets with ids above `after`), each
    about chunk_size loans' wide if loans spread evenly over wallets (wallet ids are dense
    enough for this): the deduction's and recovery's chunks when a wallet's loans must not be
    split between chunks."""
    size = chunk_size or settings.LENDING_COB_CHUNK_SIZE
    loans = _to_close() if after is None else _to_close().filter(wallet_id__gt=after)
    bounds = loans.aggregate(lo=Min("wallet_id"), hi=Max("wallet_id"), count=Count("id"))
    if bounds["lo"] is None:
        return []
    width = max(1, -(-size * (bounds["hi"] - bounds["lo"] + 1) // bounds["count"]))
    return [(lo, min(lo + width - 1, bounds["hi"])) for lo in range(bounds["lo"], bounds["hi"] + 1, width)]


def cob_run_start(*, on: dt.date, chunk_size: int | None = None, by_wallet: bool = False) -> CobRun:
    """The run of date `on` with its chunks frozen. The first attempt fixes the id ranges of the
    loans it must close, so that chunk n means the same loans to every attempt and every process
    whatever is repaid meanwhile; a later attempt only adds ranges for loans drawn since (drawn
    on D while the close was down, they are closed like loans drawn before it started).

    `by_wallet` (the fanned-out close): the first attempt also freezes ranges of wallet ids for
    the deduction and recovery steps (wallet_ranges), so that each wallet's loans are in one
    chunk and those chunks can run at once; a later attempt adds ranges for wallets above them.
    Whoever resumes the run keeps the way its first attempt chose."""
    CobRun.objects.get_or_create(business_on=on)
    with transaction.atomic():
        run = CobRun.objects.select_for_update().get(business_on=on)
        if run.status == CobRun.Status.DONE:
            return run
        bounds = [tuple(pair) for pair in run.chunk_bounds]
        bounds += chunk_ranges(chunk_size, after=bounds[-1][1] if bounds else None)
        run.chunk_bounds = [list(pair) for pair in bounds]
        if run.wallet_bounds is None and by_wallet and run.attempts == 0:
            run.wallet_bounds = []
        if run.wallet_bounds is not None:
            wallets = [tuple(pair) for pair in run.wallet_bounds]
            wallets += wallet_ranges(chunk_size, after=wallets[-1][1] if wallets else None)
            run.wallet_bounds = [list(pair) for pair in wallets]
        run.attempts += 1
        run.status = CobRun.Status.RUNNING
        run.save(update_fields=["chunk_bounds", "wallet_bounds", "attempts", "status"])
    return run


def _by_wallet(run: CobRun) -> bool:
    """Whether the run's chunks are ranges of wallet ids (every step's: a chunk of wallets closes
    whole, due to accrual, in one transaction, then recovers in another)."""
    return run.wallet_bounds is not None


def step_ranges(run: CobRun, step: str) -> list[tuple[int, int]]:
    """The frozen chunks of one step of the run: loan id ranges, or, for a run frozen by wallet,
    wallet id ranges (every step)."""
    if _by_wallet(run):
        return [(lo, hi) for lo, hi in run.wallet_bounds]
    return [(lo, hi) for lo, hi in run.chunk_bounds]


def _loans_of(run: CobRun, step: str) -> tuple[int, int] | None:
    """For a chunk of wallets: the loan ids the run closes (from its first frozen loan to its
    last), which its loans are also held to; None for a chunk of loan ids."""
    if not _by_wallet(run):
        return None
    if not run.chunk_bounds:
        return (0, -1)
    return (run.chunk_bounds[0][0], run.chunk_bounds[-1][1])


def _plan(run: CobRun) -> list[tuple[tuple[str, ...], int, int, int]]:
    """The run's chunks in the order they close, as (steps, chunk, lo, hi): chunk by chunk
    through the steps (each chunk's loans closed at once), then the late steps. A chunk is a
    range of loan ids, or of wallet ids for a run frozen by wallet (all of a wallet's loans in
    one chunk, so paid in loan id order from one balance, as chunks of loan ids in turn pay
    them)."""
    return [
        (steps, number, lo, hi)
        for steps in (STEPS, LATE_STEPS)
        for number, (lo, hi) in enumerate(step_ranges(run, steps[0]))
    ]


def _claim(on: dt.date, step: str, chunk: int) -> CobChunk | None:
    """Mark a chunk as done inside the caller's transaction; None if it was done before (or is
    being done by another worker, which then wins)."""
    try:
        with transaction.atomic():
            return CobChunk.objects.create(business_on=on, step=step, chunk=chunk)
    except IntegrityError:
        return None


def _jit_off() -> None:
    if connection.vendor == "postgresql":
        # Compiling these short, wide statements costs PostgreSQL's JIT more than it saves.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def _run_claimed(
    on: dt.date,
    step: str,
    chunk: int,
    lo: int,
    hi: int,
    loans: tuple[int, int] | None = None,
    shared: list | None = None,
) -> int | None:
    """One step of one chunk, claimed, inside the caller's transaction. `loans`: the chunk is a
    range of wallet ids, its loans held to these ids. The deduction and recovery leave the rows
    every chunk shares (the platform's accounts, the pools) in `shared`, for the caller to write
    last (_run_steps)."""
    claim = _claim(on, step, chunk)
    if claim is None:
        return None
    scope = {} if loans is None else {"loans": loans}
    if step in ("deduct", "recover"):
        scope["shared"] = shared
    rows, amounts = STEP_FUNCTIONS[step](on, lo, hi, **scope)
    claim.rows = rows
    # By ledger (accrue, penalty), then product: what the run posts when it finishes.
    claim.amounts = {
        ledger: {str(k): v for k, v in by_product.items()} for ledger, by_product in amounts.items()
    }
    claim.save(update_fields=["rows", "amounts"])
    return rows


def _run_steps(
    on: dt.date,
    steps: tuple[str, ...],
    chunk: int,
    lo: int,
    hi: int,
    loans: tuple[int, int] | None = None,
    timings: dict | None = None,
    commits_next: bool = False,
) -> dict[str, int | None]:
    """The steps of one chunk (each claimed once) inside the caller's transaction; then the rows
    every chunk shares (the platform's accounts, the pools), which the deduction and recovery
    move, written last, after the chunk's own (no step reads them). With `commits_next`
    (nothing follows in the transaction) the deferred checks of what the chunk wrote are run
    before those locks are taken, so that chunks running at once hold them only for a few
    statements and their commits. Rows touched per step, None if skipped."""
    shared: list[payments_bulk.SharedMoves] = []
    done = {}
    for step in steps:
        began = time.perf_counter()
        done[step] = _run_claimed(on, step, chunk, lo, hi, loans=loans, shared=shared)
        if timings is not None:
            timings[step] = timings.get(step, 0.0) + time.perf_counter() - began
    if shared:
        began = time.perf_counter()
        if commits_next and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the ledger's and keys' checks, now
        payments_bulk.shared_moves_apply(shared)
        if timings is not None:
            moved = "deduct" if "deduct" in steps else steps[-1]
            timings[moved] = timings.get(moved, 0.0) + time.perf_counter() - began
    return done


def run_chunk(*, on: dt.date, step: str, chunk: int, lo: int, hi: int) -> int | None:
    """Run one step over one chunk, once, in its own transaction: a range of loan ids, or of
    wallet ids for a run frozen by wallet, whose chunk closes whole: its due step runs the steps
    after it too (each claimed once), so that no API call lands between them and every loan is
    either closed for the day or untouched, as in process. Returns the step's rows touched, or
    None if skipped."""
    run = CobRun.objects.filter(business_on=on).only("chunk_bounds", "wallet_bounds").first()
    loans = None if run is None else _loans_of(run, step)
    steps = STEPS[STEPS.index(step) :] if run is not None and _by_wallet(run) and step in STEPS else (step,)
    with transaction.atomic():
        _jit_off()
        return _run_steps(on, steps, chunk, lo, hi, loans=loans, commits_next=True)[step]


def close_chunk(
    *,
    on: dt.date,
    chunk: int,
    lo: int,
    hi: int,
    steps: tuple[str, ...] | None = None,
    timings: dict | None = None,
    loans: tuple[int, int] | None = None,
) -> dict[str, int | None]:
    """Close one chunk of loans through the steps (each once) in one transaction: a crash leaves
    its loans either closed for the day or untouched. Rows touched per step, None if skipped.
    `loans`: the chunk is a range of wallet ids (see _run_claimed)."""
    with transaction.atomic():
        _jit_off()
        return _run_steps(on, steps or STEPS, chunk, lo, hi, loans=loans, timings=timings)


def _execute(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _sums_by_product(sql: str, params: dict) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # PostgreSQL sums bigints as numeric: back to int fen.
        return {product: int(total) for product, total in cursor.fetchall() if total}


# --- the steps ----------------------------------------------------------------------------------


def _step_due(on: dt.date, lo: int, hi: int, *, loans: tuple[int, int] | None = None) -> tuple[int, dict]:
    """Installments falling due on D, over a chunk of loan ids, or of wallet ids (`loans` given:
    the run's loan ids, _chunk_sql)."""
    params = {**_date_params(on, lo, hi), **_chunk_params(lo, hi, loans)}
    # What falls due now: everything planned through this installment, less what has been
    # repaid and what is already due. Paying ahead therefore lowers (or skips) what falls due;
    # a loan whose installment was paid before the close of its due date (nothing unpaid) has
    # nothing past due, and must not be aged as if it had.
    # PostgreSQL sums bigints as numeric, and numeric division below would round where integer
    # division floors (one fen too much per period): the sum is cast back to an integer.
    # Each loan's installments are read once (by the loan's index), in a derived table: the sum
    # planned through the current installment and the next one's due date.
    planned = f"""
        SELECT l.id AS loan_id,
               (SELECT CAST(COALESCE(SUM(i.principal_fen), 0) AS BIGINT) FROM lending_installment i
                WHERE i.loan_id = l.id AND i.number <= l.next_installment) AS planned_through,
               (SELECT i.due_on FROM lending_installment i
                WHERE i.loan_id = l.id AND i.number = l.next_installment + 1) AS next_due
        FROM lending_loan l
        WHERE {_chunk_sql(loans, "l.")} AND l.status IN {_open_sql()} AND l.next_due_on = %(on)s
        {_materialised()}
    """
    planned_through = "x.planned_through"
    shortfall = f"({planned_through} - (principal_fen - principal_outstanding_fen) - due_principal_fen)"
    unpaid_installment = f"(CASE WHEN {shortfall} > 0 THEN {shortfall} ELSE 0 END)"
    # The next period's planned interest is on the principal that is not yet due (r × 30).
    next_interest = (
        f"((principal_outstanding_fen - due_principal_fen - {unpaid_installment}) * rate_ppb * 30 "
        "+ 50000000) / 100000000"
    )
    next_due = "x.next_due"
    period_days = _days_between(next_due, "%(on)s")
    spread = f"(repayment_method IN ('equal_principal', 'equal_installment') AND {next_due} IS NOT NULL)"
    # A loan that accrues day by day before and after the due date keeps its span: the principal
    # has not changed, and restarting the running total would round each period on its own
    # (an interest-only loan would collect a fen more than its schedule).
    keeps_span = f"(accrual_mode = 'daily' AND NOT {spread})"
    sql = f"""
        UPDATE lending_loan SET
            due_principal_fen = due_principal_fen + {unpaid_installment},
            due_interest_fen = interest_outstanding_fen,
            oldest_unpaid_due_on = CASE WHEN oldest_unpaid_due_on IS NOT NULL THEN oldest_unpaid_due_on
                WHEN due_principal_fen + {unpaid_installment} > 0 OR interest_outstanding_fen > 0
                     OR penalty_outstanding_fen > 0 THEN %(on)s END,
            accrual_mode = CASE WHEN {spread} THEN 'spread' ELSE 'daily' END,
            accrual_segment_start_on = CASE WHEN {keeps_span} THEN accrual_segment_start_on ELSE %(on)s END,
            accrual_segment_base_fen = CASE WHEN {keeps_span} THEN accrual_segment_base_fen
                WHEN {spread} THEN {next_interest} ELSE principal_outstanding_fen END,
            accrual_segment_days = COALESCE({period_days}, 0),
            accrual_segment_posted_fen = CASE WHEN {keeps_span} THEN accrual_segment_posted_fen ELSE 0 END,
            next_due_on = {next_due},
            next_installment = next_installment + 1
        FROM ({planned}) AS x WHERE lending_loan.id = x.loan_id
    """
    rows = _execute(sql, params)
    return rows, {}


def _chunk_sql(loans: tuple[int, int] | None, alias: str = "") -> str:
    """The loans of a chunk: ids lo to hi, or (`loans`, the run's first and last loan ids) those
    whose wallets' ids are lo to hi."""
    if loans is None:
        return f"{alias}id BETWEEN %(lo)s AND %(hi)s"
    return f"{alias}wallet_id BETWEEN %(lo)s AND %(hi)s AND {alias}id BETWEEN %(first)s AND %(last)s"


def _chunk_params(lo: int, hi: int, loans: tuple[int, int] | None) -> dict:
    return {"lo": lo, "hi": hi, **({} if loans is None else {"first": loans[0], "last": loans[1]})}


def _step_deduct(
    on: dt.date, lo: int, hi: int, *, loans: tuple[int, int] | None = None, shared: list | None = None
) -> tuple[int, dict]:
    """Automatic deduction: every open loan of the chunk with something due takes it from its
    wallet, as far as the wallet allows, all in SQL (wallet_collection.loans_collect_owing).
    A chunk of wallets (`loans` given) holds every loan of its wallets, so it pays them in loan
    id order as the chunks of loan ids do one after another. `shared`: the platform's accounts
    and pools are written last, by the caller (payments.bulk.shared_moves_apply)."""
    # Past the last due date everything owed is due; before it, what has fallen due.
    due_interest = "(CASE WHEN next_due_on IS NULL THEN interest_outstanding_fen ELSE due_interest_fen END)"
    owed = f"(penalty_outstanding_fen + {due_interest} + due_principal_fen)"
    owing = f"""
        SELECT id AS loan_id, wallet_id, pool_id, line_id, product_id, reference,
               penalty_outstanding_fen AS penalty, 0 AS fee, {due_interest} AS interest,
               due_principal_fen AS principal, {owed} AS wanted
        FROM lending_loan
        WHERE {_chunk_sql(loans)} AND status IN {_open_sql()} AND {owed} > 0
    """
    params = _chunk_params(lo, hi, loans)
    owing_loans: list[int] = []
    paid = wallet_collection.loans_collect_owing(
        owing_loans=owing_loans,
        on=on,
        owing=owing,
        params=params,
        key_prefix=f"cob:{on.isoformat()}:deduct:",
        kind=LoanEvent.Kind.AUTO_DEDUCTED,
        reference="auto-deduction",
        shared=shared,
    )
    # Partners hear of each loan whose deduction left something due unpaid (repayment.failed).
    if not owing_loans:
        return paid, {}
    of_wallets = {"chunk_sql": "l.id IN (" + ",".join(str(int(pk)) for pk in owing_loans) + ")"}
    events.deductions_failed_emit(
        on=on,
        lo=lo,
        hi=hi,
        owed_sql=owed,
        still_owing_sql=f"status IN {_open_sql()} AND {owed} > 0",
        **of_wallets,
    )
    return paid, {}


def _step_accrue(on: dt.date, lo: int, hi: int, *, loans: tuple[int, int] | None = None) -> tuple[int, dict]:
    """Interest and penalty for day D, and days past due with the classification, in one pass
    over the chunk's rows: one UPDATE whose columns each change only where their own rule
    applies (the three read columns none of the others write, so one statement is the same as
    three in turn). The day's amounts per product come from one SELECT over the same rows."""
    params = {**_date_params(on, lo, hi), **_chunk_params(lo, hi, loans)}
    chunk = f"{_chunk_sql(loans)} AND status IN {_open_sql()}"
    dpd = _days_since("oldest_unpaid_due_on")

    # Interest: loans not yet accrued through D whose span has begun.
    accrues = f"(accrued_through_on < %(on)s AND {_days_since('accrual_segment_start_on')} >= 0)"
    has_principal = "principal_outstanding_fen > 0"
    total = _accrual_total_sql()
    # Spread-mode loans: principal past due is outside the period's plan and accrues at the daily
    # rate, by running totals over its span (daily-mode loans accrue on all principal already).
    # A day accrued with nothing past due ends the span (its start is cleared): the same amount
    # past due again later starts a new one, rather than taking up the old one and charging the
    # days in between.
    is_overdue = f"({accrues} AND accrual_mode = 'spread' AND due_principal_fen > 0)"
    o_start, o_total, o_posted = _span_sql(
        prefix="overdue_span", rate="rate_ppb", through="accrued_through_on"
    )
    interest = (
        f"(CASE WHEN {accrues} AND {has_principal} THEN {total} - accrual_segment_posted_fen "
        f"+ (CASE WHEN {is_overdue} THEN {o_total} - {o_posted} ELSE 0 END) ELSE 0 END)"
    )

    # Penalty: principal past due beyond the product's grace days, once a day.
    grace = "(SELECT p.grace_days FROM lending_product p WHERE p.id = lending_loan.product_id)"
    penalises = (
        "(due_principal_fen > 0 "
        "AND (penalty_accrued_through_on IS NULL OR penalty_accrued_through_on < %(on)s) "
        f"AND {dpd} > {grace})"
    )
    p_start, p_total, p_posted = _span_sql(
        prefix="penalty_span", rate="penalty_rate_ppb", through="penalty_accrued_through_on"
    )
    penalty = f"(CASE WHEN {penalises} THEN {p_total} - {p_posted} ELSE 0 END)"

    # Ageing: loans with something past due, or still marked as if they had.
    ages = (
        f"(oldest_unpaid_due_on IS NOT NULL OR status = '{Loan.Status.OVERDUE.value}' "
        "OR classification <> 'normal')"
    )
    t = calc.ClassificationThresholds(**settings.LENDING_CLASSIFICATION_THRESHOLDS)
    classification = (
        "CASE WHEN oldest_unpaid_due_on IS NULL OR "
        f"{dpd} < {t.special_mention_from} THEN 'normal' "
        f"WHEN {dpd} < {t.substandard_from} THEN 'special_mention' "
        f"WHEN {dpd} < {t.doubtful_from} THEN 'substandard' "
        f"WHEN {dpd} < {t.loss_from} THEN 'doubtful' ELSE 'loss' END"
    )

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, SUM({interest}), SUM({penalty}) FROM lending_loan "
            f"WHERE {chunk} AND ({accrues} OR {penalises}) GROUP BY product_id",
            params,
        )
        sums = cursor.fetchall()
    # PostgreSQL sums bigints as numeric: back to int fen.
    amounts = {
        ledger: {product: int(fen) for product, *totals in sums if (fen := totals[column])}
        for column, ledger in enumerate(("accrue", "penalty"))
    }
    # Status moves through the loan lifecycle, inside the same UPDATE (each row written once):
    # recorded first, with this run, from the rows as they are (the moves read only columns the
    # UPDATE leaves as they were).
    past_due = f"oldest_unpaid_due_on IS NOT NULL AND {dpd} > 0"
    moves = (
        ("fell_overdue", past_due, "an amount fallen due is unpaid"),
        ("cured", f"NOT ({past_due})", "nothing fallen due is unpaid"),
    )
    run = lifecycle.cob_run_of(on)
    lifecycle.moves_record(
        lifecycle.LOAN,
        moves=moves,
        rows=f"lending_loan WHERE {chunk}",
        params=params,
        business_on=on,
        cob_run_id=run,
    )
    status = lifecycle.moves_sql(lifecycle.LOAN, [(event, condition) for event, condition, _ in moves])
    rows = _execute(
        f"""
        UPDATE lending_loan SET
            status = {status},
            interest_outstanding_fen = interest_outstanding_fen + {interest},
            interest_accrued_total_fen = interest_accrued_total_fen + {interest},
            accrual_segment_posted_fen = CASE WHEN {accrues} AND {has_principal} THEN {total}
                                              ELSE accrual_segment_posted_fen END,
            overdue_span_start_on = CASE WHEN {is_overdue} THEN {o_start} WHEN {accrues} THEN NULL
                                         ELSE overdue_span_start_on END,
            overdue_span_base_fen = CASE WHEN {is_overdue} THEN due_principal_fen
                                         ELSE overdue_span_base_fen END,
            overdue_span_posted_fen = CASE WHEN {is_overdue} THEN {o_total} ELSE overdue_span_posted_fen END,
            accrued_through_on = CASE WHEN {accrues} THEN %(on)s ELSE accrued_through_on END,
            penalty_outstanding_fen = penalty_outstanding_fen + {penalty},
            penalty_span_start_on = CASE WHEN {penalises} THEN {p_start} ELSE penalty_span_start_on END,
            penalty_span_base_fen = CASE WHEN {penalises} THEN due_principal_fen
                                         ELSE penalty_span_base_fen END,
            penalty_span_posted_fen = CASE WHEN {penalises} THEN {p_total} ELSE penalty_span_posted_fen END,
            penalty_accrued_through_on = CASE WHEN {penalises} THEN %(on)s
                                              ELSE penalty_accrued_through_on END,
            days_past_due = CASE WHEN NOT {ages} THEN days_past_due
                                 WHEN oldest_unpaid_due_on IS NULL THEN 0 ELSE {dpd} END,
            max_days_past_due = CASE WHEN oldest_unpaid_due_on IS NOT NULL AND {dpd} > max_days_past_due
                                     THEN {dpd} ELSE max_days_past_due END,
            classification = CASE WHEN {ages} THEN {classification} ELSE classification END
        WHERE {chunk} AND ({accrues} OR {penalises} OR {ages})
        """,
        params,
    )
    # One loan.overdue per loan that fell overdue in this chunk today, written in bulk.
    events.loans_overdue_emit(on=on, lo=lo, hi=hi, cob_run_id=run, loans=loans)
    return rows, amounts


def _step_recover(
    on: dt.date,
    lo: int,
    hi: int,
    *,
    loans: tuple[int, int] | None = None,
    shared: list[payments_bulk.SharedMoves] | None = None,
) -> tuple[int, dict]:
    """Written-off loans collect what has reached their merchants' wallets, up to what was written
    off: each its own ledger entry, keyed by loan and day (so once a day, whatever reruns), in
    loan id order (a chunk of wallets, `loans` given, holds every loan of its wallets). As the
    deduction, the shared accounts and pools are written last, by the caller (`shared`)."""
    from lending.services.loans import loans_recover

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id FROM lending_loan l JOIN payments_account a ON a.id = l.wallet_id "
            f"WHERE {_chunk_sql(loans, 'l.')} AND l.status = 'written_off' "
            "AND l.written_off_fen > l.recovered_fen AND a.balance_fen - a.held_fen > 0 ORDER BY l.id",
            _chunk_params(lo, hi, loans),
        )
        loan_ids = [row[0] for row in cursor.fetchall()]
    recovered = loans_recover(on=on, loan_ids=loan_ids, actor="close of business", shared=shared)
    return recovered, {}


STEP_FUNCTIONS = {
    "due": _step_due,
    "deduct": _step_deduct,
    "accrue": _step_accrue,
    "recover": _step_recover,
}


# --- the day ------------------------------------------------------------------------------------

# The day's aggregated entries: the step amounts' ledger names, and the accounts they post to.
LEDGERS = {
    "accrue": (Purpose.INTEREST_RECEIVABLE, Purpose.INTEREST_INCOME),
    "penalty": (Purpose.INTEREST_RECEIVABLE, Purpose.PENALTY_INCOME),
}


def _post_to_ledger(on: dt.date, ledger: str, chunk_amounts: list[dict] | None = None) -> int:
    """One aggregated entry per product for the day's accrual (or penalty), keyed so that it is
    posted once whatever happens to the run. `chunk_amounts`: the day's chunks' amounts, when
    the caller has read them already."""
    if chunk_amounts is None:
        chunk_amounts = list(CobChunk.objects.filter(business_on=on).values_list("amounts", flat=True))
    totals: dict[int, int] = defaultdict(int)
    for amounts in chunk_amounts:
        for product_id, fen in (amounts or {}).get(ledger, {}).items():
            totals[int(product_id)] += fen
    debit, credit = (payments.platform_account(p) for p in LEDGERS[ledger])
    posted = 0
    for product_id, fen in sorted(totals.items()):
        if fen <= 0:
            continue
        payments.transfer(
            debit=debit,
            credit=credit,
            amount_fen=fen,
            idempotency_key=f"cob:{on.isoformat()}:{ledger}:{product_id}",
            reference=f"{ledger} {on} product {product_id}",
            kind=JournalEntry.Kind.ACCRUAL,
        )
        posted += fen
    return posted


def cob_run_chunks(*, run: CobRun) -> dict[str, float]:
    """Close every frozen chunk of the run in this process: chunk by chunk through all the
    steps, then the late steps (fanned out over workers, lending.cob_dispatch); a run frozen by
    wallet, step by step (_plan). Seconds per step."""
    timings: dict[str, float] = {}
    for steps, number, lo, hi in _plan(run):
        close_chunk(
            on=run.business_on,
            chunk=number,
            lo=lo,
            hi=hi,
            steps=steps,
            timings=timings,
            loans=_loans_of(run, steps[0]),
        )
    return timings


def lending_totals() -> dict[str, int]:
    """The open loans' principal and their interest and penalty, beside the ledger's loans
    receivable and interest receivable: two reads, no write (an account not opened yet holds 0;
    a check opens nothing)."""
    from django.db.models import Sum

    totals = Loan.objects.filter(status__in=LOAN_OPEN_STATUSES).aggregate(
        principal=Sum("principal_outstanding_fen"),
        interest=Sum("interest_outstanding_fen"),
        penalty=Sum("penalty_outstanding_fen"),
    )
    balances = dict(
        Account.objects.filter(
            code__in=[f"platform:{Purpose.LOANS_RECEIVABLE}", f"platform:{Purpose.INTEREST_RECEIVABLE}"]
        ).values_list("purpose", "balance_fen")
    )
    return {
        "principal": int(totals["principal"] or 0),
        "receivable": balances.get(Purpose.LOANS_RECEIVABLE, 0),
        "interest": int(totals["interest"] or 0) + int(totals["penalty"] or 0),
        "interest_receivable": balances.get(Purpose.INTEREST_RECEIVABLE, 0),
    }


def lending_reconcile() -> list[str]:
    """The loans' running balances against the ledger's receivables."""
    totals = lending_totals()
    principal, receivable = totals["principal"], totals["receivable"]
    interest, interest_receivable = totals["interest"], totals["interest_receivable"]
    differences = []
    if principal != receivable:
        differences.append(f"loans' principal outstanding {principal} != loans receivable {receivable}")
    if interest != interest_receivable:
        differences.append(
            f"loans' interest and penalty {interest} != interest receivable {interest_receivable}"
        )
    return differences


def _close_missing_chunks(run: CobRun) -> list[tuple[str, int, int, dict]]:
    """Close the frozen chunks no attempt has closed yet; then the day's chunk rows, (step,
    chunk, rows, amounts), read once (when nothing was missing, the rows read to find out)."""

    def chunk_rows():
        return list(
            CobChunk.objects.filter(business_on=run.business_on).values_list(
                "step", "chunk", "rows", "amounts"
            )
        )

    read = chunk_rows()
    done = {(step, chunk) for step, chunk, _, _ in read}
    missing = False
    for steps, number, lo, hi in _plan(run):
        if any((step, number) not in done for step in steps):
            close_chunk(
                on=run.business_on, chunk=number, lo=lo, hi=hi, steps=steps, loans=_loans_of(run, steps[0])
            )
            missing = True
    return chunk_rows() if missing else read


def cob_run_finish(
    *,
    run: CobRun,
    timings: dict[str, float] | None = None,
    reports_before: list[dict] | None = None,
    ledger_check: bool = True,
) -> CobRun:
    """Post the day's aggregated accrual and penalty, reconcile the books, mark the run done and
    move the business date on, all in one transaction under the run's row lock: a second process
    closing the same date waits here and then finds the run done. Without `ledger_check` the
    ledger's own proof (payments.reconciliation, which reads every posting) is left to the
    caller, which closes many dates in a row and checks the ledger once after the last; the
    loans are still checked against the receivables."""
    from lending import collections
    from payments.reconciliation import reconcile

    on = run.business_on
    timings = timings or {}
    with transaction.atomic():
        current = CobRun.objects.select_for_update().get(pk=run.pk)
        if current.status == CobRun.Status.DONE:
            return current
        # Another attempt may have added chunks (loans drawn meanwhile) that this one never saw:
        # the day is done only when every frozen chunk is.
        chunks = _close_missing_chunks(current)
        began = time.perf_counter()
        rows = defaultdict(int)
        for step, _chunk, count, _amounts in chunks:
            rows[step] += count
        reports = [
            {
                "step": step,
                "rows": rows[step],
                "chunks": len(step_ranges(current, step)),
                "seconds": round(timings.get(step, 0.0), 3),
            }
            for step in ALL_STEPS
        ]
        for ledger in LEDGERS:
            _post_to_ledger(on, ledger, [amounts for _step, _chunk, _count, amounts in chunks])
        differences = (reconcile(on=on, entries_of=on).differences if ledger_check else []) + (
            lending_reconcile()
        )
        reports.append(
            {
                "step": "reconcile",
                "rows": len(differences),
                "chunks": 0,
                "seconds": round(time.perf_counter() - began, 3),
                **({} if ledger_check else {"ledger": "checked by the caller"}),
            }
        )
        if differences:
            raise ApplicationError(
                "the books do not balance after close of business: " + "; ".join(differences[:5])
            )
        # Collections follow the day's ageing: cases opened and closed, promises kept or broken.
        began = time.perf_counter()
        synced = collections.cases_sync(on=on)
        promises = collections.promises_check(on=on)
        reports.append(
            {
                "step": "collections",
                "rows": sum(synced.values()) + sum(promises.values()),
                "chunks": 0,
                "seconds": round(time.perf_counter() - began, 3),
            }
        )
        current.status = CobRun.Status.DONE
        current.steps = (reports_before or []) + reports
        current.error = ""
        current.finished_at = dt.datetime.now(dt.UTC)
        current.save(update_fields=["status", "steps", "error", "finished_at"])
        business_date_set(on=on + dt.timedelta(days=1))
    return current


def close_of_business(*, on: dt.date, chunk_size: int | None = None, ledger_check: bool = True) -> CobRun:
    """Close one business date: it must be the current one; closing it again changes nothing;
    a run killed half-way is finished by running it again, and two processes closing the same
    date at once both end with the run done. `ledger_check=False`: see cob_run_finish."""
    done = CobRun.objects.filter(business_on=on, status=CobRun.Status.DONE).first()
    if done is not None:
        return done
    # The one service that reads the date itself: closing is allowed only for the current one.
    current = business_date_today()
    if on != current:
        done = CobRun.objects.filter(business_on=on, status=CobRun.Status.DONE).first()
        if done is not None:  # another process finished it in the meantime
            return done
        raise ApplicationError(
            f"business dates close in order: the current business date is {current}, not {on}",
            {"fields": {"date": [f"expected {current}"]}},
        )
    began = time.perf_counter()
    run = cob_run_start(on=on, chunk_size=chunk_size)
    if run.status == CobRun.Status.DONE:
        return run
    try:
        # Pledged orders that settled or were refunded act on their loans before due dates do.
        handled = pledges_process(on=on)
        pledged = {"step": "pledges", "rows": handled, "chunks": 0}
        pledged["seconds"] = round(time.perf_counter() - began, 3)
        timings = cob_run_chunks(run=run)
        run = cob_run_finish(run=run, timings=timings, reports_before=[pledged], ledger_check=ledger_check)
    except Exception as exc:
        # Work another process finished is never shown as failed.
        CobRun.objects.filter(pk=run.pk).exclude(status=CobRun.Status.DONE).update(
            status=CobRun.Status.FAILED, error=str(exc)[:2000]
        )
        raise
    log.info("closed business date %s in %.1f s", on, time.perf_counter() - began)
    return run


def close_through(*, through: dt.date) -> list[CobRun]:
    """Close every business date from the current one through `through`, in order."""
    runs = []
    # Starts where the calendar stands: each close moves it on by one day.
    on = business_date_today()
    while on <= through:
        runs.append(close_of_business(on=on))
        on += dt.timedelta(days=1)
    return runs
