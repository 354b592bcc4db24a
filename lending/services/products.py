"""Products: configured by an admin, refused when they break the seed's limits for their kind or
when a loan of theirs could cost more than the legal cap, whatever day it starts on."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from common.errors import ApplicationError
from common.money import format_yuan
from lending import calculations as calc
from lending.models import SEED_PRODUCT_NAMES, Product, RepaymentMethod

ALLOCATION_BUCKETS = ("penalty", "fee", "interest", "principal")
# Any day will do: every four-year calendar cycle holds the same start dates (see calc.cost), so
# the verdict does not depend on it; callers that know the business date pass it so that the
# worst start date named in a refusal is one to come.
CYCLE_FROM_ON = dt.date(2026, 1, 1)


def rate_text(daily_rate) -> str:
    """A daily rate and its simple annual equivalent in the reader's language (the English is
    `calc.describe_rate`'s, which the agreements accepted before keep word for word)."""
    daily, annual = calc.rate_percents(daily_rate)
    return _("%(daily)s %%/day ≈ %(annual)s %%/year") % {"daily": daily, "annual": annual}


def annual_cost_cap() -> Decimal:
    return Decimal(str(settings.LENDING_ANNUAL_COST_CAP))


@dataclass(frozen=True)
class KindLimits:
    """What the seed (DOMAIN.md, the four products) fixes for one kind of product: the segment it
    serves, the range of a line (and of a loan) in fen, and the longest term."""

    label: str
    segment: str
    line_min_fen: int
    line_max_fen: int
    term_max_days: int
    term_max_months: int
    # The kind as a sentence's subject ("an order loan"), in the reader's language.
    named: str = ""


PRODUCT_LIMITS = {
    "order_loan": KindLimits(
        gettext_lazy("order loan"), Product.Segment.B2C, 1, 100_000_000, 30, 1, gettext_lazy("an order loan")
    ),
    "credit_loan": KindLimits(
        gettext_lazy("credit loan"),
        Product.Segment.B2C,
        1,
        100_000_000,
        183,
        6,
        gettext_lazy("a credit loan"),
    ),
    "revolving": KindLimits(
        gettext_lazy("revolving line"),
        Product.Segment.B2B,
        5_000_000,
        100_000_000,
        365,
        12,
        gettext_lazy("a revolving line"),
    ),
    "fixed_loan": KindLimits(
        gettext_lazy("fixed loan"),
        Product.Segment.B2B,
        5_000_000,
        100_000_000,
        365,
        12,
        gettext_lazy("a fixed loan"),
    ),
}


def product_kind(product: Product) -> str:
    """Which of the seed's four products this one is a kind of: pledged on orders, a revolving
    line, or else an unsecured loan of its segment."""
    if product.is_pledged:
        return "order_loan"
    if product.is_revolving:
        return "revolving"
    return "credit_loan" if product.segment == Product.Segment.B2C else "fixed_loan"


def product_worst_loan(
    product: Product, *, daily_rate: Decimal | None = None, from_on: dt.date = CYCLE_FROM_ON
) -> calc.LoanCost:
    """The product's most expensive loan: at its smallest or largest amount, full term, upfront
    fee included, started on the worst day of a whole calendar cycle from from_on; at the
    product's rate or at the one given (a line's)."""
    return _worst_loan(
        product.repayment_method,
        product.term,
        product.daily_rate if daily_rate is None else Decimal(daily_rate),
        Decimal(product.upfront_fee_rate),
        (product.smallest_drawdown_fen, product.amount_max_fen),
        from_on,
    )


@lru_cache(maxsize=4096)
def _worst_loan(
    method: str, term: int, daily_rate: Decimal, fee_rate: Decimal, amounts: tuple[int, ...], from_on: dt.date
) -> calc.LoanCost:
    # Rounding weighs most on the smallest amount, the fee's rounding on either: both ends count.
    loans = [
        calc.worst_start_cost(
            method=method,
            principal_fen=amount,
            daily_rate=daily_rate,
            term=term,
            from_on=from_on,
            upfront_fee_rate=fee_rate,
        )
        for amount in sorted(set(amounts))
    ]
    return max(loans, key=lambda loan: loan.cost.daily_irr)


def product_annual_cost(product: Product) -> calc.AnnualCost:
    """The all-in cost of the product's most expensive loan (product_worst_loan), as an IRR over
    its own repayment period, annualised: the figure the legal cap applies to."""
    return product_worst_loan(product).cost


