"""The scoring policy's per-grade terms on the workbench: a grid of grades A–E by term, each cell
typed in the unit a risk manager reads (the highest default probability and the daily rate
markup in percent, the line as a multiple of 90 days' settled sales). Each cell is checked on its
own and an error names it ("grade_terms.B.rate_markup") with its label; a form with any bad cell
saves nothing. Stored as before: fractions as Decimal strings (scoring.calculations)."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from scoring import calculations as calc
from scoring.policy_words import (
    TERM_LABELS,
    fraction_to_percent_text,
    grade_terms_headings,
    grade_terms_rows,
    plain,
)

GRADES = calc.GRADES
TERM_KEYS = ("max_pd", "line_multiple", "rate_markup")
LINE_MULTIPLE_MAX = Decimal("10")
RATE_MARKUP_MAX_PERCENT = Decimal("1")  # 1 % a day; the legal cap is checked when offers are priced
# Per term: the shown unit's factor to the stored fraction, and the places the shown number may have.
SHOWN = {"max_pd": (Decimal(100), 4), "line_multiple": (Decimal(1), 4), "rate_markup": (Decimal(100), 6)}


class Typed(dict):
    """The cells as typed ({grade: {term: text}}), told apart from the stored terms."""


def cell_name(name: str, grade: str, key: str) -> str:
    return f"{name}.{grade}.{key}"


def stored_to_shown(terms) -> Typed:
    terms = terms if isinstance(terms, dict) else {}
    shown = Typed()
    for grade in GRADES:
        entry = terms.get(grade) if isinstance(terms.get(grade), dict) else {}
        shown[grade] = {}
        for key in TERM_KEYS:
            factor, _places = SHOWN[key]
            value = entry.get(key)
            if factor == 1:
                try:
                    shown[grade][key] = "" if value in (None, "") else plain(Decimal(str(value)))
                except InvalidOperation:
                    shown[grade][key] = str(value)
            else:
                shown[grade][key] = fraction_to_percent_text(value)
    return shown


class GradeTermsWidget(forms.Widget):
    """A table of inputs, one per grade and term, named `<name>.<grade>.<term>`."""

    invalid_cells: frozenset[tuple[str, str]] = frozenset()  # (grade, term) of the cells refused

    def value_from_datadict(self, data, files, name):
        return Typed(
            {grade: {key: data.get(cell_name(name, grade, key), "") for key in TERM_KEYS} for grade in GRADES}
        )

    def value_omitted_from_data(self, data, files, name):
        return not any(cell_name(name, g, k) in data for g in GRADES for k in TERM_KEYS)

    def render(self, name, value, attrs=None, renderer=None):
        shown = value if isinstance(value, Typed) else stored_to_shown(value)
        base_id = (attrs or {}).get("id") or f"id_{name}"
        rows = []
        for grade in GRADES:
            cells = []
            for key in TERM_KEYS:
                full = cell_name(name, grade, key)
                cells.append(
                    {
                        "name": full,
                        "id": f"{base_id}_{grade}_{key}",
                        "value": (shown.get(grade) or {}).get(key, ""),
                        "label": _("grade %(grade)s: %(term)s") % {"grade": grade, "term": TERM_LABELS[key]},
                        "invalid": (grade, key) in self.invalid_cells,
                    }
                )
            rows.append({"grade": grade, "cells": cells})
        return render_to_string(
            "admin/scoring/grade_terms_widget.html",
            {
                "rows": rows,
                "headings": grade_terms_headings(),
                "columns": [(key, TERM_LABELS[key]) for key in TERM_KEYS],
                "help": _(
                    "Grade by grade, better to worse: the highest default probability a grade admits "
                    "(rising, the last 100 %), the line as a multiple of 90 days' settled sales, and "
                    "the markup on the product's daily rate, in percent a day (0.005 = 0.005 % a day)."
                ),
            },
        )


class GradeTermsField(forms.Field):
    """The grid's cells, each checked and named; clean() gives the terms to store."""

    widget = GradeTermsWidget
    default_error_messages = {"required": _("give the terms of every grade")}

    def prepare_value(self, value):
        return value if isinstance(value, Typed) else stored_to_shown(value)

    def _cell(self, grade: str, key: str, text: str) -> tuple[str | None, str | None]:
        """(the stored fraction, or None; the problem, or None)."""
        text = (text or "").strip().replace("%", "").strip()
        if not text:
            return None, _("required")
        try:
            shown = Decimal(text)
        except InvalidOperation:
            return None, _("“%(text)s” is not a number") % {"text": text}
        if not shown.is_finite():
            return None, _("“%(text)s” is not a number") % {"text": text}
        factor, places = SHOWN[key]
        if shown != shown.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN"):
            return None, _("at most %(places)d decimal places") % {"places": places}
        if key == "max_pd" and not Decimal(0) < shown <= Decimal(100):
            return None, _("must be above 0 % and at most 100 %")
        if key == "line_multiple" and not Decimal(0) <= shown <= LINE_MULTIPLE_MAX:
            return None, _("must be between 0 and %(most)s") % {"most": plain(LINE_MULTIPLE_MAX)}
        if key == "rate_markup" and not Decimal(0) <= shown <= RATE_MARKUP_MAX_PERCENT:
            return None, _("must be between 0 %% and %(most)s %% a day") % {
                "most": plain(RATE_MARKUP_MAX_PERCENT)
            }
        return plain(shown / factor), None

    def parse(self, value) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str]]]:
        """(the terms to store, the problems as (grade, term, problem)); nothing is kept here."""
        typed = value if isinstance(value, dict) else {}
        terms: dict[str, dict[str, str]] = {}
        problems: list[tuple[str, str, str]] = []
        for grade in GRADES:
            terms[grade] = {}
            for key in TERM_KEYS:
                stored, problem = self._cell(grade, key, (typed.get(grade) or {}).get(key, ""))
                if problem is not None:
                    problems.append((grade, key, problem))
                else:
                    terms[grade][key] = stored
        if problems:
            return terms, problems
        previous = None
        for before, grade in zip((None, *GRADES), GRADES, strict=False):
            max_pd = Decimal(terms[grade]["max_pd"])
            if previous is not None and max_pd <= previous:
                problems.append(
                    (
                        grade,
                        "max_pd",
                        _("must be above grade %(before)s's %(percent)s %%")
                        % {"before": before, "percent": plain(previous * 100)},
                    )
                )
            previous = max_pd
        if not problems and Decimal(terms[GRADES[-1]]["max_pd"]) != 1:
            problems.append((GRADES[-1], "max_pd", _("the last grade takes everyone else: 100 %")))
        return terms, problems

    def clean(self, value):
        terms, problems = self.parse(value)
        self.widget.invalid_cells = frozenset((grade, key) for grade, key, _problem in problems)
        if problems:
            raise forms.ValidationError(
                [
                    forms.ValidationError(
                        _("Grade %(grade)s, %(term)s (%(cell)s): %(problem)s"),
                        code="cell",
                        params={
                            "grade": grade,
                            "term": TERM_LABELS[key],
                            "cell": f"grade_terms.{grade}.{key}",
                            "problem": problem,
                        },
                    )
                    for grade, key, problem in problems
                ]
            )
        try:
            return calc.grade_terms_validate(terms)
        except ValueError as exc:  # pragma: no cover - the cells' checks above are stricter
            raise forms.ValidationError(str(exc)) from exc

    def has_changed(self, initial, data):
        cleaned, problems = self.parse(data)
        if problems:
            return True
        before = initial if isinstance(initial, dict) else {}

        def same(a, b) -> bool:
            try:
                return Decimal(str(a)) == Decimal(str(b))
            except InvalidOperation:
                return False

        return not all(same((before.get(g) or {}).get(k), cleaned[g][k]) for g in GRADES for k in TERM_KEYS)


def grade_terms_table(terms) -> str:
    """The terms as a read-only grid (for readers who may not edit, and the sandbox's runs)."""
    return render_to_string(
        "admin/scoring/grade_terms.html",
        {"rows": grade_terms_rows(terms), "headings": grade_terms_headings()},
    )
