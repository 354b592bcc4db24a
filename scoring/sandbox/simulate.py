"""The sandbox's maths: a credit policy played out on rated merchants. Pure functions over
plain values and pandas frames; no database (scoring.sandbox.services reads and writes).

Each merchant comes with its current rating: the default probability PD over the model's outcome
window W (the training definition: 30+ days past due or written off within W days of
disbursement, W = 90 unless the model says otherwise), points, grade, line, daily rate, product,
90 days' settled sales, and its place in the ranking (1 = lowest PD). A candidate policy
re-rates every merchant:

  1. stress  logit(PD') = logit(PD) + ln f,  points' = points − round(ln f · PDO / ln 2)
             (the odds factor f: 1.25 makes everyone 25 % riskier; 1 changes nothing);
  2. grade   the best grade whose max_pd admits PD' (E catches the rest);
  3. line    the grade's multiple × 90 days' settled sales, down to whole 100 yuan, at most the
             product's largest amount and none below its smallest (as the rating does), then
             within the policy's own limits: above line_max it is cut to line_max, below
             line_min there is none;
  4. price   the policy's daily rate, or the product's rate plus the grade's markup, within the
             legal cap (computed by lending, passed in as `rates`);
  5. approve when its place in the ranking is within the acceptance target
             (⌊target × merchants⌋, as pre-approved offers count it), its grade is within the
             cut-off grade, its points reach the cut-off points (if any), and its line is > 0.
Today's policy keeps every merchant's stored grade, line and rate and approves by the policy's
cut-off grade and acceptance target.

Expected figures over a horizon of H days, for an approved merchant with line L, daily rate r:
     PD_H     = 1 − (1 − PD')^(H / W)              one constant hazard over the horizon
     drawn  D = draw_rate × L                      the average balance, kept drawn over the horizon
     interest = D × r × H × (1 − PD_H / 2)         a defaulter stops paying half-way on average
     loss     = D × PD_H × LGD
     funding  = D × funding_cost_rate × H / 365
     profit   = interest − loss − funding
The expected default rate is Σ PD_H / approvals (the share of approved merchants expected to
default within the horizon); the loss rate is loss / drawn.

Money: lines are integer fen; sums over merchants are exact integers or Decimals. A sum weighted
by probabilities (themselves floats) is taken in float64 over integer fen — exact to far below a
fen at any size this platform has — and turned into a Decimal before anything else touches it;
every amount leaves as integer fen, rounded half-up once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from common.money import round_half_up, yuan_to_fen
from lending.calculations import DAYS_PER_YEAR, RATE_SCALE
from scoring import calculations as calc

GRADES: tuple[str, ...] = calc.GRADES
HORIZON_MIN_DAYS = 1
HORIZON_MAX_DAYS = 720

# The assumptions, each a policy input a run may override (docs/scoring.md, "The sandbox").
DRAW_RATE = Decimal("0.50")  # share of an approved line drawn, on average, over the horizon
LGD = Decimal("0.80")  # share of a defaulted balance never recovered (unsecured micro-loans)
FUNDING_COST_RATE = Decimal("0.06")  # a year: what the lender pays for its capital and bank borrowing
PD_WINDOW_DAYS = 90  # the outcome window a rating's PD speaks of, when the model does not say
PDO = 20.0  # points to double the odds, when the model does not say

ODDS_FACTOR_MIN, ODDS_FACTOR_MAX = Decimal("0.1"), Decimal("10")
LINE_MULTIPLE_MAX = Decimal("10")
TERM_KEYS = ("max_pd", "line_multiple", "rate_markup")
POLICY_KEYS = (
    "cutoff_grade",
    "cutoff_points",
    "acceptance_rate_target",
    "line_multiple",
    "line_min_yuan",
    "line_max_yuan",
    "daily_rate",
    "odds_factor",
    "grade_terms",
    "draw_rate",
    "lgd",
    "funding_cost_rate",
)
# One rated merchant per row, in ranking order.
COLUMNS = (
    "merchant_id",
    "position",
    "probability",
    "points",
    "grade",
    "line_fen",
    "rate_ppb",
    "product_id",
    "settled_sales_fen",
)
NO_PRODUCT = -1
_SHARE = Decimal("0.0001")
_COUNT = Decimal("0.01")
_RATE = Decimal("0.00000001")


class InputError(ValueError):
    """Policy inputs that cannot be used; `fields` names each one with what is wrong."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields
        super().__init__("; ".join(f"{name}: {messages[0]}" for name, messages in fields.items()))


