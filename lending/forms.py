from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from common.money import MoneyError, YuanFormField, yuan_to_fen

_AMOUNT = {"min_value": Decimal("0.01"), "max_digits": 14, "decimal_places": 2}


def _to_fen(value) -> int:
    try:
        return yuan_to_fen(value)
    except MoneyError as exc:
        raise forms.ValidationError(str(exc)) from exc


class QuoteForm(forms.Form):
    amount = YuanFormField(label=_("Amount (¥)"), **_AMOUNT)

    def clean_amount(self) -> int:
        return _to_fen(self.cleaned_data["amount"])


class DrawAcceptForm(forms.Form):
    """The accept button: the amount and the hash of the agreement the merchant was shown, and a
    token minted with the page so a resubmitted form draws once."""

    amount = YuanFormField(widget=forms.HiddenInput, **_AMOUNT)
    contract_sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    request_token = forms.UUIDField(widget=forms.HiddenInput)

    def clean_amount(self) -> int:
        return _to_fen(self.cleaned_data["amount"])


class RepayForm(forms.Form):
    amount = YuanFormField(label=_("Repayment amount (¥)"), required=False, **_AMOUNT)
    repay_all = forms.BooleanField(label=_("Repay all"), required=False)
    request_token = forms.UUIDField(widget=forms.HiddenInput)

    def clean_amount(self) -> int | None:
        value = self.cleaned_data.get("amount")
        return None if value is None else _to_fen(value)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("repay_all") and cleaned.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter an amount or choose repay all"))
        return cleaned
