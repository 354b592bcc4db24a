"""Close of business (日终批处理): one business date at a time, in order, idempotently.

First, in the demo, the marketplace trades D; then pledged orders that settled repay their
order loans and refunded ones make their share due. Then these steps run, each over chunks of
loans by id range:
  due      loans whose next due date is D: the installment's unpaid principal and all interest
           accrued through D−1 fall due; the next period begins.
  deduct   loans with anything due: automatic deduction from the wallet, partial if short,
           in the product's allocation order (penalty → fee → interest → principal by default).
  accrue   interest for day D on what is still owed (daily mode: principal × rate, running
           total over the constant-principal span; spread mode: the period's planned interest
           spread evenly over its days).
  penalty  extra interest on principal overdue past the grace days (rate × markup).
  age      days past due, overdue status and the five-tier classification.
then one aggregated ledger entry per product per day for accrual and for penalty, and a
reconciliation of the books.

Every step is one or two set-based statements per chunk, not a Python loop over loans (the
deduction step builds its ledger rows in Python only for the loans that actually pay that
day). Each chunk writes a CobChunk row in the same transaction as its statements; the row's
unique constraint (date, step, chunk) is what makes a rerun, a resumed run after a crash, or a
second worker skip work already done. The aggregated entries are keyed by date, step and
product in the journal's unique idempotency key: a day's interest is posted once.
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from lending import calculations as calc
from lending.models import CobChunk, CobRun, Loan, LoanEvent
from lending.services import wallet_collection
from lending.services.pledges import pledges_process
from payments import services as payments
from payments.models import Account, JournalEntry

log = logging.getLogger(__name__)
Purpose = Account.Purpose
OPEN = ("active", "overdue")
STEPS = ("due", "deduct", "accrue", "penalty", "age")


@dataclass
class StepReport:
    step: str
    rows: int = 0
    chunks: int = 0
    seconds: float = 0.0
    amounts: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "step": self.step,
            "rows": self.rows,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


# --- SQL that differs between PostgreSQL and SQLite -------------------------------------------


def _days_between(later: str, earlier: str) -> str:
    """Whole days between two SQL date expressions."""
    if connection.vendor == "postgresql":
        return f"(({later})::date - ({earlier})::date)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _days_since(column: str) -> str:
    """Whole days from a date column to the business date being closed, %(on)s."""
    return _days_between("%(on)s", column)


def _date_param(on: dt.date):
    return on if connection.vendor == "postgresql" else on.isoformat()


def _overdue_interest_sql() -> str:
    """Spread-mode loans: principal past due is outside the period's plan and accrues at the
    daily rate, rounded per day (daily-mode loans accrue on all principal already)."""
    return (
        "CASE WHEN accrual_mode = 'spread' "
        "THEN (due_principal_fen * rate_ppb + 50000000) / 100000000 ELSE 0 END"
    )


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


def _penalty_sql() -> str:
    return "(due_principal_fen * penalty_rate_ppb + 50000000) / 100000000"


# --- chunks -------------------------------------------------------------------------------------


def chunk_ranges(chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Id ranges of open loans, chunk_size ids each (ids are dense enough for this)."""
    size = chunk_size or settings.LENDING_COB_CHUNK_SIZE
    bounds = Loan.objects.filter(status__in=OPEN).aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return []
    return [(lo, min(lo + size - 1, bounds["hi"])) for lo in range(bounds["lo"], bounds["hi"] + 1, size)]


def _claim(on: dt.date, step: str, chunk: int) -> CobChunk | None:
    """Mark a chunk as done inside the caller's transaction; None if it was done before (or is
    being done by another worker, which then wins)."""
    try:
        with transaction.atomic():
            return CobChunk.objects.create(business_on=on, step=step, chunk=chunk)
    except IntegrityError:
        return None


