"""Products: configured by an admin, refused when their all-in cost is over the legal cap."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from common.errors import ApplicationError
from common.money import round_half_up
from lending import calculations as calc
from lending.models import Product, RepaymentMethod

ALLOCATION_BUCKETS = ("penalty", "fee", "interest", "principal")


def annual_cost_cap() -> Decimal:
    return Decimal(str(settings.LENDING_ANNUAL_COST_CAP))


def product_annual_cost(product: Product) -> calc.AnnualCost:
    """The all-in cost of a typical loan of the product (its largest amount, full term, upfront
    fee included), as an IRR over the product's own repayment period, annualised."""
    start = dt.date(2025, 1, 1)  # any date: the cost depends on the term, not the calendar
    principal = product.amount_max_fen
    schedule = calc.build_schedule(
        product.repayment_method,
        principal_fen=principal,
        daily_rate=product.daily_rate,
        start_on=start,
        term=product.term,
    )
    fee = round_half_up(principal * product.upfront_fee_rate)
    flows = calc.loan_cash_flows(net_disbursed_fen=principal - fee, start_on=start, installments=schedule)
    period = product.term if product.repayment_method == RepaymentMethod.BULLET else calc.DAYS_PER_PERIOD
    return calc.annual_cost(flows, period_days=min(period, calc.DAYS_PER_YEAR))


def product_validate(product: Product) -> None:
    """Everything a product must satisfy before it may be saved; errors name the field."""
    errors: dict[str, list[str]] = {}
    order = list(product.allocation_order or [])
    if sorted(order) != sorted(ALLOCATION_BUCKETS):
        errors["allocation_order"] = [f"must list each of {', '.join(ALLOCATION_BUCKETS)} once"]
    if product.repayment_method == RepaymentMethod.BULLET and product.term_unit != Product.TermUnit.DAYS:
        errors["term_unit"] = ["a bullet loan's term is in days"]
    if product.repayment_method != RepaymentMethod.BULLET and product.term_unit != Product.TermUnit.MONTHS:
        errors["term_unit"] = ["an installment loan's term is in months"]
    if product.amount_min_fen <= 0 or product.amount_max_fen < product.amount_min_fen:
        errors["amount_max_fen"] = ["the range must be positive and max ≥ min"]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], {"fields": errors})
    cost = product_annual_cost(product)
    cap = annual_cost_cap()
    if cost.nominal_apr > cap:
        raise ApplicationError(
            f"the all-in annual cost {cost.nominal_apr:.2%} is above the legal cap {cap:.2%}",
            {"fields": {"daily_rate": [f"annual cost {cost.nominal_apr:.2%} exceeds the cap {cap:.2%}"]}},
        )


@transaction.atomic
def product_save(*, product: Product) -> Product:
    """Save a product only if it is consistent and within the legal cap on the cost of credit."""
    if not product.allocation_order:
        product.allocation_order = list(calc.DEFAULT_ALLOCATION_ORDER)
    product_validate(product)
    product.save()
    return product


SEED_PRODUCTS = [
    # The seed's four products (DOMAIN.md): amounts in yuan, rates per day.
    {
        "code": "order_loan",
        "name": "Order loan 订单贷款",
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
        "name": "Credit loan 信用贷款",
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
        "name": "Revolving credit line 循环贷",
        "segment": "b2b",
        "is_revolving": True,
        "amount_min": 100,
        "amount_max": 1_000_000,
        "term": 365,
        "term_unit": "days",
        "daily_rate": "0.0006",
        "method": RepaymentMethod.BULLET,
    },
    {
        "code": "fixed_loan",
        "name": "Fixed loan 固定贷",
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
                    term=spec["term"],
                    term_unit=spec["term_unit"],
                    daily_rate=Decimal(spec["daily_rate"]),
                    repayment_method=spec["method"],
                )
            )
        )
    return created