@dataclass(frozen=True)
class Assumptions:
    """What the expected figures rest on (see the module docstring)."""

    draw_rate: Decimal = DRAW_RATE
    lgd: Decimal = LGD
    funding_cost_rate: Decimal = FUNDING_COST_RATE
    pd_window_days: int = PD_WINDOW_DAYS
    pdo: float = PDO

    def as_json(self) -> dict:
        return {
            "draw_rate": str(self.draw_rate),
            "lgd": str(self.lgd),
            "funding_cost_rate": str(self.funding_cost_rate),
            "pd_window_days": self.pd_window_days,
            "pdo": self.pdo,
        }


@dataclass(frozen=True)
class Policy:
    """A credit policy as the sandbox plays it. `stored` is today's policy: keep each merchant's
    stored grade, line and rate."""

    cutoff_grade: str
    acceptance_rate_target: Decimal
    grade_terms: Mapping[str, Mapping[str, str]]
    cutoff_points: int | None = None
    line_min_fen: int | None = None
    line_max_fen: int | None = None
    daily_rate: Decimal | None = None
    odds_factor: Decimal = Decimal(1)
    stored: bool = False

    def as_json(self) -> dict:
        return {
            "cutoff_grade": self.cutoff_grade,
            "cutoff_points": self.cutoff_points,
            "acceptance_rate_target": str(self.acceptance_rate_target),
            "grade_terms": {g: dict(t) for g, t in self.grade_terms.items()},
            "line_min_yuan": None if self.line_min_fen is None else str(Decimal(self.line_min_fen) / 100),
            "line_max_yuan": None if self.line_max_fen is None else str(Decimal(self.line_max_fen) / 100),
            "daily_rate": None if self.daily_rate is None else str(self.daily_rate),
            "odds_factor": str(self.odds_factor),
        }


# --- Parsing a risk manager's inputs ------------------------------------------------------------


def _term_names(keys) -> list[str]:
    """A grade's terms in words, each with its code (the code is what a caller writes)."""
    names = {
        "max_pd": _("highest default probability"),
        "line_multiple": _("line multiple"),
        "rate_markup": _("rate markup"),
    }
    return [f"{names[key]} ({key})" if key in names else key for key in keys]


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _decimal(
    raw: object,
    name: str,
    errors: dict[str, list[str]],
    *,
    low: Decimal | None = None,
    high: Decimal | None = None,
    places: int | None = None,
) -> Decimal | None:
    if _blank(raw):
        return None
    if isinstance(raw, float | bool):
        errors[name] = [_("give the value as a decimal written as text, such as “0.5”, not a float")]
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        errors[name] = [_("“%(value)s” is not a number") % {"value": raw}]
        return None
    if not value.is_finite():
        errors[name] = [_("“%(value)s” is not a finite number") % {"value": raw}]
    elif low is not None and value < low:
        errors[name] = [_("must be at least %(low)s") % {"low": low} if low else _("must not be negative")]
    elif high is not None and value > high:
        errors[name] = [_("must be at most %(high)s") % {"high": high}]
    elif places is not None and value != value.quantize(Decimal(1).scaleb(-places)):
        errors[name] = [_("at most %(places)d decimal places") % {"places": places}]
    else:
        return value
    return None


def _integer(raw: object, name: str, errors: dict[str, list[str]]) -> int | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool | float):
        errors[name] = [_("must be a whole number")]
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        errors[name] = [_("“%(value)s” is not a whole number") % {"value": raw}]
        return None