def run_chunk(*, on: dt.date, step: str, chunk: int, lo: int, hi: int) -> int | None:
    """Run one step over one chunk of loans, once. Returns rows touched, or None if skipped."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Compiling these short, wide statements costs PostgreSQL's JIT more than it saves.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        claim = _claim(on, step, chunk)
        if claim is None:
            return None
        rows, amounts = STEP_FUNCTIONS[step](on, lo, hi)
        claim.rows = rows
        claim.amounts = {str(k): v for k, v in amounts.items()}
        claim.save(update_fields=["rows", "amounts"])
    return rows


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


def _step_due(on: dt.date, lo: int, hi: int) -> tuple[int, dict]:
    params = {"on": _date_param(on), "lo": lo, "hi": hi}
    # What falls due now: everything planned through this installment, less what has been
    # repaid and what is already due. Paying ahead therefore lowers (or skips) what falls due.
    planned_through = (
        "(SELECT COALESCE(SUM(i.principal_fen), 0) FROM lending_installment i "
        "WHERE i.loan_id = lending_loan.id AND i.number <= lending_loan.next_installment)"
    )
    shortfall = f"({planned_through} - (principal_fen - principal_outstanding_fen) - due_principal_fen)"
    unpaid_installment = f"(CASE WHEN {shortfall} > 0 THEN {shortfall} ELSE 0 END)"
    # The next period's planned interest is on the principal that is not yet due (r × 30).
    next_interest = (
        f"((principal_outstanding_fen - due_principal_fen - {unpaid_installment}) * rate_ppb * 30 "
        "+ 50000000) / 100000000"
    )
    next_due = (
        "(SELECT i.due_on FROM lending_installment i "
        "WHERE i.loan_id = lending_loan.id AND i.number = lending_loan.next_installment + 1)"
    )
    period_days = _days_between(next_due, "%(on)s")
    sql = f"""
        UPDATE lending_loan SET
            due_principal_fen = due_principal_fen + {unpaid_installment},
            due_interest_fen = interest_outstanding_fen,
            oldest_unpaid_due_on = COALESCE(oldest_unpaid_due_on, %(on)s),
            accrual_mode = CASE WHEN repayment_method IN ('equal_principal', 'equal_installment')
                AND {next_due} IS NOT NULL THEN 'spread' ELSE 'daily' END,
            accrual_segment_start_on = %(on)s,
            accrual_segment_base_fen = CASE WHEN repayment_method IN ('equal_principal', 'equal_installment')
                AND {next_due} IS NOT NULL THEN {next_interest} ELSE principal_outstanding_fen END,
            accrual_segment_days = COALESCE({period_days}, 0),
            accrual_segment_posted_fen = 0,
            next_due_on = {next_due},
            next_installment = next_installment + 1
        WHERE id BETWEEN %(lo)s AND %(hi)s AND status IN ('active', 'overdue') AND next_due_on = %(on)s
    """
    rows = _execute(sql, params)
    return rows, {}


def _step_deduct(on: dt.date, lo: int, hi: int) -> tuple[int, dict]:
    # Past the last due date everything owed is due; before it, what has fallen due.
    due_interest = "(CASE WHEN next_due_on IS NULL THEN interest_outstanding_fen ELSE due_interest_fen END)"
    owed = f"(penalty_outstanding_fen + {due_interest} + due_principal_fen)"
    where = f"id BETWEEN %(lo)s AND %(hi)s AND status IN ('active', 'overdue') AND {owed} > 0"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT wallet_id FROM lending_loan WHERE {where}", {"lo": lo, "hi": hi})
        wallet_ids = [row[0] for row in cursor.fetchall()]
    if not wallet_ids:
        return 0, {}
    # Lock the wallets first, then read what is owed: a repayment that got there first counts.
    available = wallet_collection.wallets_lock(wallet_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, wallet_id, pool_id, line_id, product_id, reference, penalty_outstanding_fen, "
            f"{due_interest}, due_principal_fen FROM lending_loan WHERE {where}",
            {"lo": lo, "hi": hi},
        )
        rows = cursor.fetchall()
    owed_rows = [
        wallet_collection.Owed(
            loan_id=loan_id,
            wallet_id=wallet_id,
            pool_id=pool_id,
            line_id=line_id,
            product_id=product_id,
            reference=reference,
            penalty=penalty,
            fee=0,
            interest=int(interest),
            principal=principal,
            wanted=penalty + int(interest) + principal,
            idempotency_key=f"cob:{on.isoformat()}:deduct:{loan_id}",
        )
        for loan_id, wallet_id, pool_id, line_id, product_id, reference, penalty, interest, principal in rows
    ]
    paid = wallet_collection.loans_collect(
        on=on,
        owed=owed_rows,
        available=available,
        kind=LoanEvent.Kind.AUTO_DEDUCTED,
        reference="auto-deduction",
    )
    return len(paid), {}


def _step_accrue(on: dt.date, lo: int, hi: int) -> tuple[int, dict]:
    params = {"on": _date_param(on), "lo": lo, "hi": hi}
    guard = (
        "id BETWEEN %(lo)s AND %(hi)s AND status IN ('active', 'overdue') "
        f"AND accrued_through_on < %(on)s AND {_days_since('accrual_segment_start_on')} >= 0"
    )
    total = _accrual_total_sql()
    overdue = _overdue_interest_sql()
    amounts = _sums_by_product(
        f"SELECT product_id, SUM({total} - accrual_segment_posted_fen + {overdue}) FROM lending_loan "
        f"WHERE {guard} AND principal_outstanding_fen > 0 GROUP BY product_id",
        params,
    )
    rows = _execute(
        f"""
        UPDATE lending_loan SET
            interest_outstanding_fen = interest_outstanding_fen
                + ({total} - accrual_segment_posted_fen + {overdue})
                * CASE WHEN principal_outstanding_fen > 0 THEN 1 ELSE 0 END,
            interest_accrued_total_fen = interest_accrued_total_fen
                + ({total} - accrual_segment_posted_fen + {overdue})
                * CASE WHEN principal_outstanding_fen > 0 THEN 1 ELSE 0 END,
            accrual_segment_posted_fen = CASE WHEN principal_outstanding_fen > 0 THEN {total}
                                              ELSE accrual_segment_posted_fen END,
            accrued_through_on = %(on)s
        WHERE {guard}
        """,
        params,
    )
    return rows, amounts


def _step_penalty(on: dt.date, lo: int, hi: int) -> tuple[int, dict]:
    params = {"on": _date_param(on), "lo": lo, "hi": hi}
    penalty = "(l.due_principal_fen * l.penalty_rate_ppb + 50000000) / 100000000"
    eligible = (
        "SELECT l.id FROM lending_loan l JOIN lending_product p ON p.id = l.product_id "
        "WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('active', 'overdue') "
        "AND l.due_principal_fen > 0 "
        "AND (l.penalty_accrued_through_on IS NULL OR l.penalty_accrued_through_on < %(on)s) "
        f"AND {_days_since('l.oldest_unpaid_due_on')} > p.grace_days"
    )
    amounts = _sums_by_product(
        f"SELECT l.product_id, SUM({penalty}) FROM lending_loan l WHERE l.id IN ({eligible}) "
        "GROUP BY l.product_id",
        params,
    )
    rows = _execute(
        f"""
        UPDATE lending_loan SET
            penalty_outstanding_fen = penalty_outstanding_fen + {_penalty_sql()},
            penalty_accrued_through_on = %(on)s
        WHERE id IN ({eligible})
        """,
        params,
    )
    return rows, amounts


def _step_age(on: dt.date, lo: int, hi: int) -> tuple[int, dict]:
    from lending import lifecycle
    from lending.models import LOAN_OPEN_STATUSES

    t = calc.ClassificationThresholds(**settings.LENDING_CLASSIFICATION_THRESHOLDS)
    dpd = _days_since("oldest_unpaid_due_on")
    params = {"on": _date_param(on), "lo": lo, "hi": hi}
    chunk = f"id BETWEEN %(lo)s AND %(hi)s AND status IN {lifecycle.status_sql(LOAN_OPEN_STATUSES)}"
    rows = _execute(
        f"""
        UPDATE lending_loan SET
            days_past_due = CASE WHEN oldest_unpaid_due_on IS NULL THEN 0 ELSE {dpd} END,
            max_days_past_due = CASE WHEN oldest_unpaid_due_on IS NOT NULL AND {dpd} > max_days_past_due
                                     THEN {dpd} ELSE max_days_past_due END,
            classification = CASE
                WHEN oldest_unpaid_due_on IS NULL OR {dpd} < {t.special_mention_from} THEN 'normal'
                WHEN {dpd} < {t.substandard_from} THEN 'special_mention'
                WHEN {dpd} < {t.doubtful_from} THEN 'substandard'
                WHEN {dpd} < {t.loss_from} THEN 'doubtful'
                ELSE 'loss' END
        WHERE {chunk}
          AND (oldest_unpaid_due_on IS NOT NULL OR status = 'overdue' OR classification <> 'normal')
        """,
        params,
    )
    # Status moves through the loan lifecycle, which records each loan that moved and this run.
    run = lifecycle.cob_run_of(on)
    past_due = f"oldest_unpaid_due_on IS NOT NULL AND {dpd} > 0"
    for event, condition, reason in (
        ("fell_overdue", past_due, "an amount fallen due is unpaid"),
        ("cured", f"NOT ({past_due})", "nothing fallen due is unpaid"),
    ):
        lifecycle.transition_many(
            lifecycle.LOAN,
            event=event,
            where=f"{chunk} AND {condition}",
            params=params,
            business_on=on,
            reason=reason,
            cob_run_id=run,
        )
    return rows, {}


STEP_FUNCTIONS = {
    "due": _step_due,
    "deduct": _step_deduct,
    "accrue": _step_accrue,
    "penalty": _step_penalty,
    "age": _step_age,
}


# --- the day ------------------------------------------------------------------------------------

LEDGER_OF_STEP = {
    "accrue": (Purpose.INTEREST_RECEIVABLE, Purpose.INTEREST_INCOME),
    "penalty": (Purpose.INTEREST_RECEIVABLE, Purpose.PENALTY_INCOME),
}


def _post_step_to_ledger(on: dt.date, step: str) -> int:
    """One aggregated entry per product for the day's accrual (or penalty), keyed so that it is
    posted once whatever happens to the run."""
    totals: dict[int, int] = defaultdict(int)
    for amounts in CobChunk.objects.filter(business_on=on, step=step).values_list("amounts", flat=True):
        for product_id, fen in amounts.items():
            totals[int(product_id)] += fen
    debit, credit = (payments.platform_account(p) for p in LEDGER_OF_STEP[step])
    posted = 0
    for product_id, fen in sorted(totals.items()):
        if fen <= 0:
            continue
        payments.transfer(
            debit=debit,
            credit=credit,
            amount_fen=fen,
            idempotency_key=f"cob:{on.isoformat()}:{step}:{product_id}",
            reference=f"{step} {on} product {product_id}",
            kind=JournalEntry.Kind.ACCRUAL,
        )
        posted += fen
    return posted


def _run_step(run: CobRun, step: str, chunks: list[tuple[int, int]], dispatch: bool) -> StepReport:
    report = StepReport(step=step, chunks=len(chunks))
    began = time.perf_counter()
    if dispatch:
        from lending.tasks import cob_chunk

        for number, (lo, hi) in enumerate(chunks):
            cob_chunk.delay(run.business_on.isoformat(), step, number, lo, hi)
        _wait_for_chunks(run.business_on, step, len(chunks))
    else:
        for number, (lo, hi) in enumerate(chunks):
            run_chunk(on=run.business_on, step=step, chunk=number, lo=lo, hi=hi)
    report.rows = sum(
        CobChunk.objects.filter(business_on=run.business_on, step=step).values_list("rows", flat=True)
    )
    if step in LEDGER_OF_STEP:
        report.amounts = {"posted_fen": _post_step_to_ledger(run.business_on, step)}
    report.seconds = time.perf_counter() - began
    return report


def _wait_for_chunks(on: dt.date, step: str, expected: int) -> None:
    deadline = time.monotonic() + settings.LENDING_COB_CHUNK_TIMEOUT_SECONDS
    while CobChunk.objects.filter(business_on=on, step=step).count() < expected:
        if time.monotonic() > deadline:
            raise ApplicationError(
                f"close of business {on}: step {step} did not finish in time; rerun to resume"
            )
        time.sleep(0.2)


def _trade_marketplace(on: dt.date) -> int:
    """In the demo the marketplace trades the day first, so loans live among real sales."""
    from merchants.models import SimulatorState
    from merchants.simulator import marketplace_trade_through

    state = SimulatorState.objects.filter(pk=1).first()
    if state is None or state.last_simulated_on >= on:
        return 0
    return len(marketplace_trade_through(through=on))


def lending_reconcile() -> list[str]:
    """The loans' running balances against the ledger's receivables."""
    from django.db.models import Sum

    totals = Loan.objects.filter(status__in=OPEN).aggregate(
        principal=Sum("principal_outstanding_fen"),
        interest=Sum("interest_outstanding_fen"),
        penalty=Sum("penalty_outstanding_fen"),
    )
    principal = totals["principal"] or 0
    interest = (totals["interest"] or 0) + (totals["penalty"] or 0)
    receivable = payments.platform_account(Purpose.LOANS_RECEIVABLE).balance_fen
    interest_receivable = payments.platform_account(Purpose.INTEREST_RECEIVABLE).balance_fen
    differences = []
    if principal != receivable:
        differences.append(f"loans' principal outstanding {principal} != loans receivable {receivable}")
    if interest != interest_receivable:
        differences.append(
            f"loans' interest and penalty {interest} != interest receivable {interest_receivable}"
        )
    return differences


def close_of_business(*, on: dt.date, dispatch: bool = False, chunk_size: int | None = None) -> CobRun:
    """Close one business date: it must be the current one; closing it again changes nothing;
    a run killed half-way is finished by running it again."""
    from payments.reconciliation import reconcile

    current = business_date_today()
    done = CobRun.objects.filter(business_on=on, status=CobRun.Status.DONE).first()
    if done is not None:
        return done
    if on != current:
        raise ApplicationError(
            f"business dates close in order: the current business date is {current}, not {on}",
            {"fields": {"date": [f"expected {current}"]}},
        )
    run, _ = CobRun.objects.get_or_create(business_on=on)
    began = time.perf_counter()
    reports: list[dict] = []
    try:
        traded = _trade_marketplace(on)
        reports.append(
            {
                "step": "marketplace",
                "rows": traded,
                "chunks": 0,
                "seconds": round(time.perf_counter() - began, 3),
            }
        )
        # Pledged orders that settled or were refunded act on their loans before due dates do.
        pledged = time.perf_counter()
        handled = pledges_process(on=on)
        reports.append(
            {
                "step": "pledges",
                "rows": handled,
                "chunks": 0,
                "seconds": round(time.perf_counter() - pledged, 3),
            }
        )
        chunks = chunk_ranges(chunk_size)
        for step in STEPS:
            reports.append(_run_step(run, step, chunks, dispatch).as_dict())
        checked = time.perf_counter()
        differences = reconcile(on=on, entries_of=on).differences + lending_reconcile()
        reports.append(
            {
                "step": "reconcile",
                "rows": len(differences),
                "chunks": 0,
                "seconds": round(time.perf_counter() - checked, 3),
            }
        )
        if differences:
            raise ApplicationError(
                "the books do not balance after close of business: " + "; ".join(differences[:5])
            )
    except Exception as exc:
        CobRun.objects.filter(pk=run.pk).update(
            status=CobRun.Status.FAILED, steps=reports, error=str(exc)[:2000]
        )
        raise
    with transaction.atomic():
        CobRun.objects.filter(pk=run.pk).update(
            status=CobRun.Status.DONE, steps=reports, error="", finished_at=dt.datetime.now(dt.UTC)
        )
        business_date_set(on=on + dt.timedelta(days=1))
    run.refresh_from_db()
    log.info("closed business date %s in %.1f s", on, time.perf_counter() - began)
    return run


def close_through(*, through: dt.date, dispatch: bool = False) -> list[CobRun]:
    """Close every business date from the current one through `through`, in order."""
    runs = []
    on = business_date_today()
    while on <= through:
        runs.append(close_of_business(on=on, dispatch=dispatch))
        on += dt.timedelta(days=1)
    return runs
