"""The risk manager's portfolio (/risk/portfolio/): reads only, each an aggregate statement, so the
page costs the same number of queries whatever the size of the book.

Definitions (docs/scoring.md, "The portfolio page"):
- A loan's grade is its credit line's grade (the rating the line was granted on); a loan without a
  line (an order loan drawn against pledged orders) is "-".
- Outstanding: principal outstanding of open loans (current and overdue).
- History is rebuilt at each month end from facts that do not change afterwards: a loan is open at
  date D when it was disbursed on or before D and not closed by D; its principal outstanding at D is
  the principal drawn less the principal of its repayments, deductions, settled pledges and
  write-off on or before D; its days past due at D count from its oldest installment due before D
  and not fully paid by D (what close of business ages on).
- PAR1, PAR30, PAR90: the share of principal outstanding of loans 1+, over 30 and over 90 days past
  due (buckets M1+, M2+, M4+).
- Roll rates: each loan open at one month end, by its bucket there, against where it is at the next
  month end: a bucket, repaid, or written off.
- Vintages: loans by month of disbursement; the cumulative share that reached 30 days past due (or
  was written off) by each month on book, as far as each cohort has been seen.
"""

import datetime as dt
import time
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum

from lending.models import LOAN_OPEN_STATUSES, Application, Loan, LoanEvent
from payments.models import FundingPool
from scoring.models import PortfolioSnapshot

MONTHS_SHOWN = 12
BAD_DPD = 30
# Roll-rate buckets: M0 current, then 30 days each; past 90 days one bucket.
BUCKETS = ("M0", "M1", "M2", "M3", "M4+")
REPAID, WRITTEN_OFF = "repaid", "written_off"
# What takes principal off a loan's balance (a refunded pledge only makes principal fall due).
PRINCIPAL_REDUCING = (
    LoanEvent.Kind.REPAID.value,
    LoanEvent.Kind.AUTO_DEDUCTED.value,
    LoanEvent.Kind.PLEDGE_SETTLED.value,
    LoanEvent.Kind.WRITTEN_OFF.value,
)
UNGRADED = "-"


# --- SQL that reads the same on PostgreSQL and SQLite -------------------------------------------


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _date(value: dt.date):
    return value if _pg() else value.isoformat()


def _days(later: str, earlier: str) -> str:
    if _pg():
        return f"(({later})::date - ({earlier})::date)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _plus_days(column: str, days: int) -> str:
    if _pg():
        return f"({column} + {int(days)})"
    return f"date({column}, '+{int(days)} days')"


def _month_index(column: str) -> str:
    if _pg():
        return f"CAST(EXTRACT(YEAR FROM {column}) * 12 + EXTRACT(MONTH FROM {column}) - 1 AS INTEGER)"
    year, month = f"strftime('%%Y', {column})", f"strftime('%%m', {column})"
    return f"(CAST({year} AS INTEGER) * 12 + CAST({month} AS INTEGER) - 1)"


def _run(sql: str, params: list) -> list[tuple]:
    """One read; on PostgreSQL without JIT, whose compiling of these short, wide statements took
    longer (about 90 ms) than running them."""
    with transaction.atomic(), connection.cursor() as cursor:
        if _pg():
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _materialised() -> str:
    return "OFFSET 0" if _pg() else ""


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # our own constants, never input