def _cap_problems(product: Product, *, daily_rate: Decimal, from_on: dt.date) -> list[tuple[str, str]]:
    cap = annual_cost_cap()
    try:
        worst = product_worst_loan(product, daily_rate=daily_rate, from_on=from_on)
    except ValueError as exc:  # a rate so high that no rate of return fits the solver's range
        return [("daily_rate", _("cannot be priced: %(error)s") % {"error": exc})]
    if worst.cost.nominal_apr <= cap:
        return []
    return [
        (
            "daily_rate",
            _(
                "at %(rate)s a loan of %(amount)s yuan started on %(date)s would cost %(cost)s a year "
                "all in (IRR), above the legal cap %(cap)s"
            )
            % {
                "rate": rate_text(daily_rate),
                "amount": format_yuan(worst.principal_fen),
                "date": worst.start_on,
                "cost": f"{worst.cost.nominal_apr:.2%}",
                "cap": f"{cap:.2%}",
            },
        )
    ]


def product_validate(product: Product, *, on: dt.date | None = None) -> None:
    """Everything a product must satisfy before it may be saved: consistent figures, the seed's
    limits for its kind, and the legal cap for a loan started on any day. Every problem is named
    by its field; the message lists them all."""
    problems: list[tuple[str, str]] = []
    if product.repayment_method == RepaymentMethod.BULLET and product.term_unit != Product.TermUnit.DAYS:
        problems.append(("term_unit", _("a bullet loan's term is in days")))
    if product.repayment_method != RepaymentMethod.BULLET and product.term_unit != Product.TermUnit.MONTHS:
        problems.append(("term_unit", _("an installment loan's term is in months")))
    if product.amount_min_fen <= 0 or product.amount_max_fen < product.amount_min_fen:
        problems.append(
            ("amount_max_fen", _("the amounts must be positive and the largest at least the smallest"))
        )
    if product.drawdown_min_fen is not None and not 0 < product.drawdown_min_fen <= product.amount_min_fen:
        problems.append(
            (
                "drawdown_min_fen",
                _("the smallest drawdown must be positive and at most the smallest amount (or blank)"),
            )
        )
    if not 0 <= Decimal(product.upfront_fee_rate) < 1:
        problems.append(("upfront_fee_rate", _("the upfront fee rate must be at least 0 and below 1")))
    if Decimal(product.daily_rate) < 0:
        problems.append(("daily_rate", _("the daily rate must be zero or more")))
    kind_problems = _kind_problems(product)
    # Priced even when other limits are broken, so that one answer names everything; not when the
    # figures make no loan (an over-long term would also take long to price).
    is_priceable = not problems and all(name != "term" for name, _ in kind_problems)
    if sorted(product.allocation_order or []) != sorted(ALLOCATION_BUCKETS):
        problems.append(
            (
                "allocation_order",
                _("the allocation order must list penalty, fee, interest and principal, each once"),
            )
        )
    problems += kind_problems
    if is_priceable:
        rate = Decimal(product.daily_rate)
        problems += _cap_problems(product, daily_rate=rate, from_on=on or CYCLE_FROM_ON)
    if problems:
        fields: dict[str, list[str]] = {}
        for name, problem in problems:
            fields.setdefault(name, []).append(problem)
        raise ApplicationError(_sentences(problem for _name, problem in problems), {"fields": fields})


def _sentences(problems) -> str:
    """A refusal's problems, each a sentence in the reader's language, as one message."""
    return _("; ").join(str(problem) for problem in problems)


def _kind_problems(product: Product) -> list[tuple[str, str]]:
    kind = product_kind(product)
    limits = PRODUCT_LIMITS[kind]
    problems = []
    if product.is_pledged and product.is_revolving:
        problems.append(("is_revolving", _("an order loan is pledged on orders, not a revolving line")))
    if product.segment != limits.segment:
        problems.append(
            (
                "segment",
                _("%(kind)s is a product for %(segment)s")
                % {"kind": limits.named, "segment": Product.Segment(limits.segment).label},
            )
        )
    if product.amount_min_fen < limits.line_min_fen:
        problems.append(
            (
                "amount_min_fen",
                _("%(kind)s starts at %(amount)s yuan")
                % {"kind": limits.named, "amount": format_yuan(limits.line_min_fen)},
            )
        )
    if product.amount_max_fen > limits.line_max_fen:
        problems.append(
            (
                "amount_max_fen",
                _("%(kind)s goes up to %(amount)s yuan")
                % {"kind": limits.named, "amount": format_yuan(limits.line_max_fen)},
            )
        )
    in_days = product.term_unit == Product.TermUnit.DAYS
    longest = limits.term_max_days if in_days else limits.term_max_months
    if product.term > longest:
        if in_days:
            words = ngettext(
                "%(kind)s runs at most %(count)d day", "%(kind)s runs at most %(count)d days", longest
            )
        else:
            words = ngettext(
                "%(kind)s runs at most %(count)d month", "%(kind)s runs at most %(count)d months", longest
            )
        problems.append(("term", words % {"kind": limits.named, "count": longest}))
    return problems