def horizon_parse(raw: object) -> int:
    """The horizon in days, 1..720; InputError naming `horizon_days` otherwise."""
    errors: dict[str, list[str]] = {}
    days = _integer(raw, "horizon_days", errors)
    if days is None and not errors:
        errors["horizon_days"] = [_("required")]
    elif days is not None and not HORIZON_MIN_DAYS <= days <= HORIZON_MAX_DAYS:
        errors["horizon_days"] = [
            _("must be between %(low)d and %(high)d days")
            % {"low": HORIZON_MIN_DAYS, "high": HORIZON_MAX_DAYS}
        ]
    if errors:
        raise InputError(errors)
    return days  # type: ignore[return-value]


def _grade(raw: object, name: str, errors: dict[str, list[str]]) -> str | None:
    if _blank(raw):
        return None
    grade = str(raw).strip().upper()
    if grade not in GRADES:
        errors[name] = [
            _("“%(value)s” is not a grade: one of %(grades)s") % {"value": raw, "grades": ", ".join(GRADES)}
        ]
        return None
    return grade


def _grade_terms(raw: object, base: Mapping, errors: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    terms = {g: {k: str(v) for k, v in dict(base.get(g, {})).items()} for g in GRADES}
    if _blank(raw):
        return terms
    if not isinstance(raw, Mapping):
        errors["grade_terms"] = [_("must give each grade its terms")]
        return terms
    for grade, given in raw.items():
        if grade not in GRADES:
            errors[f"grade_terms.{grade}"] = [
                _("“%(value)s” is not a grade: one of %(grades)s")
                % {"value": grade, "grades": ", ".join(GRADES)}
            ]
            continue
        if not isinstance(given, Mapping):
            errors[f"grade_terms.{grade}"] = [
                _("must give the grade's terms: %(terms)s") % {"terms": ", ".join(_term_names(TERM_KEYS))}
            ]
            continue
        for key, value in given.items():
            name = f"grade_terms.{grade}.{key}"
            if key not in TERM_KEYS:
                errors[name] = [
                    _("unknown term; known: %(terms)s") % {"terms": ", ".join(_term_names(TERM_KEYS))}
                ]
                continue
            bounds = {
                "max_pd": {"low": Decimal(0), "high": Decimal(1)},
                "line_multiple": {"low": Decimal(0), "high": LINE_MULTIPLE_MAX, "places": 4},
                "rate_markup": {"low": Decimal(0), "high": Decimal("0.01"), "places": 8},
            }[key]
            parsed = _decimal(value, name, errors, **bounds)  # type: ignore[arg-type]
            if parsed is not None:
                terms[grade][key] = str(parsed)
    return terms


def policy_parse(raw: Mapping[str, object], *, today: Mapping[str, object]) -> tuple[Policy, Assumptions]:
    """A candidate policy from a risk manager's inputs; what is left out is today's (`today`:
    cutoff_grade, acceptance_rate_target, grade_terms). InputError names every field that cannot
    be used. The legal cap on the rate is checked by the caller (it needs the products)."""
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in POLICY_KEYS:
            errors[str(key)] = [
                _("unknown policy input; known: %(inputs)s") % {"inputs": ", ".join(POLICY_KEYS)}
            ]
    cutoff = _grade(raw.get("cutoff_grade"), "cutoff_grade", errors) or str(today["cutoff_grade"])
    cutoff_points = _integer(raw.get("cutoff_points"), "cutoff_points", errors)
    target = _decimal(
        raw.get("acceptance_rate_target"), "acceptance_rate_target", errors, low=Decimal(0), high=Decimal(1)
    )
    multiple = _decimal(
        raw.get("line_multiple"), "line_multiple", errors, low=Decimal(0), high=LINE_MULTIPLE_MAX, places=4
    )
    line_min = _decimal(raw.get("line_min_yuan"), "line_min_yuan", errors, low=Decimal(0), places=2)
    line_max = _decimal(raw.get("line_max_yuan"), "line_max_yuan", errors, low=Decimal(0), places=2)
    if line_min is not None and line_max is not None and line_min > line_max:
        errors["line_max_yuan"] = [_("must not be below the smallest line")]
    daily_rate = _decimal(raw.get("daily_rate"), "daily_rate", errors, low=Decimal(0), places=8)
    odds = _decimal(raw.get("odds_factor"), "odds_factor", errors, low=ODDS_FACTOR_MIN, high=ODDS_FACTOR_MAX)
    draw = _decimal(raw.get("draw_rate"), "draw_rate", errors, low=Decimal(0), high=Decimal(1))
    lgd = _decimal(raw.get("lgd"), "lgd", errors, low=Decimal(0), high=Decimal(1))
    funding = _decimal(
        raw.get("funding_cost_rate"), "funding_cost_rate", errors, low=Decimal(0), high=Decimal(1)
    )
    terms = _grade_terms(raw.get("grade_terms"), dict(today.get("grade_terms") or {}), errors)
    if multiple is not None:
        for grade in GRADES:
            terms[grade]["line_multiple"] = str(multiple)
    thresholds = [Decimal(terms[g].get("max_pd", "1")) for g in GRADES[:-1]]
    if "grade_terms" not in errors and any(b < a for a, b in itertools.pairwise(thresholds)):
        errors["grade_terms"] = [
            _("the highest default probability must not fall from one grade to the next (A ≤ B ≤ C ≤ D)")
        ]
    if errors:
        raise InputError(errors)
    policy = Policy(
        cutoff_grade=cutoff,
        acceptance_rate_target=target
        if target is not None
        else Decimal(str(today["acceptance_rate_target"])),
        grade_terms=terms,
        cutoff_points=cutoff_points,
        line_min_fen=None if line_min is None else yuan_to_fen(line_min),
        line_max_fen=None if line_max is None else yuan_to_fen(line_max),
        daily_rate=daily_rate,
        odds_factor=odds if odds is not None else Decimal(1),
    )
    assumptions = Assumptions(
        draw_rate=draw if draw is not None else DRAW_RATE,
        lgd=lgd if lgd is not None else LGD,
        funding_cost_rate=funding if funding is not None else FUNDING_COST_RATE,
    )
    return policy, assumptions


def policy_from_json(data: Mapping[str, object], *, stored: bool = False) -> Policy:
    """A policy as `Policy.as_json` (or today's policy snapshot) wrote it."""

    def optional_fen(key: str) -> int | None:
        value = data.get(key)
        return None if _blank(value) else yuan_to_fen(str(value))

    rate = data.get("daily_rate")
    points = data.get("cutoff_points")
    return Policy(
        cutoff_grade=str(data["cutoff_grade"]),
        acceptance_rate_target=Decimal(str(data["acceptance_rate_target"])),
        grade_terms={g: dict(t) for g, t in dict(data.get("grade_terms") or {}).items()},  # type: ignore[call-overload]
        cutoff_points=None if _blank(points) else int(str(points)),
        line_min_fen=optional_fen("line_min_yuan"),
        line_max_fen=optional_fen("line_max_yuan"),
        daily_rate=None if _blank(rate) else Decimal(str(rate)),
        odds_factor=Decimal(str(data.get("odds_factor") or "1")),
        stored=stored,
    )


def assumptions_from_json(data: Mapping[str, object]) -> Assumptions:
    return Assumptions(
        draw_rate=Decimal(str(data.get("draw_rate", DRAW_RATE))),
        lgd=Decimal(str(data.get("lgd", LGD))),
        funding_cost_rate=Decimal(str(data.get("funding_cost_rate", FUNDING_COST_RATE))),
        pd_window_days=int(data.get("pd_window_days", PD_WINDOW_DAYS)),  # type: ignore[call-overload]
        pdo=float(data.get("pdo", PDO)),  # type: ignore[arg-type]
    )


# --- Playing a policy out -----------------------------------------------------------------------


def quota_for(merchants: int, target: Decimal) -> int:
    """How many of the ranking's top merchants the acceptance target reaches: ⌊target × merchants⌋."""
    return math.floor(Decimal(merchants) * target)


def grade_index(probability: np.ndarray, grade_terms: Mapping[str, Mapping[str, str]]) -> np.ndarray:
    """`calc.grade_for` over an array: 0 for A … 4 for E."""
    index = np.full(len(probability), len(GRADES) - 1, dtype=np.int8)
    for i in range(len(GRADES) - 2, -1, -1):  # D, C, B, A: the best grade that admits wins
        terms = grade_terms.get(GRADES[i])
        if terms is not None:
            index[probability <= float(terms["max_pd"])] = i
    return index


def stress(probability: np.ndarray, odds_factor: Decimal) -> np.ndarray:
    """PD with its odds of default multiplied by the factor."""
    if odds_factor == 1:
        return probability
    p = np.clip(probability, calc.PD_FLOOR, 1 - calc.PD_FLOOR)
    log_odds = np.log(p / (1 - p)) + math.log(odds_factor)
    return 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700.0, 700.0)))


