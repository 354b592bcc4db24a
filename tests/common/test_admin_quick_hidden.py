"""Read-only inlines write their rows' hidden fields with format_html (common.admin.QuickHiddenInput),
the same markup as Django's template for a hidden input: the loan page's schedule, events and
status history rendered each row's id and loan link through three templates."""

import pytest
from django import forms
from django.contrib import admin

from common.admin import QuickHiddenInlineFormSet, QuickHiddenInput
from lending.models import CreditLine, Loan


@pytest.mark.parametrize(
    ("value", "attrs"),
    [
        (None, None),
        ("", {"id": "id_events-0-id"}),
        (42, {"id": "id_events-0-loan"}),
        ('a"b<c>&', {"id": "x", "data-flag": True, "disabled": False}),
    ],
)
def test_a_quick_hidden_input_writes_what_django_s_template_writes(value, attrs):
    assert QuickHiddenInput().render("events-0-id", value, attrs) == forms.HiddenInput().render(
        "events-0-id", value, attrs
    )


@pytest.mark.parametrize("model", [Loan, CreditLine])
def test_the_loan_and_line_pages_read_only_inlines_use_it(model):
    inlines = admin.site._registry[model].inlines
    assert inlines
    assert all(issubclass(inline.formset, QuickHiddenInlineFormSet) for inline in inlines)


@pytest.mark.django_db
def test_an_inline_row_s_hidden_fields_are_quick():
    from lending.admin import LoanEventInline

    inline = LoanEventInline(Loan, admin.site)
    formset = inline.get_formset(None, fields=[])(instance=Loan())
    form = formset.empty_form
    hidden = [f.widget for f in form.fields.values() if isinstance(f.widget, forms.HiddenInput)]
    assert hidden and all(type(w) is QuickHiddenInput for w in hidden)
