"""The application's first read in SQL (lending.api.applications._submission_read) finds what the
ORM's reads find: the partner's merchant (merchants.selectors.merchant_get), the product with the
application an Idempotency-Key made, and the business date (business_date_today), and the same
refusals when the merchant or the product is unknown."""

import datetime as dt

import pytest
from django.db.models import Subquery
from django.utils import timezone

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError, NotFoundError
from common.models import BusinessCalendar
from lending.api.applications import _submission_read
from lending.models import Application, Product
from merchants import selectors
from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory
from tests.scoring.factories import products


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _by_orm(partner, external_id: str, code: str, key: str):
    merchant = selectors.merchant_get(partner=partner, external_id=external_id)
    product = (
        Product.objects.filter(code=code)
        .annotate(
            keyed_application_id=Subquery(Application.objects.filter(idempotency_key=key).values("pk")[:1])
        )
        .first()
    )
    return merchant, product, business_date_today()


@pytest.mark.django_db
@pytest.mark.parametrize("keyed", [False, True])
@pytest.mark.parametrize("calendar", [False, True])
def test_the_first_read_finds_what_the_orm_finds(keyed, calendar):
    products()
    if calendar:
        business_date_set(on=dt.date(2026, 3, 1), allow_backwards=True)
    else:
        BusinessCalendar.objects.all().delete()
    partner, other = PartnerPlatformFactory(), PartnerPlatformFactory()
    mine = MerchantFactory(partner=partner, external_id="SHOP-1")
    MerchantFactory(partner=other, external_id="SHOP-1")  # the same id at another partner
    MerchantFactory(partner=partner, external_id="SHOP-2")
    if keyed:
        Application.objects.create(
            reference="A-KEYED",
            merchant=mine,
            product=Product.objects.get(code="credit_loan"),
            channel=Application.Channel.API,
            idempotency_key="key-1",
            amount_fen=100,
            submitted_on=dt.date(2026, 3, 1),
            submitted_at=timezone.now(),
        )

    merchant, product = _submission_read(partner, "SHOP-1", "credit_loan", "key-1")
    orm_merchant, orm_product, orm_on = _by_orm(partner, "SHOP-1", "credit_loan", "key-1")

    assert _fields(merchant) == _fields(orm_merchant)
    assert not merchant._state.adding and merchant._state.db == orm_merchant._state.db
    assert _fields(product) == _fields(orm_product)
    assert product.keyed_application_id == orm_product.keyed_application_id
    assert (product.keyed_application_id is not None) is keyed
    assert product.business_on == orm_on


@pytest.mark.django_db
def test_an_unknown_merchant_or_product_is_refused_as_the_orm_reads_refuse_it():
    products()
    partner, other = PartnerPlatformFactory(), PartnerPlatformFactory()
    MerchantFactory(partner=other, external_id="THEIRS")
    MerchantFactory(partner=partner, external_id="MINE")
    for unknown in ("NOBODY", "THEIRS"):
        with pytest.raises(NotFoundError) as refused:
            _submission_read(partner, unknown, "credit_loan", "k")
        with pytest.raises(NotFoundError) as by_orm:
            selectors.merchant_get(partner=partner, external_id=unknown)
        assert refused.value.message == by_orm.value.message
        assert refused.value.extra == {"fields": {"merchant": [by_orm.value.message]}}
    # The merchant is named before the product, as the reads ran in that order.
    with pytest.raises(NotFoundError):
        _submission_read(partner, "NOBODY", "no_such_product", "k")
    with pytest.raises(ApplicationError) as no_product:
        _submission_read(partner, "MINE", "no_such_product", "k")
    assert no_product.value.extra == {"fields": {"product": ["no product 'no_such_product'"]}}
