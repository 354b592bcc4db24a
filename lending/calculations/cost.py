"""The all-in annual cost of a loan as an internal rate of return, and the legal cap check.

Convention: the annual cost is the nominal IRR-based APR, the period IRR times the periods in a
year, not compounded. The 24 % line of the 2015 private-lending judicial interpretation and the
later 4 × LPR line speak of an annualised rate; where the cost is computed by the IRR method (as the
PBOC's 2021 announcement on showing annualised loan rates allows), that rate is the period IRR
times the periods in a year. The period is one day unless the caller names another, so the default
APR is the daily IRR × 365. Under it the seed products cost about what they are quoted at (a
30-day order loan at 0.05 %/day about 18.1 %, a 10-day drawdown at 0.06 %/day about 21.8 %) and
pass a 24 % cap, whereas the effective rate (1 + daily IRR)^365 − 1 would put 0.06 %/day at about
24.4 % and refuse it. The effective rate is computed too, for display.

The daily IRR compounds within a repayment period, so daily IRR × 365 reads a little below the
period IRR × periods a year: about 0.15 point for a 30-day bullet (a bullet quoted at 0.066 %/day,
24.09 % simple, shows 23.85 %) and about 0.2 point for monthly installments. Callers that must not
understate pass the loan's own repayment period as period_days (30 for monthly installments, the
term for a bullet); the APR is then ((1 + daily IRR)^period_days − 1) × 365 / period_days, which
gives back exactly the quoted simple rate for a fee-free bullet.

Otherwise the cap check errs on the safe side: upfront fees reduce the amount received at t = 0,
so they raise the IRR; and the solver returns the upper end of its final bracket, rounded up, so
solver error can only overstate the cost.

One home: loan_cost is the only computation of a loan's all-in cost (schedule, fee, cash flows,
period convention); a quote, a drawdown and a product check all go through it.

The cost depends on the start date. Monthly due dates keep the start's day of the month, so the
periods are the following months' lengths (clamped at month ends), while the amortising methods
charge a fixed 30-day period rate: a 3-month equal-installment loan started on 28 February 2026
(or on 31 January) has periods of 28, 31 and 30 days and costs more than one started on
1 January. worst_start_cost finds the most expensive start date. The month lengths repeat every
four years (1,461 days, from 1901 to 2099), so the start dates of any 1,461 consecutive days meet
every calendar a loan can meet; a single year would miss either the common-year or the leap-year
February. Start dates are grouped by the day offsets of their due dates (a few dozen groups), and
groups are compared by present value at the best rate found so far, so only a handful of IRRs are
solved.
"""

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from lending.calculations._checks import (
    check_count,
    check_date,
    check_fen,
    check_rate,
    exact_product,
    round_fen,
    wide_context,
)
from lending.calculations.interest import DAYS_PER_YEAR, interest_for_days
from lending.calculations.schedules import (
    DAYS_PER_PERIOD,
    Installment,
    RepaymentMethod,
    build_schedule,
    monthly_due_dates,
)

DEFAULT_ANNUAL_COST_CAP = Decimal("0.24")
_IRR_PLACES = Decimal("1e-12")
# Daily rates between −5 % and +100 %: any loan on the platform lies far inside, and within these
# bounds exp() neither overflows nor loses the sign over a 30-year term.
_LOWEST_DAILY_RATE = -0.05  # float ok: IRR solver
_HIGHEST_DAILY_RATE = 1.0  # float ok: IRR solver
_TOLERANCE = 1e-16  # float ok: IRR solver
# A present value within this share of the amount lent counts as zero (float rounding), so the
# group is solved exactly rather than skipped.
_PV_TIE = 1e-12  # float ok: IRR solver
_NEWTON_STEPS = 50
_MAX_STEPS = _NEWTON_STEPS + 80
# The calendar's month lengths repeat every four years (1901–2099): 3 × 365 + 366 days.
CALENDAR_CYCLE_DAYS = 1461
MAX_START_DAYS = 4 * CALENDAR_CYCLE_DAYS


class CashFlow(NamedTuple):
    """Money the borrower receives (positive) or pays (negative) on a date, in fen."""

    on: dt.date
    amount_fen: int


