from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from common.money import MoneyError, YuanFormField, yuan_to_fen


class WithdrawalForm(forms.Form):
    amount = YuanFormField(
        label=_("Withdrawal amount (¥)"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    request_token = forms.UUIDField(widget=forms.HiddenInput)

    def clean_amount(self) -> int:
        try:
            return yuan_to_fen(self.cleaned_data["amount"])
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from exc