def product_line_check(*, product: Product, limit_fen: int, daily_rate: Decimal) -> None:
    """A line is granted (or given new terms) only within the product's range, which the seed's
    limits for its kind bound too, and at a rate whose all-in cost is within the legal cap for a
    loan started on any day."""
    limits = PRODUCT_LIMITS[product_kind(product)]
    lowest = max(product.amount_min_fen, limits.line_min_fen)
    highest = min(product.amount_max_fen, limits.line_max_fen)
    problems = {}
    if not lowest <= limit_fen <= highest:
        problems["limit_fen"] = [
            _("the line is out of the product's range: %(kind)s takes a line of %(lowest)s–%(highest)s yuan")
            % {"kind": limits.named, "lowest": format_yuan(lowest), "highest": format_yuan(highest)}
        ]
    if daily_rate < 0:
        problems["daily_rate"] = [_("the daily rate must not be negative")]
    else:
        for name, problem in _cap_problems(product, daily_rate=daily_rate, from_on=CYCLE_FROM_ON):
            problems[name] = [problem]
    if problems:
        raise ApplicationError(_sentences(items[0] for items in problems.values()), {"fields": problems})


@transaction.atomic
def product_save(*, product: Product, on: dt.date | None = None) -> Product:
    """Save a product only if it is consistent, within the seed's limits for its kind and within
    the legal cap on the cost of credit for a loan started on any day."""
    if not product.allocation_order:
        product.allocation_order = list(calc.DEFAULT_ALLOCATION_ORDER)
    product_validate(product, on=on)
    product.save()
    return product


SEED_PRODUCTS = [
    # The seed's four products (DOMAIN.md): amounts (the range of a line) in yuan, rates per day.
    {
        "code": "order_loan",
        "name": SEED_PRODUCT_NAMES["order_loan"],
        "segment": "b2c",
        "is_pledged": True,
        "amount_min": 100,
        "amount_max": 1_000_000,
        "term": 30,
        "term_unit": "days",
        "daily_rate": "0.0005",
        "method": RepaymentMethod.BULLET,
    },
    {
        "code": "credit_loan",
        "name": SEED_PRODUCT_NAMES["credit_loan"],
        "segment": "b2c",
        "amount_min": 1_000,
        "amount_max": 1_000_000,
        "term": 6,
        "term_unit": "months",
        "daily_rate": "0.0006",
        "method": RepaymentMethod.EQUAL_INSTALLMENT,
    },
    {
        "code": "revolving",
        "name": SEED_PRODUCT_NAMES["revolving"],
        "segment": "b2b",
        "is_revolving": True,
        # A line of 50,000–1,000,000 yuan, drawn in parts of at least 100 yuan.
        "amount_min": 50_000,
        "amount_max": 1_000_000,
        "drawdown_min": 100,
        "term": 365,
        "term_unit": "days",
        "daily_rate": "0.0006",
        "method": RepaymentMethod.BULLET,
    },
    {
        "code": "fixed_loan",
        "name": SEED_PRODUCT_NAMES["fixed_loan"],
        "segment": "b2b",
        "amount_min": 50_000,
        "amount_max": 1_000_000,
        "term": 12,
        "term_unit": "months",
        "daily_rate": "0.0005",
        "method": RepaymentMethod.MONTHLY_INTEREST,
    },
]


def products_create_seed() -> list[Product]:
    """The four products with the seed's figures; existing codes are left as they are."""
    created = []
    for spec in SEED_PRODUCTS:
        if Product.objects.filter(code=spec["code"]).exists():
            continue
        created.append(
            product_save(
                product=Product(
                    code=spec["code"],
                    name=spec["name"],
                    segment=spec["segment"],
                    is_revolving=spec.get("is_revolving", False),
                    is_pledged=spec.get("is_pledged", False),
                    amount_min_fen=spec["amount_min"] * 100,
                    amount_max_fen=spec["amount_max"] * 100,
                    drawdown_min_fen=spec["drawdown_min"] * 100 if "drawdown_min" in spec else None,
                    term=spec["term"],
                    term_unit=spec["term_unit"],
                    daily_rate=Decimal(spec["daily_rate"]),
                    repayment_method=spec["method"],
                    needs_video_check=spec["segment"] == Product.Segment.B2B,
                )
            )
        )
    return created