@dataclass(frozen=True)
class AnnualCost:
    """A loan's cost: the daily IRR, the nominal APR (period IRR × periods a year) and the effective
    annual rate ((1 + daily IRR)^365 − 1)."""

    daily_irr: Decimal
    nominal_apr: Decimal
    effective_annual_rate: Decimal


def loan_cash_flows(
    *, net_disbursed_fen: int, start_on: dt.date, installments: Sequence[Installment]
) -> list[CashFlow]:
    """The borrower's cash flows: the disbursement net of upfront fees on the start date, then each
    installment's total on its due date."""
    check_fen("net_disbursed_fen", net_disbursed_fen, positive=True)
    check_date("start_on", start_on)
    return [
        CashFlow(start_on, net_disbursed_fen),
        *(CashFlow(item.due_on, -item.total_fen) for item in installments),
    ]


def daily_irr(cash_flows: Iterable[CashFlow | tuple[dt.date, int]]) -> Decimal:
    """The daily rate d at which the flows' present value Σ amount / (1 + d)^days is zero, days
    counted from the earliest flow; found by bisection and rounded up to 12 places."""
    dated = [(check_date("cash flow date", on), amount) for on, amount in cash_flows]
    for _, amount in dated:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"cash flow amounts must be integer fen, got {amount!r}")
    if not any(amount > 0 for _, amount in dated) or not any(amount < 0 for _, amount in dated):
        raise ValueError("cash flows need money both received and paid to have a rate of return")
    first_on = min(on for on, _ in dated)
    return _solve([((on - first_on).days, amount) for on, amount in dated])


def _present_value(timed: Sequence[tuple[int, int]], rate: float) -> float:  # float ok: IRR solver
    growth = math.log1p(rate)  # float ok: IRR solver
    return math.fsum(amount * math.exp(-days * growth) for days, amount in timed)  # float ok: IRR solver


def _present_value_and_slope(timed: Sequence[tuple[int, int]], rate: float) -> tuple[float, float]:
    growth = math.log1p(rate)  # float ok: IRR solver
    terms = [(days, amount * math.exp(-days * growth)) for days, amount in timed]  # float ok: IRR solver
    slope = -math.fsum(days * term for days, term in terms) / (1 + rate)  # float ok: IRR solver
    return math.fsum(term for _, term in terms), slope


def _solve(timed: Sequence[tuple[int, int]]) -> Decimal:
    """The IRR of (day offset, amount) flows, rounded up to 12 places: Newton's method kept
    inside a bracket that every evaluation narrows, bisecting whenever a step would leave it, until
    the bracket is narrower than _TOLERANCE; the end returned is the one past the root."""
    low, high = _LOWEST_DAILY_RATE, _HIGHEST_DAILY_RATE  # float ok: IRR solver
    low_sign = _present_value(timed, low) > 0  # float ok: IRR solver
    if low_sign == (_present_value(timed, high) > 0):
        raise ValueError("no rate of return between -5 % and 100 % a day for these cash flows")

    def narrow(rate: float) -> tuple[float, float]:  # float ok: IRR solver
        nonlocal low, high
        value, slope = _present_value_and_slope(timed, rate)
        if (value > 0) == low_sign:
            low = rate
        else:
            high = rate
        return value, slope

    rate = 0.0  # float ok: IRR solver
    for attempt in range(_MAX_STEPS):
        value, slope = narrow(rate)
        if high - low <= _TOLERANCE:  # float ok: IRR solver
            break
        step = rate - value / slope if slope else math.nan  # float ok: IRR solver
        # Past _NEWTON_STEPS it only bisects, which always ends (about 53 halvings).
        if attempt >= _NEWTON_STEPS or not low < step < high:
            step = (low + high) / 2  # float ok: IRR solver
            if step in (low, high):
                break
        elif abs(step - rate) <= _TOLERANCE:  # float ok: IRR solver
            # Converged: evaluate just either side, so the bracket closes around the root too.
            narrow(max(step - _TOLERANCE, low))
            narrow(min(step + _TOLERANCE, high))
            step = (low + high) / 2  # float ok: IRR solver
            if step in (low, high):
                break
        rate = step
    return Decimal(high).quantize(_IRR_PLACES, rounding=ROUND_CEILING)


