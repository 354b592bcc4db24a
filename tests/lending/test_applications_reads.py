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


@pytest.mark.django_db
def test_the_first_read_brings_the_owner_as_the_runs_locking_read_does():
    """The merchant's owner comes with it (the run reads nothing more of it): the fields a
    stage reads decrypted, the address and bank card left deferred and read when used."""
    from lending.pipeline import OWNER_DEFERRED

    products()
    partner = PartnerPlatformFactory()
    mine = MerchantFactory(partner=partner, external_id="SHOP-1")
    merchant, _ = _submission_read(partner, "SHOP-1", "credit_loan", "k")
    owner = merchant.owner  # cached: no read
    assert merchant.partner is partner
    assert owner.get_deferred_fields() == set(OWNER_DEFERRED)
    expected = mine.owner.__class__.objects.get(pk=mine.owner_id)
    assert _fields(owner) == _fields(expected)  # the deferred ones read as they are used


def _apply(merchant, product, status, *, days_ago: int, reapply_on=None, n: int):
    return Application.objects.create(
        reference=f"A-{n}",
        merchant=merchant,
        product=product,
        channel=Application.Channel.API,
        amount_fen=100,
        status=status,
        reapply_on=reapply_on,
        submitted_on=dt.date(2026, 3, 1),
        submitted_at=timezone.now() - dt.timedelta(days=days_ago),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "history",
    [
        [],
        [("declined", 3, dt.date(2026, 4, 1))],
        [("declined", 5, dt.date(2026, 4, 1)), ("declined", 2, None)],
        [("declined", 2, dt.date(2026, 4, 1)), ("declined", 5, dt.date(2026, 3, 5))],
        [("submitted", 1, None)],
        [("referred", 1, None), ("declined", 4, dt.date(2026, 3, 10))],
        [("approved", 1, None), ("withdrawn", 2, None)],
    ],
)
def test_the_first_read_finds_what_may_apply_reads(history):
    """What the service's _may_apply read (the latest decline's reapply_on, whether one is in
    flight) comes with the first read, equal to the service's own read; another product's and
    another merchant's applications are left out."""
    from lending.services.applications import _prior

    products()
    partner = PartnerPlatformFactory()
    mine = MerchantFactory(partner=partner, external_id="SHOP-1")
    other = MerchantFactory(partner=partner, external_id="SHOP-2")
    credit, order = Product.objects.get(code="credit_loan"), Product.objects.get(code="order_loan")
    n = 0
    for status, days_ago, reapply_on in history:
        for merchant, product in ((mine, credit), (mine, order), (other, credit)):
            n += 1
            _apply(merchant, product, status, days_ago=days_ago, reapply_on=reapply_on, n=n)
            if status in ("submitted", "referred"):
                break  # one open application per merchant and product
    merchant, product = _submission_read(partner, "SHOP-1", "credit_loan", "k")
    assert product.prior == _prior(mine, credit)


@pytest.mark.django_db(transaction=True)
def test_the_first_read_locks_the_merchant_as_the_run_does():
    """Read with FOR NO KEY UPDATE of the merchant (the run's lock, taken earlier): another
    transaction's lock on the merchant waits for it; inserting a row that refers to the
    merchant does not."""
    import threading

    from django.db import OperationalError, connection, transaction

    if not connection.features.has_select_for_update_of:
        pytest.skip("SQLite has no row locks: one writer at a time")
    products()
    partner = PartnerPlatformFactory()
    mine = MerchantFactory(partner=partner, external_id="SHOP-1")
    from merchants.models import Merchant

    seen = {}

    def other():
        from django.db import connections

        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                try:
                    with transaction.atomic():
                        list(Merchant.objects.select_for_update(no_key=True).filter(pk=mine.pk))
                    seen["locked"] = False
                except OperationalError as exc:  # the lock's wait ran out
                    seen["locked"] = "lock" in str(exc)
        finally:
            connections.close_all()

    with transaction.atomic():
        _submission_read(partner, "SHOP-1", "credit_loan", "k")
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen["locked"] is True
