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
from itertools import pairwise
from typing import NamedTuple

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


def _solve(timed: Sequence[tuple[int, int]]) -> Decimal:
    """The IRR of (day offset, amount) flows by bisection, rounded up to 12 places."""
    low, high = _LOWEST_DAILY_RATE, _HIGHEST_DAILY_RATE  # float ok: IRR solver
    low_sign = _present_value(timed, low) > 0  # float ok: IRR solver
    if low_sign == (_present_value(timed, high) > 0):
        raise ValueError("no rate of return between -5 % and 100 % a day for these cash flows")
    while high - low > _TOLERANCE:  # float ok: IRR solver
        middle = (low + high) / 2  # float ok: IRR solver
        if middle in (low, high):  # float ok: IRR solver
            break
        if (_present_value(timed, middle) > 0) == low_sign:  # float ok: IRR solver
            low = middle
        else:
            high = middle
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
    groups = _start_groups(
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
        start_on=groups[0][0],
        upfront_fee_rate=upfront_fee_rate,
    )
    if len(groups) == 1:
        return first
    net = principal_fen - first.fee_fen
    totals = [item.total_fen for item in first.schedule]
    running = _RunningInterest(principal_fen, daily_rate)
    timed_groups = []
    for start_on, offsets in groups:
        if method is RepaymentMethod.MONTHLY_INTEREST:
            totals = [running(after) - running(before) for before, after in pairwise((0, *offsets))]
            totals[-1] += principal_fen
        timed_groups.append(
            (start_on, [(0, net), *((offset, -total) for offset, total in zip(offsets, totals, strict=True))])
        )
    # Present value rises with the rate, so a group whose value at the worst rate so far is still
    # positive has a lower IRR (and its rounded IRR cannot exceed the rounded worst): only groups
    # at or below zero are solved. The one lowest at the first group's rate is solved first, which
    # is nearly always the worst, so that the pass over the rest solves little or nothing.
    worst_on, worst_rate = first.start_on, first.cost.daily_irr
    timed_groups.sort(key=lambda group: _present_value(group[1], float(worst_rate)))  # float ok: IRR solver
    for start_on, timed in timed_groups:
        if start_on == first.start_on:
            continue
        if _present_value(timed, float(worst_rate)) > net * _PV_TIE:  # float ok: IRR solver
            continue
        rate = _solve(timed)
        if rate > worst_rate:
            worst_on, worst_rate = start_on, rate
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


class _RunningInterest:
    """round(P·r·D) for day counts D, each computed once: the running totals monthly interest
    takes its periods from (monthly_interest_schedule)."""

    def __init__(self, principal_fen: int, daily_rate: Decimal) -> None:
        self._principal_fen, self._daily_rate = principal_fen, daily_rate
        self._totals: dict[int, int] = {}

    def __call__(self, days: int) -> int:
        total = self._totals.get(days)
        if total is None:
            total = self._totals[days] = interest_for_days(self._principal_fen, self._daily_rate, days)
        return total


@lru_cache(maxsize=512)
def _start_groups(
    *, is_bullet: bool, is_earliest_only: bool, term: int, from_on: dt.date, days: int
) -> tuple:
    """Start dates grouped by the day offsets of their due dates: ((first start, offsets), …) in
    start-date order; with is_earliest_only, only the groups no other group falls due before on
    every installment (with equal amounts an earlier payment always costs more)."""
    if is_bullet:
        return ((from_on, (term,)),)
    by_offsets: dict[tuple[int, ...], dt.date] = {}
    for day in range(days):
        start_on = from_on + dt.timedelta(days=day)
        offsets = tuple((due_on - start_on).days for due_on in monthly_due_dates(start_on, term))
        by_offsets.setdefault(offsets, start_on)
    groups = tuple((start_on, offsets) for offsets, start_on in by_offsets.items())
    if not is_earliest_only:
        return groups
    return tuple(
        (start_on, offsets)
        for start_on, offsets in groups
        if not any(
            other != offsets and all(a <= b for a, b in zip(other, offsets, strict=True))
            for _, other in groups
        )
    )
