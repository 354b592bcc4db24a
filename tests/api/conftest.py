"""A small world for hostile-input tests of the partner API: two partners with a key each;
partner A has a merchant with a credit line, a loan drawn on it, shipped orders, a settlement and
an application; partner B has a merchant of its own."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from common.business_date import business_date_set, business_date_today
from lending import services as lending
from merchants.models import OrderStatus
from payments import services as payments
from scoring.features import FEATURES_VERSION
from scoring.models import FeatureSnapshot
from scoring.selectors import policy_get
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, OrderFactory, PartnerPlatformFactory
from tests.scoring.factories import champion_create, features, products

TODAY = dt.date(2026, 3, 1)
KEY_A = "xd_partnera_" + "a" * 40
KEY_B = "xd_partnerb_" + "b" * 40


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


class World:
    """What the world fixture made, by name."""

    def __init__(self, **items):
        self.__dict__.update(items)


def world_build() -> World:
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    partner_a = PartnerPlatformFactory(code="partnera")
    partner_b = PartnerPlatformFactory(code="partnerb")
    ApiKeyFactory(partner=partner_a, raw_key=KEY_A)
    ApiKeyFactory(partner=partner_b, raw_key=KEY_B)
    shop_a = MerchantFactory(partner=partner_a, external_id="SHOP-A")
    shop_b = MerchantFactory(partner=partner_b, external_id="SHOP-B")
    for merchant in (shop_a, shop_b):
        FeatureSnapshot.objects.create(
            merchant=merchant,
            as_of=TODAY,
            version=FEATURES_VERSION,
            features=features(gmv=90_000.0, refund=0.01),
        )
    orders = [
        OrderFactory(merchant=shop_a, external_id=f"ORD-A{i}", shipped=True, amount_fen=500_000)
        for i in range(3)
    ]
    OrderFactory(merchant=shop_b, external_id="ORD-B0", status=OrderStatus.PLACED)
    line = CreditLineFactory(merchant=shop_a, product=ProductFactory(credit_loan=True), limit_fen=10_000_000)
    quote = lending.loan_quote(line=line, amount_fen=1_000_000, start_on=business_date_today())
    loan = lending.loan_draw(
        line=line,
        amount_fen=1_000_000,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="world-draw",
        via="test",
        on=business_date_today(),
    )
    return World(
        pool=pool,
        partner_a=partner_a,
        partner_b=partner_b,
        shop_a=shop_a,
        shop_b=shop_b,
        orders=orders,
        line=line,
        loan=loan,
        contract_sha256=quote.contract_sha256,
    )


@pytest.fixture
def world(db):
    return world_build()


@pytest.fixture
def client_a(world) -> APIClient:
    return client_for(KEY_A)


@pytest.fixture
def client_b(world) -> APIClient:
    return client_for(KEY_B)
