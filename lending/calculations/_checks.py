"""Input checks and exact Decimal arithmetic shared by the calculations.

Every public function validates its inputs here, so a wrong argument fails loudly with a ValueError
that names it, instead of producing a plausible but wrong amount.
"""

import datetime as dt
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

from common.money import round_half_up

# Wide enough for any product of a principal (up to 10^18 fen), a rate given to 28 digits and a day
# count, so that multiplying never rounds: the only rounding is the half-up one to the fen.
_PRECISION = 60
_EXACT = Context(prec=_PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_WIDE = Context(prec=_PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow])


def check_fen(name: str, value: int, *, positive: bool = False) -> int:
    """An amount in integer fen, non-negative (or positive when asked)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer number of fen, got {value!r}")
    if value < 0 or (positive and value == 0):
        kind = "positive" if positive else "zero or more"
        raise ValueError(f"{name} must be {kind}, got {value}")
    return value


def check_count(name: str, value: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number of days, months or installments within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def check_rate(name: str, value: Decimal) -> Decimal:
    """A rate as an exact, finite, non-negative Decimal; floats are refused as they are not exact."""
    if not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal such as Decimal('0.0005'), got {value!r}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite rate of zero or more, got {value}")
    return value


def check_date(name: str, value: dt.date) -> dt.date:
    """A calendar date; a datetime is refused because its time of day would skew day counts."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"{name} must be a date, got {value!r}")
    return value


def exact_product(*factors: int | Decimal) -> Decimal:
    """The exact product of integers and Decimals; raises rather than round a digit away."""
    result = Decimal(1)
    try:
        for factor in factors:
            result = _EXACT.multiply(result, Decimal(factor))
    except Inexact as exc:
        raise ValueError(f"the product of {factors} has more than {_PRECISION} digits") from exc
    return result


def round_fen(value: Decimal) -> int:
    """Half-up to the fen through common.money, in a context wide enough for any exact product."""
    with localcontext(_WIDE):
        return round_half_up(value)


def wide_context() -> Context:
    """A copy of the wide context for the few computations that must divide (annuity, spreading)."""
    return _WIDE.copy()
