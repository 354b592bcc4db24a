"""Serializer fields shared by every app's API: money as yuan strings, instants that may not lie
in the future."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.business_date import business_date_today, business_day_end
from common.money import MoneyError, fen_to_yuan, yuan_to_fen

# Partner clocks drift a little; an instant this far ahead of ours is still accepted.
CLOCK_SKEW = dt.timedelta(minutes=5)


@extend_schema_field({"type": "string", "format": "decimal", "example": "1234.50"})
class YuanField(serializers.Field):
    """A positive amount in yuan, sent and returned as a string with two decimals ("1234.50");
    held as integer fen inside."""

    default_error_messages = {
        "invalid": "{reason}",
        "not_positive": "must be greater than zero",
        "float": 'send amounts as decimal strings ("1234.50"), not numbers',
    }

    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        if isinstance(data, float):
            self.fail("float")
        try:
            fen = yuan_to_fen(data)
        except MoneyError as exc:
            self.fail("invalid", reason=str(exc))
        if fen < 0 or (fen == 0 and not self.allow_zero):
            self.fail("not_positive")
        if fen > 10**15:
            self.fail("invalid", reason="amount is implausibly large")
        return fen

    def to_representation(self, value: int) -> str:
        return str(fen_to_yuan(value))


def latest_acceptable_instant() -> dt.datetime:
    """Data may not come from the future: neither past our clock nor past the business date."""
    return max(timezone.now(), business_day_end(business_date_today())) + CLOCK_SKEW


class PastDateTimeField(serializers.DateTimeField):
    """An instant that has happened. The bound is computed once per request (a batch of
    thousands of orders must not read the business date thousands of times)."""

    default_error_messages = {"future": "lies in the future"}

    @staticmethod
    def _parse_iso_aware(value) -> dt.datetime | None:
        """Fast path for the common case, an ISO 8601 string with an offset; anything else goes
        through DRF's parsing and its error messages. Batches carry tens of thousands."""
        if not isinstance(value, str) or len(value) < 20:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None

    def to_internal_value(self, value):
        parsed = self._parse_iso_aware(value) or super().to_internal_value(value)
        root = self.root
        bound = getattr(root, "_latest_acceptable_instant", None)
        if bound is None:
            bound = root._latest_acceptable_instant = latest_acceptable_instant()
        if parsed > bound:
            self.fail("future")
        return parsed


class PastDateField(serializers.DateField):
    default_error_messages = {"future": "lies in the future"}

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if parsed > max(timezone.localdate(), business_date_today()):
            self.fail("future")
        return parsed


__all__ = ["PastDateField", "PastDateTimeField", "YuanField"]
