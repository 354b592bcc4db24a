import datetime as dt
from decimal import Decimal

import factory

from lending.models import CreditLine, Product, RepaymentMethod
from tests.merchants.factories import MerchantFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = "revolving"
    name = "Revolving credit line"
    segment = Product.Segment.B2B
    is_revolving = True
    amount_min_fen = 10_000
    amount_max_fen = 100_000_000
    term = 365
    term_unit = Product.TermUnit.DAYS
    daily_rate = Decimal("0.0006")
    repayment_method = RepaymentMethod.BULLET
    allocation_order = ["penalty", "fee", "interest", "principal"]

    class Params:
        credit_loan = factory.Trait(
            code="credit_loan",
            name="Credit loan",
            segment=Product.Segment.B2C,
            is_revolving=False,
            term=6,
            term_unit=Product.TermUnit.MONTHS,
            repayment_method=RepaymentMethod.EQUAL_INSTALLMENT,
        )


class CreditLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditLine

    merchant = factory.SubFactory(MerchantFactory)
    product = factory.SubFactory(ProductFactory)
    limit_fen = 10_000_000
    daily_rate = factory.SelfAttribute("product.daily_rate")
    grade = "B"
    opened_on = dt.date(2026, 1, 1)
    expires_on = dt.date(2099, 12, 31)
