"""Money at the edges: integer fen inside, Decimal yuan with two places outside. Never float.

Every conversion and rounding in the project goes through here, so there is one rounding rule:
half-up to the fen.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100
_CENT = Decimal("0.01")


class MoneyError(ValueError):
    """A value that is not an amount of money."""


def yuan_to_fen(value: Decimal | str | int) -> int:
    """Exact yuan (Decimal, str or int; at most two decimals) to integer fen."""
    if isinstance(value, float | bool):
        raise MoneyError("amounts must be given as a decimal string, not a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise MoneyError(f"{value!r} is not a decimal amount") from exc
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount")
    if amount != amount.quantize(_CENT):
        raise MoneyError(f"{value} has more than two decimal places")
    return int(amount * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen to Decimal yuan with two places (1234 -> Decimal('12.34'))."""
    return (Decimal(int(fen)) / FEN_PER_YUAN).quantize(_CENT)


def round_half_up(value: Decimal) -> int:
    """A fractional fen amount rounded half-up to a whole fen."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_yuan(fen: int) -> str:
    """Fen as a display string with thousands separators: 123456 -> '1,234.56'."""
    return f"{fen_to_yuan(fen):,.2f}"
