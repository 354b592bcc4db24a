"""One rule for what an amount looks like, at every door: ASCII digits with at most two decimals,
nothing else (common.money.parse_yuan), within the configured bound."""

import re

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from common.api_fields import YuanField, yuan_pattern
from common.money import MoneyError, YuanFormField, parse_yuan, yuan_to_fen
from lending.forms import QuoteForm, RepayForm
from payments.forms import WithdrawalForm

GOOD = {"0.01": 1, "1": 100, "1.5": 150, "1234.50": 123_450, "99999999.99": 9_999_999_999, "0": 0}
BAD = [
    "+5.00",
    "-5.00",
    "1_000.00",
    "1,000.00",
    "1e-2",
    "1E2",
    "1e26",
    "1e309",
    "NaN",
    "Infinity",
    "１０００",
    "١٠٠٠",
    "۱۰۰۰",
    " 5.00",
    "5.00 ",
    "5.00\n",
    "\t5",
    "5.001",
    "5.",
    ".5",
    "05",
    "0x10",
    "",
    "5\x00",
    "9" * 30,
]


@pytest.mark.parametrize(("text", "fen"), GOOD.items())
def test_written_amounts_read_as_exact_fen(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", BAD)
def test_anything_else_is_not_an_amount(text):
    with pytest.raises(MoneyError):
        parse_yuan(text)


@pytest.mark.parametrize("value", [5, 5.0, True, None, [0, [1, 2, 3], -2], {"a": 1}])
def test_an_amount_that_is_not_text_is_refused_saying_so(value):
    with pytest.raises(MoneyError, match="must be a string"):
        parse_yuan(value)


def test_yuan_to_fen_reads_text_by_the_same_rule():
    assert yuan_to_fen("-3.20") == -320  # callers that take negatives check the sign themselves
    for text in [t for t in BAD if t != "-5.00"]:
        with pytest.raises(MoneyError):
            yuan_to_fen(text)


@given(st.integers(min_value=1, max_value=9_999_999_999))
def test_every_amount_the_schema_pattern_allows_the_field_takes(fen):
    text = f"{fen // 100}.{fen % 100:02d}"
    assert re.fullmatch(yuan_pattern(max_fen=9_999_999_999, allow_zero=False), text)
    assert YuanField().run_validation(text) == fen


def test_the_per_request_maximum_is_a_setting():
    with override_settings(API_MAX_AMOUNT_FEN=100_000):
        field = YuanField()
        assert field.run_validation("1000.00") == 100_000
        with pytest.raises(Exception, match=r"at most 1000\.00 yuan"):
            field.run_validation("1000.01")


@pytest.mark.parametrize("form_class", [QuoteForm, WithdrawalForm])
@pytest.mark.parametrize("amount", ["１０００", "١٠٠٠", "1e3", "+1000", "1_000"])
def test_portal_forms_refuse_amounts_not_in_ascii_digits(form_class, amount):
    form = form_class(data={"amount": amount, "request_token": "5b3f1f0e-4a52-4f7e-9a53-0d8f4b6b7c11"})
    assert not form.is_valid()
    assert "amount" in form.errors


def test_portal_forms_take_ascii_amounts():
    form = RepayForm(data={"amount": "1000.50", "request_token": "5b3f1f0e-4a52-4f7e-9a53-0d8f4b6b7c11"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == 100_050
    assert YuanFormField(required=False).clean(" 12.30 ") is not None
