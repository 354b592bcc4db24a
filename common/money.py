"""Money at the edges: integer fen inside, Decimal yuan with two places outside. Never float.

Every conversion and rounding in the project goes through here, so there is one rounding rule:
half-up to the fen, and one rule for what an amount typed or sent by someone looks like: ASCII
digits, at most two decimals, nothing else (`parse_yuan`).
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext as _

FEN_PER_YUAN = 100
_CENT = Decimal("0.01")
# Far beyond any amount the business sees, far below what a BIGINT column holds (9.2e18 fen):
# sums of many such amounts still fit.
ABSOLUTE_MAX_FEN = 10**15
# The written form of an amount: ASCII digits only (never `\d`, which takes full-width and
# Arabic-Indic digits), no sign, no exponent, no separators, no spaces, no leading zeros.
_YUAN_TEXT = re.compile(r"(-?)(0|[1-9][0-9]{0,15})(?:\.([0-9]{1,2}))?")
_YUAN_TEXT_MAX_LENGTH = 20
YUAN_TEXT_HELP = 'ASCII digits with at most two decimals, such as "1234.50"'


class MoneyError(ValueError):
    """A value that is not an amount of money."""


def parse_yuan(text: str, *, allow_negative: bool = False) -> int:
    """A written amount in yuan ("1234.50") to integer fen; anything else is a MoneyError that
    says what an amount looks like."""
    if not isinstance(text, str):
        raise MoneyError(f"must be a string of {YUAN_TEXT_HELP}, not {_kind(text)}")
    match = _YUAN_TEXT.fullmatch(text) if len(text) <= _YUAN_TEXT_MAX_LENGTH else None
    if match is None:
        raise MoneyError(f"must be {YUAN_TEXT_HELP}")
    sign, whole, cents = match.groups()
    if sign and not allow_negative:
        raise MoneyError("may not be negative")
    fen = int(whole) * FEN_PER_YUAN + int((cents or "0").ljust(2, "0"))
    if fen > ABSOLUTE_MAX_FEN:
        raise MoneyError("is implausibly large")
    return -fen if sign else fen


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    # The API's parser keeps NaN, Infinity and numbers of thousands of digits as NonStandardNumber.
    return "a number" if type(value).__name__ == "NonStandardNumber" else type(value).__name__


def yuan_to_fen(value: Decimal | str | int) -> int:
    """Exact yuan to integer fen. Text must be written as `parse_yuan` says (negatives allowed:
    callers check the sign they need); a Decimal or int must be finite with at most two decimals."""
    if isinstance(value, str):
        return parse_yuan(value, allow_negative=True)
    if isinstance(value, float | bool) or not isinstance(value, Decimal | int):
        raise MoneyError(f"amounts must be given as a decimal string, not {_kind(value)}")
    try:
        amount = Decimal(value)
        if not amount.is_finite():
            raise MoneyError(f"{value!r} is not a finite amount")
        if abs(amount) > Decimal(ABSOLUTE_MAX_FEN) / FEN_PER_YUAN:
            raise MoneyError("is implausibly large")
        if amount != amount.quantize(_CENT):
            raise MoneyError(f"{value} has more than two decimal places")
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is not a decimal amount") from exc
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


class YuanFormField(forms.DecimalField):
    """A form's amount in yuan: what `parse_yuan` accepts (Django's DecimalField alone takes
    full-width digits, exponents and signs), then the DecimalField's own checks."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str):
            try:
                parse_yuan(text, allow_negative=True)
            except MoneyError as exc:
                raise forms.ValidationError(
                    _("Enter an amount in yuan such as 1234.50: digits only, at most two decimals"),
                    code="invalid",
                ) from exc
        return super().to_python(text)


class FenAsYuanField(YuanFormField):
    """A model's integer-fen amount edited in yuan: shown as "1234.50", taken as `YuanFormField`
    takes it (a Decimal, never a float; "0.001" refused), cleaned to the exact integer fen the
    model stores. A refusal names the field, so it reads alone in a list of errors too."""

    def __init__(self, *, fen_field: str = "", **kwargs):
        self.fen_field = fen_field
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        # The instance's value is fen; what the reader typed (a string) is shown as typed.
        if isinstance(value, int) and not isinstance(value, bool):
            return fen_to_yuan(value)
        return value

    def clean(self, value):
        try:
            amount = super().clean(value)
            return None if amount is None else yuan_to_fen(amount)
        except (forms.ValidationError, MoneyError) as exc:
            problems = exc.messages if isinstance(exc, forms.ValidationError) else [str(exc)]
            raise forms.ValidationError(
                [_("%(field)s: %(problem)s") % {"field": self.label, "problem": p} for p in problems],
                code="invalid",
            ) from exc

    def has_changed(self, initial, data):
        try:
            amount = super().to_python(data)
            fen = None if amount is None else yuan_to_fen(amount)
        except (forms.ValidationError, MoneyError):
            return True
        return (None if initial in self.empty_values else initial) != fen