def annual_cost(cash_flows: Iterable[CashFlow | tuple[dt.date, int]], period_days: int = 1) -> AnnualCost:
    """The annualised cost of a loan's cash flows; nominal_apr, the IRR over period_days times the
    periods in a year, is the figure the cap applies to."""
    check_count("period_days", period_days, minimum=1, maximum=DAYS_PER_YEAR)
    daily = daily_irr(cash_flows)
    context = wide_context()
    growth = context.add(1, daily)
    period_irr = context.subtract(context.power(growth, period_days), 1)
    nominal = context.divide(context.multiply(period_irr, DAYS_PER_YEAR), period_days)
    effective = context.subtract(context.power(growth, DAYS_PER_YEAR), 1)
    return AnnualCost(
        daily_irr=daily,
        nominal_apr=nominal.quantize(_IRR_PLACES, rounding=ROUND_CEILING),
        effective_annual_rate=effective.quantize(_IRR_PLACES, rounding=ROUND_CEILING),
    )


def annual_cost_within_cap(
    cash_flows: Iterable[CashFlow | tuple[dt.date, int]],
    cap: Decimal = DEFAULT_ANNUAL_COST_CAP,
    period_days: int = 1,
) -> bool:
    """True when the loan's nominal IRR-based APR (over period_days, see annual_cost) is at most
    the legal cap (default 24 %)."""
    check_rate("cap", cap)
    return annual_cost(cash_flows, period_days).nominal_apr <= cap


def cost_period_days(method: RepaymentMethod | str, term: int) -> int:
    """The repayment period the APR is annualised over (see the module's docstring): a bullet's
    term, the 30-day period of the monthly methods; at most a year."""
    period = term if RepaymentMethod(method) is RepaymentMethod.BULLET else DAYS_PER_PERIOD
    return min(period, DAYS_PER_YEAR)


def upfront_fee(principal_fen: int, fee_rate: Decimal) -> int:
    """The fee taken at drawdown: principal × fee rate, rounded half-up."""
    check_fen("principal_fen", principal_fen)
    check_rate("fee_rate", fee_rate)
    return round_fen(exact_product(principal_fen, fee_rate))


@dataclass(frozen=True)
class LoanCost:
    """One loan as the borrower meets it: started on a date, its schedule and upfront fee, and
    what that costs a year all in."""

    start_on: dt.date
    principal_fen: int
    fee_fen: int
    schedule: list[Installment]
    cost: AnnualCost


def loan_cost(
    *,
    method: RepaymentMethod | str,
    principal_fen: int,
    daily_rate: Decimal,
    term: int,
    start_on: dt.date,
    upfront_fee_rate: Decimal = Decimal(0),
) -> LoanCost:
    """The all-in annual cost of one loan: its schedule from start_on, the upfront fee deducted
    from what the borrower receives, the IRR annualised over the loan's repayment period."""
    schedule = build_schedule(
        method, principal_fen=principal_fen, daily_rate=daily_rate, start_on=start_on, term=term
    )
    fee = upfront_fee(principal_fen, upfront_fee_rate)
    if fee >= principal_fen:
        raise ValueError(f"upfront fee {fee} fen leaves nothing of the principal {principal_fen} fen")
    flows = loan_cash_flows(net_disbursed_fen=principal_fen - fee, start_on=start_on, installments=schedule)
    return LoanCost(
        start_on=start_on,
        principal_fen=principal_fen,
        fee_fen=fee,
        schedule=schedule,
        cost=annual_cost(flows, period_days=cost_period_days(method, term)),
    )


