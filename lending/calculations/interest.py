"""Simple daily interest, its day-by-day accrual, the integer form used in SQL, and rate display.

The rule (ARCHITECTURE.md, Money): interest on a constant balance is principal × daily rate × days,
rounded half-up to the fen once. Close of business posts, for day k of a constant-balance segment,
the difference between consecutive rounded running totals, round(P·r·k) − round(P·r·(k−1)). The days
of any segment therefore add up exactly to the rounded total for that many days, whatever day the
loan is repaid on, and no fen is lost or invented by rounding each day on its own.
"""

from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from lending.calculations._checks import (
    check_count,
    check_fen,
    check_rate,
    exact_product,
    round_fen,
    wide_context,
)

DAYS_PER_YEAR = 365
# Rates in SQL are integers in parts per 10^8 of the principal per day ("ppb" in column names).
RATE_SCALE = 100_000_000
_RATE_HALF = RATE_SCALE // 2
# PostgreSQL raises on BIGINT overflow but SQLite silently turns the value into a float, so the
# integer formula is only offered where neither can happen.
SQL_BIGINT_MAX = 2**63 - 1
DEFAULT_PENALTY_MARKUP = Decimal("0.5")
_HUNDREDTH = Decimal("0.01")


def interest_for_days(principal_fen: int, daily_rate: Decimal, days: int) -> int:
    """Simple interest on a constant balance: principal × daily rate × days, rounded half-up once."""
    check_fen("principal_fen", principal_fen)
    check_rate("daily_rate", daily_rate)
    check_count("days", days)
    return round_fen(exact_product(principal_fen, daily_rate, days))


def accrual_for_day(principal_fen: int, daily_rate: Decimal, day_index_in_segment: int) -> int:
    """Interest posted for day k (1 = the segment's first day) of a constant-balance segment:
    round(P·r·k) − round(P·r·(k−1))."""
    check_count("day_index_in_segment", day_index_in_segment, minimum=1)
    return interest_for_days(principal_fen, daily_rate, day_index_in_segment) - interest_for_days(
        principal_fen, daily_rate, day_index_in_segment - 1
    )


def daily_accruals(principal_fen: int, daily_rate: Decimal, days: int) -> list[int]:
    """The postings for days 1..days of a constant-balance segment; any prefix of them sums to
    interest_for_days for that many days."""
    check_count("days", days)
    totals = [interest_for_days(principal_fen, daily_rate, k) for k in range(days + 1)]
    return [after - before for before, after in pairwise(totals)]


def spread_evenly(amount_fen: int, days: int) -> list[int]:
    """A fixed amount (say an installment's contractual interest) accrued over a period's days by
    the same running-total rule: day k posts round(A·k/d) − round(A·(k−1)/d)."""
    check_fen("amount_fen", amount_fen)
    check_count("days", days, minimum=1)
    # A·k/d is a fraction that is either exact in 60 digits or far from a half, so the one
    # division cannot change which way half-up rounds.
    context = wide_context()
    totals = [round_fen(context.divide(Decimal(amount_fen * k), Decimal(days))) for k in range(days + 1)]
    return [after - before for before, after in pairwise(totals)]


def rate_to_ppb(daily_rate: Decimal) -> int:
    """A daily rate as an integer in parts per 10^8 for SQL (Decimal('0.0005') -> 50_000).

    Rates finer than 10^-8 are refused: the integer form would silently change the price."""
    check_rate("daily_rate", daily_rate)
    scaled = exact_product(daily_rate, RATE_SCALE)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"daily rate {daily_rate} is finer than 10^-8 and has no exact integer form")
    return int(scaled)


def interest_for_days_ppb(principal_fen: int, rate_ppb: int, days: int) -> int:
    """The integer mirror of the SQL expression
    ``(principal_fen * rate_ppb * days + 50000000) / 100000000`` (integer division).

    For non-negative operands integer division is floor division on both SQLite and PostgreSQL, and
    floor((x + S/2) / S) is half-up rounding of x / S, so this equals interest_for_days. Operands
    whose numerator would overflow a BIGINT are refused."""
    check_fen("principal_fen", principal_fen)
    check_count("rate_ppb", rate_ppb)
    check_count("days", days)
    numerator = principal_fen * rate_ppb * days + _RATE_HALF
    if numerator > SQL_BIGINT_MAX:
        raise ValueError(f"principal_fen × rate_ppb × days = {numerator - _RATE_HALF} overflows a SQL BIGINT")
    return numerator // RATE_SCALE


def accrual_for_day_ppb(principal_fen: int, rate_ppb: int, day_index_in_segment: int) -> int:
    """The integer mirror of accrual_for_day, as close of business computes it in SQL."""
    check_count("day_index_in_segment", day_index_in_segment, minimum=1)
    return interest_for_days_ppb(principal_fen, rate_ppb, day_index_in_segment) - interest_for_days_ppb(
        principal_fen, rate_ppb, day_index_in_segment - 1
    )


def annual_rate(daily_rate: Decimal) -> Decimal:
    """The nominal annual rate the products are quoted at: daily rate × 365, simple."""
    check_rate("daily_rate", daily_rate)
    return exact_product(daily_rate, DAYS_PER_YEAR)


def describe_rate(daily_rate: Decimal) -> str:
    """Both forms for a screen: the daily rate exactly, the annual one to two places
    (Decimal('0.0005') -> '0.05 %/day ≈ 18.25 %/year')."""
    daily_percent, annual_percent = rate_percents(daily_rate)
    return f"{daily_percent} %/day ≈ {annual_percent} %/year"


def rate_percents(daily_rate: Decimal) -> tuple[str, str]:
    """The daily rate in percent exactly and the annual one to two places, as written
    (Decimal('0.0005') -> ('0.05', '18.25')), for a text that says what they are."""
    daily_percent = exact_product(daily_rate, 100).normalize()
    if daily_percent == daily_percent.quantize(_HUNDREDTH):
        daily_percent = daily_percent.quantize(_HUNDREDTH)
    annual_percent = exact_product(annual_rate(daily_rate), 100).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
    return f"{daily_percent:f}", f"{annual_percent:f}"


def penalty_daily_rate(daily_rate: Decimal, markup: Decimal = DEFAULT_PENALTY_MARKUP) -> Decimal:
    """The penalty (罚息) rate on overdue principal: the contract's daily rate × (1 + markup);
    the default markup of 50 % gives 0.075 %/day for a 0.05 %/day loan."""
    check_rate("daily_rate", daily_rate)
    check_rate("markup", markup)
    return exact_product(daily_rate, 1 + markup)


def penalty_interest(
    overdue_principal_fen: int,
    daily_rate: Decimal,
    days_overdue: int,
    markup: Decimal = DEFAULT_PENALTY_MARKUP,
) -> int:
    """Penalty interest on overdue principal for a number of days, as simple interest at the
    penalty rate; day by day it accrues with accrual_for_day at penalty_daily_rate."""
    return interest_for_days(overdue_principal_fen, penalty_daily_rate(daily_rate, markup), days_overdue)
