"""A credit policy in words a risk manager reads: the per-grade terms as a grid (the highest
default probability and the rate markup as percentages, the line as a multiple of 90 days'
settled sales with an example in yuan) and a sandbox run's policy as labelled rows, in the
reader's language. The stored JSON keeps its codes and fractions; only the reading changes."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.money import format_yuan
from lending.services.products import rate_text
from scoring.calculations import GRADES

# The example a line multiple is shown on: a merchant with this much settled over 90 days.
EXAMPLE_SETTLED_FEN = 10_000_000  # 100,000 yuan

# A grade's terms: (code, label, the unit the workbench shows and takes it in).
TERM_LABELS = {
    "max_pd": _("highest default probability (%)"),
    "line_multiple": _("line (× 90 days' settled sales)"),
    "rate_markup": _("daily rate markup (% a day)"),
}


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def plain(number: Decimal) -> str:
    """A Decimal without trailing zeros or an exponent ("0.0050" -> "0.005", "100" -> "100")."""
    text = f"{number.normalize():f}"
    return text


def percent(value, *, places: int | None = None) -> str:
    """A fraction as a percentage ("0.02" -> "2 %"); "-" when there is none; as written when it
    is not a number."""
    number = _decimal(value)
    if number is None:
        return "-" if value in (None, "") else str(value)
    shown = number * 100
    if places is not None:
        shown = shown.quantize(Decimal(1).scaleb(-places))
        return f"{shown:f}%"
    return f"{plain(shown)}%"


def fraction_to_percent_text(value) -> str:
    """A stored fraction as the number a percentage field shows ("0.00005" -> "0.005")."""
    number = _decimal(value)
    return "" if number is None else plain(number * 100)


def grade_terms_rows(terms) -> list[dict]:
    """One row per grade A–E: its terms in words (percentages, a multiple and an example line in
    yuan, the markup a day and its yearly equivalent)."""
    terms = terms if isinstance(terms, dict) else {}
    rows = []
    for grade in GRADES:
        entry = terms.get(grade) if isinstance(terms.get(grade), dict) else {}
        multiple = _decimal(entry.get("line_multiple"))
        markup = _decimal(entry.get("rate_markup"))
        example = None
        if multiple is not None:
            example = int(Decimal(EXAMPLE_SETTLED_FEN) * multiple) // 10_000 * 10_000
        rows.append(
            {
                "grade": grade,
                "max_pd": percent(entry.get("max_pd")),
                "line_multiple": "-" if multiple is None else f"× {plain(multiple)}",
                "example_line": "-" if example is None else f"¥{format_yuan(example)}",
                "rate_markup": "-" if markup is None else rate_text(markup),
            }
        )
    return rows


def grade_terms_headings() -> dict:
    return {
        "grade": _("grade"),
        "max_pd": TERM_LABELS["max_pd"],
        "line_multiple": TERM_LABELS["line_multiple"],
        "example_line": _("line on ¥%(settled)s settled") % {"settled": format_yuan(EXAMPLE_SETTLED_FEN)},
        "rate_markup": _("daily rate markup"),
    }


def _yuan(value) -> str:
    number = _decimal(value)
    if number is None:
        return "-"
    return f"¥{format_yuan(int((number * 100).to_integral_value()))}"


def _rate(value) -> str:
    number = _decimal(value)
    return "-" if number is None else rate_text(number)


def _odds(value) -> str:
    number = _decimal(value)
    if number is None or number == 1:
        return str(_("none (× 1)"))
    change = (number - 1) * 100
    return _("× %(factor)s (odds of default %(change)s%%)") % {
        "factor": plain(number),
        "change": f"{'+' if change > 0 else ''}{plain(change)}",
    }


def _days(value) -> str:
    number = _decimal(value)
    if number is None:
        return "-"
    count = int(number)
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def _text(value) -> str:
    return "-" if value in (None, "") else str(value)


def _points(value) -> str:
    return _("none") if value in (None, "") else str(value)


# A run's policy and today's policy as stored (simulate.Policy.as_json, services.sandbox_today_policy):
# key -> (label, how its value reads). Keys not listed here are shown by their label "other".
POLICY_ROWS = (
    ("cutoff_grade", _("cut-off grade"), _text),
    ("cutoff_points", _("cut-off points"), _points),
    ("acceptance_rate_target", _("acceptance target"), percent),
    ("capacity_share", _("share of the funding capacity"), percent),
    ("line_multiple", _("line multiple (× 90 days' settled sales)"), _text),
    ("line_min_yuan", _("smallest line"), _yuan),
    ("line_max_yuan", _("largest line"), _yuan),
    ("daily_rate", _("daily rate"), _rate),
    ("odds_factor", _("odds factor"), _odds),
)
ASSUMPTION_ROWS = (
    ("draw_rate", _("draw rate (share of a line drawn)"), percent),
    ("lgd", _("loss given default"), percent),
    ("funding_cost_rate", _("funding cost a year"), percent),
    ("pd_window_days", _("default probability's window"), _days),
    ("pdo", _("points to double the odds"), lambda v: "-" if v in (None, "") else plain(Decimal(str(v)))),
)


def policy_rows(policy) -> list[dict]:
    """A stored policy as labelled rows ({"key", "label", "value"}), without its grade terms
    (grade_terms_rows) and assumptions (assumption_rows). A blank input reads "today's" where
    the run keeps today's."""
    policy = policy if isinstance(policy, dict) else {}
    rows = []
    for key, label, show in POLICY_ROWS:
        if key not in policy:
            continue
        value = policy[key]
        if value in (None, "") and key in ("line_min_yuan", "line_max_yuan", "daily_rate"):
            shown = str(_("as the product has it"))
        else:
            shown = show(value)
        rows.append({"key": key, "label": label, "value": shown})
    return rows


def assumption_rows(assumptions) -> list[dict]:
    assumptions = assumptions if isinstance(assumptions, dict) else {}
    return [
        {"key": key, "label": label, "value": show(assumptions[key])}
        for key, label, show in ASSUMPTION_ROWS
        if key in assumptions
    ]