def _bucket_sql(dpd: str) -> str:
    return (
        f"CASE WHEN {dpd} <= 0 THEN 'M0' WHEN {dpd} <= 30 THEN 'M1' WHEN {dpd} <= 60 THEN 'M2' "
        f"WHEN {dpd} <= 90 THEN 'M3' ELSE 'M4+' END"
    )


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_of(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def month_ends(last_closed: dt.date, months: int = MONTHS_SHOWN) -> list[dt.date]:
    """The ends of the `months` months before the last closed date's month, then that date."""
    first_of_month = last_closed.replace(day=1)
    ends = []
    for back in range(months, 0, -1):
        index = month_index(first_of_month) - back + 1
        ends.append(month_of(index) - dt.timedelta(days=1))
    return [*ends, last_closed]


# --- The figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    as_of: dt.date  # the last closed business date
    by_product_grade: list[dict]
    classification: list[dict]
    history: list[dict]  # month end, bucket, next state, loans, principal outstanding
    vintages: list[dict]  # cohort month index, months on book of default (None), loans
    approvals: list[dict]
    losses: list[dict]
    pools: list[dict]


def outstanding_by_product_grade() -> list[dict]:
    rows = (
        Loan.objects.filter(status__in=LOAN_OPEN_STATUSES)
        .values("product__code", "product__name", "line__grade")
        .annotate(loans=Count("pk"), outstanding_fen=Sum("principal_outstanding_fen"))
        .order_by("product__code", "line__grade")
    )
    return [
        {
            "product": r["product__name"],
            "product_code": r["product__code"],
            "grade": r["line__grade"] or UNGRADED,
            "loans": r["loans"],
            "outstanding_fen": int(r["outstanding_fen"] or 0),
        }
        for r in rows
    ]


def classification_totals() -> list[dict]:
    rows = (
        Loan.objects.filter(status__in=LOAN_OPEN_STATUSES)
        .values("classification")
        .annotate(loans=Count("pk"), outstanding_fen=Sum("principal_outstanding_fen"))
    )
    found = {r["classification"]: r for r in rows}
    return [
        {
            "classification": value,
            "label": label,
            "loans": found.get(value, {}).get("loans", 0),
            "outstanding_fen": int(found.get(value, {}).get("outstanding_fen") or 0),
        }
        for value, label in Loan.Classification.choices
    ]


def month_end_history(ends: list[dt.date]) -> list[dict]:
    """Per month end: loans and principal outstanding by bucket, and by where each loan is at the
    next month end (None after the last). One statement."""
    pairs = list(zip(ends, [*ends[1:], None], strict=True))
    values = ", ".join(["(%s, %s)"] * len(pairs))
    if _pg():
        values = ", ".join(["(%s::date, %s::date)"] * len(pairs))
    params: list = []
    for end, following in pairs:
        params += [_date(end), _date(following) if following else None]
    reducing = _in(PRINCIPAL_REDUCING)

    def oldest(at: str) -> str:
        # Generated over our own column names; the dates are bound.
        where = f"i.loan_id = l.id AND i.due_on < {at} AND (i.paid_on IS NULL OR i.paid_on > {at})"
        return f"(SELECT MIN(i.due_on) FROM lending_installment i WHERE {where})"  # noqa: S608

    dpd_now = f"CASE WHEN x.oldest IS NULL THEN 0 ELSE {_days('x.d', 'x.oldest')} END"
    dpd_next = f"CASE WHEN x.oldest_next IS NULL THEN 0 ELSE {_days('x.next_d', 'x.oldest_next')} END"
    sql = f"""
        WITH m(d, next_d) AS (VALUES {values}),
        x AS (
            SELECT m.d AS d, m.next_d AS next_d, l.status AS status, l.closed_on AS closed_on,
                l.principal_fen - COALESCE((
                    SELECT SUM(e.principal_fen) FROM lending_loanevent e
                    WHERE e.loan_id = l.id AND e.business_on <= m.d AND e.kind IN {reducing}
                ), 0) AS outstanding,
                {oldest("m.d")} AS oldest,
                CASE WHEN m.next_d IS NULL THEN NULL ELSE {oldest("m.next_d")} END AS oldest_next
            FROM lending_loan l JOIN m ON l.disbursed_on <= m.d AND (l.closed_on IS NULL OR l.closed_on > m.d)
            {_materialised()}
        )
        SELECT x.d, {_bucket_sql(dpd_now)} AS bucket,
            CASE WHEN x.next_d IS NULL THEN NULL
                 WHEN x.closed_on IS NOT NULL AND x.closed_on <= x.next_d THEN
                    CASE WHEN x.status = '{WRITTEN_OFF}' THEN '{WRITTEN_OFF}' ELSE '{REPAID}' END
                 ELSE {_bucket_sql(dpd_next)} END AS next_state,
            COUNT(*), SUM(x.outstanding)
        FROM x
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
    """  # noqa: S608 - generated over constants; the dates are bound
    rows = _run(sql, params)
    return [
        {
            "on": _as_date(d),
            "bucket": bucket,
            "next": next_state,
            "loans": int(loans),
            "outstanding_fen": int(outstanding or 0),
        }
        for d, bucket, next_state, loans, outstanding in rows
    ]


def vintage_counts(*, last_closed: dt.date, months: int = MONTHS_SHOWN) -> list[dict]:
    """Loans of the last `months` disbursement months by the month on book (0 = the month of
    disbursement) in which they first reached BAD_DPD days past due or were written off, seen up
    to the last closed date; None for loans not bad (yet)."""
    first_month = month_of(month_index(last_closed) - months + 1)
    bad_from = _plus_days("i.due_on", BAD_DPD)
    cohort, bad_month = _month_index("z.disbursed_on"), _month_index("z.bad_on")
    sql = f"""
        SELECT y.cohort, y.mob, COUNT(*) FROM (
            SELECT {cohort} AS cohort,
                CASE WHEN z.bad_on IS NULL THEN NULL ELSE {bad_month} - {cohort} END AS mob
            FROM (
                SELECT w.disbursed_on AS disbursed_on,
                    CASE WHEN w.first_bad IS NOT NULL THEN w.first_bad
                         WHEN w.status = '{WRITTEN_OFF}' AND w.closed_on <= %s THEN w.closed_on
                    END AS bad_on
                FROM (
                    SELECT l.disbursed_on AS disbursed_on, l.status AS status, l.closed_on AS closed_on,
                        (SELECT MIN({bad_from}) FROM lending_installment i WHERE i.loan_id = l.id
                            AND {bad_from} <= %s AND (i.paid_on IS NULL OR i.paid_on > {bad_from})
                        ) AS first_bad
                    FROM lending_loan l
                    WHERE l.disbursed_on >= %s AND l.disbursed_on <= %s
                    {_materialised()}
                ) w
            ) z
        ) y
        GROUP BY 1, 2 ORDER BY 1, 2
    """  # noqa: S608 - generated over constants; the dates are bound
    params = [_date(last_closed), _date(last_closed), _date(first_month), _date(last_closed)]
    rows = _run(sql, params)
    return [{"cohort": int(c), "mob": None if m is None else int(m), "loans": int(n)} for c, m, n in rows]


def approvals_by_grade() -> list[dict]:
    decided = {
        Application.Status.APPROVED: "approved",
        Application.Status.DISBURSED: "approved",
        Application.Status.DECLINED: "declined",
    }
    rows = (
        Application.objects.filter(status__in=list(decided))
        .values("decided_grade", "status")
        .annotate(n=Count("pk"))
    )
    grades: dict[str, dict] = {}
    for r in rows:
        grade = r["decided_grade"] or UNGRADED
        entry = grades.setdefault(grade, {"grade": grade, "approved": 0, "declined": 0})
        entry[decided[r["status"]]] += r["n"]
    return [grades[g] for g in sorted(grades, key=_grade_order)]


def losses_by_grade() -> list[dict]:
    rows = Loan.objects.values("line__grade").annotate(
        loans=Count("pk"),
        disbursed_fen=Sum("principal_fen"),
        written_off_fen=Sum("written_off_fen"),
        recovered_fen=Sum("recovered_fen"),
    )
    merged: dict[str, dict] = {}
    for r in rows:  # no line and a blank grade are both ungraded
        grade = r["line__grade"] or UNGRADED
        entry = merged.setdefault(grade, dict.fromkeys(SUMMED_LOSS, 0) | {"grade": grade})
        for key in SUMMED_LOSS:
            entry[key] += int(r[key] or 0)
    return [merged[g] for g in sorted(merged, key=_grade_order)]


SUMMED_LOSS = ("loans", "disbursed_fen", "written_off_fen", "recovered_fen")


def funding_pools() -> list[dict]:
    return [
        {
            "code": p.code,
            "name": p.name,
            "limit_fen": p.capital_fen + p.borrowings_fen,
            "outstanding_fen": p.principal_outstanding_fen,
            "losses_fen": p.losses_fen,
            "capacity_fen": max(p.capacity_fen, 0),
        }
        for p in FundingPool.objects.order_by("code").only(
            "code", "name", "capital_fen", "borrowings_fen", "principal_outstanding_fen", "losses_fen"
        )
    ]


def _book() -> str:
    """Which book the figures are of: its first loan and event ids (a rebuilt demo starts anew)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT MIN(id) FROM lending_loan), (SELECT MIN(id) FROM lending_loanevent)")
        loan, event = cursor.fetchone()
    return f"{loan}:{event}"


def _encode_history(rows: list[dict]) -> list[dict]:
    return [{**r, "on": r["on"].isoformat()} for r in rows]


def _decode_history(rows: list[dict]) -> list[dict]:
    return [{**r, "on": dt.date.fromisoformat(r["on"])} for r in rows]


def history_snapshot(*, last_closed: dt.date) -> tuple[list[dict], list[dict]]:
    """The month-end history and the vintages as of a closed date: read from its snapshot, or
    computed (the two heavy statements) and stored for the next reader."""
    book = _book()
    row = PortfolioSnapshot.objects.filter(as_of=last_closed, book=book).values("history", "vintages").first()
    if row is not None:
        return _decode_history(row["history"]), row["vintages"]
    started = time.perf_counter()
    history = month_end_history(month_ends(last_closed))
    vintages = vintage_counts(last_closed=last_closed)
    values = {
        "book": book,
        "history": _encode_history(history),
        "vintages": vintages,
        "compute_ms": round((time.perf_counter() - started) * 1000),
    }
    try:
        with transaction.atomic():
            PortfolioSnapshot.objects.update_or_create(as_of=last_closed, defaults=values)
    except IntegrityError:
        pass  # another reader stored the same figures first
    return history, vintages


def portfolio_snapshot_take(*, last_closed: dt.date) -> None:
    """Compute and store the history of a closed date ahead of the first reader (nightly)."""
    history_snapshot(last_closed=last_closed)


def portfolio_get(*, on: dt.date) -> Portfolio:
    """Every figure of the portfolio page as of the business date `on` (history through the last
    closed date, the day before)."""
    last_closed = on - dt.timedelta(days=1)
    history, vintages = history_snapshot(last_closed=last_closed)
    return Portfolio(
        as_of=last_closed,
        by_product_grade=outstanding_by_product_grade(),
        classification=classification_totals(),
        history=history,
        vintages=vintages,
        approvals=approvals_by_grade(),
        losses=losses_by_grade(),
        pools=funding_pools(),
    )


def _grade_order(grade: str) -> tuple[int, str]:
    return (1, grade) if grade == UNGRADED else (0, grade)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
