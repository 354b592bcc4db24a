from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.money import MoneyError, fen_to_yuan, format_yuan, round_half_up, yuan_to_fen


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [("0.01", 1), ("1", 100), ("1234.50", 123_450), (Decimal("99.99"), 9_999), (7, 700), ("-3.20", -320)],
)
def test_yuan_converts_to_exact_fen(yuan, fen):
    assert yuan_to_fen(yuan) == fen


@pytest.mark.parametrize("bad", [0.1, "1.001", "abc", "NaN", "Infinity", None, True])
def test_values_that_are_not_money_are_refused(bad):
    with pytest.raises(MoneyError):
        yuan_to_fen(bad)


def test_fen_shows_as_two_place_yuan():
    assert fen_to_yuan(123_450) == Decimal("1234.50")
    assert str(fen_to_yuan(5)) == "0.05"
    assert format_yuan(123_456_789) == "1,234,567.89"


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(Decimal("0.5"), 1), (Decimal("1.4999"), 1), (Decimal("2.5"), 3), (Decimal("-0.5"), -1)],
)
def test_rounding_is_half_up(value, rounded):
    assert round_half_up(value) == rounded


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trips_through_yuan(fen):
    assert yuan_to_fen(fen_to_yuan(fen)) == fen
    assert yuan_to_fen(str(fen_to_yuan(fen))) == fen
