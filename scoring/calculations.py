"""The 360° rating's maths: pure functions over plain values (no database), tested by hand.

The champion scorecard gives a default probability PD from trading data. The rating adds, in
log-odds of default, one term per other source of knowledge (docs/scoring.md, "The 360° rating"):

    logit(PD_final) = logit(PD_model)
                      + questionnaire   −0.5 · (score − 50) / 50      (0..100; unanswered: 0)
                      + verifications   per kind: failed +w, verified −w/6, pending 0
                      + officer         −points · ln 2 / PDO           (−20..+20 points each)
                      + adjustments     ln(factor)                     (industry, region, policy)

so a term of +ln 2 doubles the odds of default, and the final points are the model's points
minus the sum times PDO / ln 2 (the scorecard's own scale: 20 points per doubling). The grade is
the first whose `max_pd` admits PD_final; the line is the grade's multiple of 90 days' settled
sales within the product's range, and the daily rate the product's rate plus the grade's markup
(the legal cap is checked by lending, see scoring.services.rating).
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from scoring.words import both

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
MAX_REASONS = 4
LINE_STEP_FEN = 10_000  # lines are whole hundreds of yuan
PD_FLOOR = 1e-6  # probabilities are kept away from 0 and 1 so their log-odds stay finite

QUESTIONNAIRE_WEIGHT = 0.5  # log-odds at a score of 0 (+) or 100 (−)
# A failed third-party check says more than a passed one: failing a licence check is close to
# fraud, passing it is expected. Log-odds added on failure; a pass subtracts a sixth.
VERIFICATION_FAILED_WEIGHT: dict[str, float] = {"business_licence": 1.2, "tax": 0.7, "customs": 0.5}
# Labels are English msgids; a component stores them in both languages (scoring/words.py).
# A verification's words: (failed, verified), by kind.
VERIFICATION_LABELS = {
    "business_licence": (_("business licence check failed"), _("business licence verified")),
    "tax": (_("tax records check failed"), _("tax records verified")),
    "customs": (_("customs records check failed"), _("customs records verified")),
}
# An officer's finding: (positive, negative), by kind.
OFFICER_LABELS = {
    "video_check": (_("video check positive"), _("video check negative")),
    "field_inspection": (_("field inspection positive"), _("field inspection negative")),
}
OFFICER_OTHER = (_("%(check)s positive"), _("%(check)s negative"))
DIMENSION_LABELS = {
    "industry": _("industry adjustment (%(key)s)"),
    "region": _("region adjustment (%(key)s)"),
    "policy": _("policy adjustment (%(key)s)"),
}
DIMENSION_OTHER = _("%(dimension)s adjustment (%(key)s)")


@dataclass(frozen=True)
class Component:
    """One 360° term: its log-odds of default (positive = riskier) and plain words for it."""

    name: str
    log_odds: float
    label_zh: str
    label_en: str
    value: object = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "log_odds": round(self.log_odds, 6),
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "value": self.value,
        }


def logit(probability: float) -> float:
    p = min(max(probability, PD_FLOOR), 1 - PD_FLOOR)
    return math.log(p / (1 - p))


def sigmoid(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(log_odds, -700.0), 700.0)))


def questionnaire_component(score: int | None) -> Component:
    if score is None:
        return Component("questionnaire", 0.0, *both(_("owner's questionnaire not answered")), None)
    if not 0 <= score <= 100:
        raise ValueError(f"questionnaire score {score} is outside 0..100")
    shift = -QUESTIONNAIRE_WEIGHT * (score - 50) / 50
    return Component("questionnaire", shift, *both(_("owner's questionnaire score")), score)


def verification_components(results: Mapping[str, str]) -> list[Component]:
    """One term per verification kind with a final result ("verified" or "failed")."""
    out = []
    for kind, weight in VERIFICATION_FAILED_WEIGHT.items():
        result = results.get(kind)
        failed, verified = VERIFICATION_LABELS[kind]
        if result == "failed":
            out.append(Component(f"verification_{kind}", weight, *both(failed), result))
        elif result == "verified":
            out.append(Component(f"verification_{kind}", -weight / 6, *both(verified), result))
    return out


def officer_components(findings: Iterable[tuple[str, int]], *, pdo: float) -> list[Component]:
    """One term per (kind, points) finding: +20 points halve the odds of default at PDO 20."""
    out = []
    for kind, points in findings:
        if not -20 <= points <= 20:
            raise ValueError(f"an officer's finding of {points} points is outside −20..+20")
        positive, negative = OFFICER_LABELS.get(kind, OFFICER_OTHER)
        label = both(
            positive if points >= 0 else negative, **({} if kind in OFFICER_LABELS else {"check": kind})
        )
        out.append(Component(f"officer_{kind}", -points * math.log(2) / pdo, *label, points))
    return out


def adjustment_components(factors: Iterable[tuple[str, str, Decimal]]) -> list[Component]:
    """One term per matching (dimension, key, factor): ln(factor) on the log-odds."""
    out = []
    for dimension, key, factor in factors:
        if factor <= 0:
            raise ValueError(f"adjustment {dimension}:{key} must have a positive factor")
        if dimension in DIMENSION_LABELS:
            label = both(DIMENSION_LABELS[dimension], key=key)
        else:
            label = both(DIMENSION_OTHER, dimension=dimension, key=key)
        out.append(Component(f"adjustment_{dimension}", math.log(float(factor)), *label, str(factor)))
    return out


@dataclass(frozen=True)
class Combined:
    probability: float
    points: int
    log_odds_shift: float


def combine(
    *, model_probability: float, model_points: int, components: Iterable[Component], pdo: float
) -> Combined:
    """The model's PD moved by the 360° terms, and the points on the scorecard's scale."""
    shift = sum(c.log_odds for c in components)
    probability = sigmoid(logit(model_probability) + shift)
    points = model_points - round(shift * pdo / math.log(2))
    return Combined(probability=probability, points=points, log_odds_shift=shift)


def reasons_merge(
    model_reasons: Iterable[Mapping], components: Iterable[Component], *, pdo: float, limit: int = MAX_REASONS
) -> list[dict]:
    """The reasons shown to the merchant: the scorecard's features that cost the most points and
    the 360° terms that cost points (on the same scale), most points lost first."""
    merged = [
        {
            "feature": r["feature"],
            "points_lost": int(r["points_lost"]),
            "zh": r["zh"],
            "en": r["en"],
            "value": r.get("value"),
        }
        for r in model_reasons
    ]
    for c in components:
        lost = round(c.log_odds * pdo / math.log(2))
        if lost > 0:
            merged.append(
                {"feature": c.name, "points_lost": lost, "zh": c.label_zh, "en": c.label_en, "value": c.value}
            )
    merged.sort(key=lambda r: r["points_lost"], reverse=True)  # stable: ties keep their order
    return merged[:limit]


def grade_for(probability: float, grade_terms: Mapping[str, Mapping[str, str]]) -> str:
    """The best grade whose `max_pd` admits the probability; E catches the rest."""
    for grade in GRADES[:-1]:
        terms = grade_terms.get(grade)
        if terms is not None and probability <= float(terms["max_pd"]):
            return grade
    return GRADES[-1]


def grade_within_cutoff(grade: str, cutoff: str) -> bool:
    return GRADES.index(grade) <= GRADES.index(cutoff)


def line_for(
    *,
    grade: str,
    settled_sales_fen: int,
    amount_min_fen: int,
    amount_max_fen: int,
    grade_terms: Mapping[str, Mapping[str, str]],
) -> int:
    """The grade's multiple of 90 days' settled sales, rounded down to 100 yuan, at most the
    product's largest amount; 0 (no line) when that falls below the product's smallest."""
    multiple = Decimal(str(grade_terms.get(grade, {}).get("line_multiple", "0")))
    if multiple <= 0 or settled_sales_fen <= 0:
        return 0
    raw = (Decimal(settled_sales_fen) * multiple).to_integral_value(rounding=ROUND_FLOOR)
    line = min(int(raw) // LINE_STEP_FEN * LINE_STEP_FEN, amount_max_fen)
    return line if line >= amount_min_fen else 0


def rate_for(*, grade: str, product_rate: Decimal, grade_terms: Mapping[str, Mapping[str, str]]) -> Decimal:
    """The product's daily rate plus the grade's markup (never below the product's rate)."""
    markup = Decimal(str(grade_terms.get(grade, {}).get("rate_markup", "0")))
    return product_rate + max(markup, Decimal(0))


def settled_sales_fen(features: Mapping[str, float]) -> int:
    """90 days' settled sales from the features (GMV × settled / GMV), in whole fen; 0 when
    either is missing."""
    gmv = features.get("gmv_90d_yuan")
    share = features.get("settled_share_90d")
    if gmv is None or share is None or gmv != gmv or share != share:  # NaN is not equal to itself
        return 0
    return max(round(gmv * share * 100), 0)


def grade_terms_validate(terms) -> dict:
    """Every grade A–E with max_pd (rising), line_multiple ≥ 0 and rate_markup ≥ 0, as strings."""
    if not isinstance(terms, dict) or sorted(terms) != list(GRADES):
        raise ValueError(f"give terms for each grade {', '.join(GRADES)}")
    previous = Decimal(0)
    cleaned: dict[str, dict[str, str]] = {}
    for grade in GRADES:
        entry = terms[grade]
        try:
            max_pd = Decimal(str(entry["max_pd"]))
            multiple = Decimal(str(entry["line_multiple"]))
            markup = Decimal(str(entry["rate_markup"]))
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise ValueError(
                f"grade {grade}: needs max_pd, line_multiple and rate_markup as numbers"
            ) from exc
        if not previous < max_pd <= 1:
            raise ValueError(f"grade {grade}: max_pd must rise grade by grade and be at most 1")
        if multiple < 0 or markup < 0:
            raise ValueError(f"grade {grade}: line_multiple and rate_markup must not be negative")
        previous = max_pd
        cleaned[grade] = {"max_pd": str(max_pd), "line_multiple": str(multiple), "rate_markup": str(markup)}
    return cleaned