def horizon_probability(probability: np.ndarray, *, horizon_days: int, window_days: int) -> np.ndarray:
    """PD over the horizon from PD over the model's window, at one constant hazard."""
    return 1.0 - np.power(1.0 - np.clip(probability, 0.0, 1.0), horizon_days / window_days)


def lines_for(
    *,
    grade: np.ndarray,
    settled_sales_fen: np.ndarray,
    amount_min_fen: np.ndarray,
    amount_max_fen: np.ndarray,
    grade_terms: Mapping[str, Mapping[str, str]],
) -> np.ndarray:
    """`calc.line_for` over arrays, in exact integer arithmetic: ⌊sales × multiple⌋ down to whole
    100 yuan, at most the product's largest amount, 0 below its smallest."""
    numerators = np.zeros(len(GRADES), dtype=np.int64)
    denominators = np.ones(len(GRADES), dtype=np.int64)
    for i, g in enumerate(GRADES):
        multiple = Decimal(str(grade_terms.get(g, {}).get("line_multiple", "0")))
        numerators[i], denominators[i] = multiple.as_integer_ratio() if multiple > 0 else (0, 1)
    sales = np.maximum(settled_sales_fen.astype(np.int64), 0)
    raw = sales * numerators[grade] // denominators[grade]
    line = np.minimum(raw // calc.LINE_STEP_FEN * calc.LINE_STEP_FEN, amount_max_fen)
    return np.where((line >= amount_min_fen) & (numerators[grade] > 0) & (sales > 0), line, 0)


def decide(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    quota: int,
    products: Mapping[int, tuple[int, int]],
    rates: Mapping[tuple[int, str], int],
    assumptions: Assumptions,
    horizon_days: int,
) -> pd.DataFrame:
    """Each merchant under the policy: grade, whether approved, line (fen), daily rate (parts per
    10⁸) and PD over the horizon. `frame` has COLUMNS; `products` maps a product id to its
    (smallest, largest) amount in fen; `rates` maps (product id, grade) to the product's rate for
    that grade within the legal cap, in parts per 10⁸."""
    n = len(frame)
    probability = frame["probability"].to_numpy(dtype=float)
    points = frame["points"].to_numpy(dtype=np.int64)
    grade_of = {g: i for i, g in enumerate(GRADES)}
    if policy.stored:
        grade = frame["grade"].map(grade_of).to_numpy(dtype=np.int8)
        line = frame["line_fen"].to_numpy(dtype=np.int64)
        rate = frame["rate_ppb"].to_numpy(dtype=np.int64)
    else:
        probability = stress(probability, policy.odds_factor)
        if policy.odds_factor != 1:
            shift = round(math.log(policy.odds_factor) * assumptions.pdo / math.log(2))
            points = points - shift
        grade = grade_index(probability, policy.grade_terms)
        product = frame["product_id"].to_numpy(dtype=np.int64)
        ids = sorted(products)
        slot = {pid: i for i, pid in enumerate(ids)}
        position = np.array([slot.get(int(p), len(ids)) for p in product], dtype=np.int64)
        lows = np.array([products[p][0] for p in ids] + [1], dtype=np.int64)
        highs = np.array([products[p][1] for p in ids] + [0], dtype=np.int64)
        line = lines_for(
            grade=grade,
            settled_sales_fen=frame["settled_sales_fen"].to_numpy(dtype=np.int64),
            amount_min_fen=lows[position],
            amount_max_fen=highs[position],
            grade_terms=policy.grade_terms,
        )
        if policy.line_max_fen is not None:
            line = np.minimum(line, policy.line_max_fen)
        if policy.line_min_fen is not None:
            line = np.where(line >= max(policy.line_min_fen, 1), line, 0)
        if policy.daily_rate is not None:
            rate = np.full(n, int(policy.daily_rate * RATE_SCALE), dtype=np.int64)
        else:
            table = np.zeros((len(ids) + 1, len(GRADES)), dtype=np.int64)
            for (pid, g), ppb in rates.items():
                if pid in slot:
                    table[slot[pid], grade_of[g]] = ppb
            rate = table[position, grade]
    approved = (
        (frame["position"].to_numpy(dtype=np.int64) <= quota)
        & (grade <= grade_of[policy.cutoff_grade])
        & (line > 0)
    )
    if policy.cutoff_points is not None:
        approved &= points >= policy.cutoff_points
    return pd.DataFrame(
        {
            "merchant_id": frame["merchant_id"].to_numpy(),
            "grade": np.array(GRADES)[grade] if n else np.array([], dtype=object),
            "approved": approved,
            "line_fen": np.where(approved, line, 0).astype(np.int64),
            "rate_ppb": rate.astype(np.int64),
            "pd_horizon": horizon_probability(
                probability, horizon_days=horizon_days, window_days=assumptions.pd_window_days
            ),
        }
    )


@dataclass
class Totals:
    """Sums over the merchants seen so far; chunks add up (`add`), and a run stores them between
    chunks (`as_json` / `from_json`) so that it can resume."""

    merchants: int = 0
    approved: int = 0
    line_fen: int = 0
    line_rate: int = 0  # Σ L · r (fen × parts per 10⁸): the line-weighted rate
    interest_base: Decimal = Decimal(0)  # Σ L · r · (1 − PD_H / 2)
    loss_base: Decimal = Decimal(0)  # Σ L · PD_H
    defaults: Decimal = Decimal(0)  # Σ PD_H: approved merchants expected to default
    by_grade: dict[str, list[int]] = field(default_factory=lambda: {g: [0, 0] for g in GRADES})

    def add(self, other: Totals) -> Totals:
        return Totals(
            merchants=self.merchants + other.merchants,
            approved=self.approved + other.approved,
            line_fen=self.line_fen + other.line_fen,
            line_rate=self.line_rate + other.line_rate,
            interest_base=self.interest_base + other.interest_base,
            loss_base=self.loss_base + other.loss_base,
            defaults=self.defaults + other.defaults,
            by_grade={
                g: [a + b for a, b in zip(self.by_grade[g], other.by_grade[g], strict=True)] for g in GRADES
            },
        )

    def as_json(self) -> dict:
        return {
            "merchants": self.merchants,
            "approved": self.approved,
            "line_fen": self.line_fen,
            "line_rate": str(self.line_rate),
            "interest_base": str(self.interest_base),
            "loss_base": str(self.loss_base),
            "defaults": str(self.defaults),
            "by_grade": {g: list(v) for g, v in self.by_grade.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping) -> Totals:
        return cls(
            merchants=int(data["merchants"]),
            approved=int(data["approved"]),
            line_fen=int(data["line_fen"]),
            line_rate=int(data["line_rate"]),
            interest_base=Decimal(data["interest_base"]),
            loss_base=Decimal(data["loss_base"]),
            defaults=Decimal(data["defaults"]),
            by_grade={g: [int(x) for x in data["by_grade"][g]] for g in GRADES},
        )


def totals_of(decided: pd.DataFrame) -> Totals:
    """The sums of one chunk's decisions."""
    chosen = decided[decided["approved"]]
    line = chosen["line_fen"].to_numpy(dtype=np.int64)
    rate = chosen["rate_ppb"].to_numpy(dtype=np.int64)
    pd_h = chosen["pd_horizon"].to_numpy(dtype=float)
    line_rate = line.astype(object) * rate.astype(object)  # Python integers: never overflow
    by_grade = {g: [0, 0] for g in GRADES}
    if len(chosen):
        grouped = chosen.groupby("grade")["line_fen"].agg(["count", "sum"])
        for g, row in grouped.iterrows():
            by_grade[str(g)] = [int(row["count"]), int(row["sum"])]
    # Probability-weighted sums (expectations, not ledger amounts): float64 over integers well
    # inside 2^53, then Decimal.
    interest = float(np.dot(line * rate, 1.0 - pd_h / 2.0)) if len(line) else 0.0  # float ok
    loss = float(np.dot(line, pd_h)) if len(line) else 0.0  # float ok
    return Totals(
        merchants=len(decided),
        approved=len(chosen),
        line_fen=int(line.sum()),
        line_rate=int(line_rate.sum()) if len(line_rate) else 0,
        interest_base=Decimal(interest),
        loss_base=Decimal(loss),
        defaults=Decimal(float(pd_h.sum())),  # float ok: a sum of probabilities
        by_grade=by_grade,
    )


def play(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    quota: int,
    products: Mapping[int, tuple[int, int]],
    rates: Mapping[tuple[int, str], int],
    assumptions: Assumptions,
    horizon_days: int,
) -> Totals:
    """One chunk of merchants under the policy, summed."""
    return totals_of(
        decide(
            frame,
            policy,
            quota=quota,
            products=products,
            rates=rates,
            assumptions=assumptions,
            horizon_days=horizon_days,
        )
    )


def _share(numerator: Decimal | int, denominator: Decimal | int) -> str:
    if not denominator:
        return str(Decimal(0).quantize(_SHARE))
    return str((Decimal(numerator) / Decimal(denominator)).quantize(_SHARE))


def figures(totals: Totals, *, assumptions: Assumptions, horizon_days: int, population: int) -> dict:
    """The expected figures a risk manager reads: counts, integer fen, and shares and rates as
    Decimal strings (never floats)."""
    h = Decimal(horizon_days)
    drawn = assumptions.draw_rate * totals.line_fen
    interest = assumptions.draw_rate * h * totals.interest_base / RATE_SCALE
    loss = assumptions.draw_rate * assumptions.lgd * totals.loss_base
    funding = assumptions.draw_rate * assumptions.funding_cost_rate * h * totals.line_fen / DAYS_PER_YEAR
    interest_fen, loss_fen, funding_fen = round_half_up(interest), round_half_up(loss), round_half_up(funding)
    average_rate = (
        (Decimal(totals.line_rate) / totals.line_fen / RATE_SCALE).quantize(_RATE)
        if totals.line_fen
        else None
    )
    return {
        "merchants": population,
        "approved": totals.approved,
        "approval_rate": _share(totals.approved, population),
        "line_fen": totals.line_fen,
        "drawn_fen": round_half_up(drawn),
        "expected_defaults": str(totals.defaults.quantize(_COUNT)),
        "default_rate": _share(totals.defaults, totals.approved),
        "loss_rate": _share(loss, drawn),
        "interest_fen": interest_fen,
        "loss_fen": loss_fen,
        "funding_cost_fen": funding_fen,
        "profit_fen": interest_fen - loss_fen - funding_fen,
        "average_daily_rate": None if average_rate is None else str(average_rate),
        "by_grade": {g: {"approved": a, "line_fen": line} for g, (a, line) in totals.by_grade.items()},
    }


DIFFERENCE_KEYS = (
    "approved",
    "approval_rate",
    "line_fen",
    "drawn_fen",
    "expected_defaults",
    "default_rate",
    "loss_rate",
    "interest_fen",
    "loss_fen",
    "funding_cost_fen",
    "profit_fen",
)


def difference(candidate: Mapping, baseline: Mapping) -> dict:
    """Candidate minus today's policy, figure by figure (integers stay integers, shares Decimal strings)."""
    out: dict[str, object] = {}
    for key in DIFFERENCE_KEYS:
        a, b = candidate[key], baseline[key]
        out[key] = a - b if isinstance(a, int) else str(Decimal(a) - Decimal(b))
    return out
