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
"""

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import NamedTuple

from lending.calculations._checks import check_count, check_date, check_fen, check_rate, wide_context
from lending.calculations.interest import DAYS_PER_YEAR
from lending.calculations.schedules import Installment

DEFAULT_ANNUAL_COST_CAP = Decimal("0.24")
_IRR_PLACES = Decimal("1e-12")
# Daily rates between −5 % and +100 %: any loan on the platform lies far inside, and within these
# bounds exp() neither overflows nor loses the sign over a 30-year term.
_LOWEST_DAILY_RATE = -0.05  # float ok: IRR solver
_HIGHEST_DAILY_RATE = 1.0  # float ok: IRR solver
_TOLERANCE = 1e-16  # float ok: IRR solver


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
    timed = [((on - first_on).days, amount) for on, amount in dated]

    def present_value(rate: float) -> float:  # float ok: IRR solver
        growth = math.log1p(rate)  # float ok: IRR solver
        return math.fsum(amount * math.exp(-days * growth) for days, amount in timed)  # float ok: IRR solver

    low, high = _LOWEST_DAILY_RATE, _HIGHEST_DAILY_RATE  # float ok: IRR solver
    low_sign = present_value(low) > 0  # float ok: IRR solver
    if low_sign == (present_value(high) > 0):
        raise ValueError("no rate of return between -5 % and 100 % a day for these cash flows")
    while high - low > _TOLERANCE:  # float ok: IRR solver
        middle = (low + high) / 2  # float ok: IRR solver
        if middle in (low, high):  # float ok: IRR solver
            break
        if (present_value(middle) > 0) == low_sign:  # float ok: IRR solver
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