def worst_start_cost(
    *,
    method: RepaymentMethod | str,
    principal_fen: int,
    daily_rate: Decimal,
    term: int,
    from_on: dt.date,
    upfront_fee_rate: Decimal = Decimal(0),
    days: int = CALENDAR_CYCLE_DAYS,
) -> LoanCost:
    """The most expensive of the same loan started on each of `days` days from from_on (by
    default a whole four-year calendar cycle); on a tie, any one of the tied start dates."""
    method = RepaymentMethod(method)
    check_date("from_on", from_on)
    check_count("days", days, minimum=1, maximum=MAX_START_DAYS)
    check_count("term", term, minimum=1)
    groups, offsets = _start_groups(
        is_bullet=method is RepaymentMethod.BULLET,
        # Same amounts whatever the start date: only the earliest due dates can be the worst.
        is_earliest_only=method is not RepaymentMethod.MONTHLY_INTEREST,
        term=term,
        from_on=from_on,
        days=days,
    )
    first = loan_cost(
        method=method,
        principal_fen=principal_fen,
        daily_rate=daily_rate,
        term=term,
        start_on=groups[0],
        upfront_fee_rate=upfront_fee_rate,
    )
    if len(groups) == 1:
        return first
    net = principal_fen - first.fee_fen
    if method is RepaymentMethod.MONTHLY_INTEREST:
        # Period k's interest is round(P·r·D_k) − round(P·r·D_k−1), as monthly_interest_schedule
        # takes it, over the few distinct day counts of all the groups.
        day_counts = np.unique(np.concatenate(([0], offsets.ravel())))
        running = {int(d): interest_for_days(principal_fen, daily_rate, int(d)) for d in day_counts}
        before = np.concatenate((np.zeros((len(groups), 1), dtype=offsets.dtype), offsets[:, :-1]), axis=1)
        lookup = np.vectorize(running.__getitem__, otypes=[object])
        totals = lookup(offsets) - lookup(before)
        totals[:, -1] += principal_fen
    else:
        totals = np.tile(
            np.array([item.total_fen for item in first.schedule], dtype=object), (len(groups), 1)
        )
    paid = totals.astype(float)  # float ok: IRR solver

    def present_values(rate: Decimal) -> np.ndarray:
        discount = np.exp(-offsets * math.log1p(float(rate)))  # float ok: IRR solver
        return net - (paid * discount).sum(axis=1)  # float ok: IRR solver

    # Present value rises with the rate, so a group whose value at the worst rate so far is still
    # positive has a lower IRR (and its rounded IRR cannot exceed the rounded worst): only groups
    # at or below zero are solved, the lowest first, which is nearly always the worst, so one or
    # two IRRs are solved in all.
    worst_on, worst_rate = first.start_on, first.cost.daily_irr
    unsolved = np.ones(len(groups), dtype=bool)
    unsolved[0] = False
    while True:
        values = np.where(unsolved, present_values(worst_rate), np.inf)
        lowest = int(np.argmin(values))
        if values[lowest] > net * _PV_TIE:
            break
        unsolved[lowest] = False
        timed = [(0, net), *zip(offsets[lowest].tolist(), (-int(t) for t in totals[lowest]), strict=True)]
        rate = _solve(timed)
        if rate > worst_rate:
            worst_on, worst_rate = groups[lowest], rate
    if worst_on == first.start_on:
        return first
    return loan_cost(
        method=method,
        principal_fen=principal_fen,
        daily_rate=daily_rate,
        term=term,
        start_on=worst_on,
        upfront_fee_rate=upfront_fee_rate,
    )


@lru_cache(maxsize=512)
def _start_groups(
    *, is_bullet: bool, is_earliest_only: bool, term: int, from_on: dt.date, days: int
) -> tuple[tuple[dt.date, ...], np.ndarray]:
    """Start dates grouped by the day offsets of their due dates: the first start date of each
    group in date order, and a read-only matrix of their offsets (a row per group); with
    is_earliest_only, only the groups no other group falls due before on every installment (with
    equal amounts an earlier payment always costs more)."""
    if is_bullet:
        by_offsets = {(term,): from_on}
    else:
        by_offsets = {}
        for day in range(days):
            start_on = from_on + dt.timedelta(days=day)
            offsets = tuple((due_on - start_on).days for due_on in monthly_due_dates(start_on, term))
            by_offsets.setdefault(offsets, start_on)
    rows = list(by_offsets)
    if is_earliest_only:
        rows = [
            offsets
            for offsets in rows
            if not any(
                other != offsets and all(a <= b for a, b in zip(other, offsets, strict=True))
                for other in rows
            )
        ]
    matrix = np.array(rows, dtype=np.int64)
    matrix.flags.writeable = False
    return tuple(by_offsets[offsets] for offsets in rows), matrix
