"""The B2B member's forms: the application (amount, last year's figures, the owner's
questionnaire, documents), a video-interview slot, another document, the agreement's acceptance.
Yuan and percentages at the edge; the view hands fen and Decimal fractions to the services."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, pgettext
from django.utils.translation import gettext as _

from common.money import MoneyError, YuanFormField, yuan_to_fen
from lending.models import ApplicationDocument, Product
from merchants.questionnaire import QUESTIONS

_YUAN = {"max_digits": 14, "decimal_places": 2}
_PERCENT = {"max_digits": 6, "decimal_places": 2}
# The documents asked for on the application itself; more can be added afterwards.
APPLY_DOCUMENT_KINDS = (
    ApplicationDocument.Kind.BUSINESS_LICENCE,
    ApplicationDocument.Kind.FINANCIAL_STATEMENT,
    ApplicationDocument.Kind.BANK_STATEMENT,
)
ANSWER_CHOICES = [
    (1, gettext_lazy("1 Strongly disagree")),
    (2, gettext_lazy("2 Disagree")),
    (3, gettext_lazy("3 Neutral")),
    (4, gettext_lazy("4 Agree")),
    (5, gettext_lazy("5 Strongly agree")),
]


def _to_fen(value: Decimal) -> int:
    try:
        return yuan_to_fen(value)
    except MoneyError as exc:
        raise forms.ValidationError(str(exc)) from exc


def question_field(code: str) -> str:
    return f"q_{code}"


def document_field(kind: str) -> str:
    return f"doc_{kind}"


def document_limits() -> str:
    """The upload limits in words, shown beside every file field."""
    size_mb = settings.LENDING_DOCUMENT_MAX_BYTES / (1024 * 1024)
    kinds = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
    names = pgettext("list separator", ", ").join(kinds.get(t, t) for t in settings.LENDING_DOCUMENT_TYPES)
    return _("%(types)s, at most %(size)s MB each") % {"types": names, "size": f"{size_mb:g}"}


class MemberApplyForm(forms.Form):
    """Only what an applicant may say: anything else posted (a status, a stage, a limit) is not a
    field here and so never reaches a service."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), label=gettext_lazy("Product"), empty_label=None
    )
    amount = YuanFormField(label=gettext_lazy("Amount (¥)"), min_value=Decimal("0.01"), **_YUAN)
    fiscal_year = forms.IntegerField(label=gettext_lazy("Fiscal year"))
    sales = YuanFormField(label=gettext_lazy("Last year's sales (¥)"), min_value=Decimal(0), **_YUAN)
    net_profit_margin = forms.DecimalField(
        label=gettext_lazy("Net profit margin (%)"),
        min_value=Decimal(-100),
        max_value=Decimal(100),
        **_PERCENT,
    )
    total_assets = YuanFormField(label=gettext_lazy("Total assets (¥)"), min_value=Decimal(0), **_YUAN)
    total_liabilities = YuanFormField(
        label=gettext_lazy("Total liabilities (¥)"), min_value=Decimal(0), **_YUAN
    )
    platform_sales_share = forms.DecimalField(
        label=gettext_lazy("Share of sales on the platform (%)"),
        min_value=Decimal(0),
        max_value=Decimal(100),
        **_PERCENT,
    )
    # Minted with the page: the same form sent twice is one application.
    request_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, on: dt.date, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.on = on
        self.fields["product"].queryset = products
        self.fields["fiscal_year"].initial = on.year - 1
        self.fields["fiscal_year"].validators = [_year_between(2000, on.year)]
        for question in QUESTIONS:
            self.fields[question_field(question.code)] = forms.TypedChoiceField(
                label=question.text_zh if (get_language() or "").startswith("zh") else question.text_en,
                choices=ANSWER_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
            )
        for kind in APPLY_DOCUMENT_KINDS:
            self.fields[document_field(kind)] = forms.FileField(
                label=ApplicationDocument.Kind(kind).label, required=False, help_text=document_limits()
            )

    def clean(self):
        """An answer to a question the questionnaire does not have (a q_<code> the page never
        showed) is refused naming it, as the API refuses it, never dropped."""
        cleaned = super().clean()
        known = {question_field(q.code) for q in QUESTIONS}
        unknown = sorted(name for name in self.data if name.startswith("q_") and name not in known)
        if unknown:
            raise forms.ValidationError(
                _("%(names)s: not a question of this questionnaire") % {"names": ", ".join(unknown[:20])},
                code="unknown_question",
            )
        return cleaned

    def question_fields(self):
        return [self[question_field(q.code)] for q in QUESTIONS]

    def document_fields(self):
        return [self[document_field(kind)] for kind in APPLY_DOCUMENT_KINDS]

    def figure_fields(self):
        names = ("fiscal_year", "sales", "net_profit_margin", "total_assets", "total_liabilities")
        return [self[name] for name in (*names, "platform_sales_share")]

    def clean_amount(self) -> int:
        return _to_fen(self.cleaned_data["amount"])

    def declared(self) -> dict:
        """The declared figures as application_submit takes them: fen and fractions of one."""
        data = self.cleaned_data
        return {
            "fiscal_year": data["fiscal_year"],
            "sales_fen": _to_fen(data["sales"]),
            "net_profit_margin": str(data["net_profit_margin"] / 100),
            "total_assets_fen": _to_fen(data["total_assets"]),
            "total_liabilities_fen": _to_fen(data["total_liabilities"]),
            "platform_sales_share": str(data["platform_sales_share"] / 100),
        }

    def answers(self) -> dict[str, int]:
        return {q.code: self.cleaned_data[question_field(q.code)] for q in QUESTIONS}

    def uploads(self) -> list[tuple[str, object]]:
        return [
            (kind, self.cleaned_data[document_field(kind)])
            for kind in APPLY_DOCUMENT_KINDS
            if self.cleaned_data.get(document_field(kind))
        ]


def _year_between(low: int, high: int):
    def check(value: int) -> None:
        if not low <= value <= high:
            raise forms.ValidationError(_("A year from %(low)s to %(high)s") % {"low": low, "high": high})

    return check


# The service's field names (declared.sales_fen, questionnaire.plan_ahead, file) → form fields.
DECLARED_FORM_FIELDS = {
    "fiscal_year": "fiscal_year",
    "sales_fen": "sales",
    "net_profit_margin": "net_profit_margin",
    "total_assets_fen": "total_assets",
    "total_liabilities_fen": "total_liabilities",
    "platform_sales_share": "platform_sales_share",
}


class BookForm(forms.Form):
    starts_at = forms.CharField(label=gettext_lazy("Slot"), max_length=40)

    def clean_starts_at(self) -> dt.datetime:
        try:
            value = dt.datetime.fromisoformat(self.cleaned_data["starts_at"])
        except ValueError as exc:
            raise forms.ValidationError(_("Choose one of the slots")) from exc
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ApplicationDocument.Kind.choices)
    file = forms.FileField(label=gettext_lazy("File"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = document_limits()


class AcceptForm(forms.Form):
    """The accept button: the hash of the agreement shown and a token minted with the page, so a
    resubmitted form draws once."""

    contract_sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)
    request_token = forms.UUIDField(widget=forms.HiddenInput)
