import datetime as dt

import factory
from django.utils import timezone

from common.crypto import blind_index
from merchants.models import ALL_SCOPES, ApiKey, Merchant, Order, OrderStatus, Owner, PartnerPlatform
from merchants.services import MerchantData, OrderData, OwnerData, _merchant_hash


class PartnerPlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerPlatform
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"partner{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = PartnerPlatform.Kind.B2C

    class Params:
        b2b = factory.Trait(kind=PartnerPlatform.Kind.B2B)


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey
        exclude = ("raw_key",)

    partner = factory.SubFactory(PartnerPlatformFactory)
    name = "test key"
    raw_key = factory.Sequence(lambda n: f"xd_k{n:07d}_" + "x" * 40)
    prefix = factory.LazyAttribute(lambda o: o.raw_key.split("_")[1])
    digest = factory.LazyAttribute(lambda o: ApiKey.digest_of(o.raw_key))
    scopes = factory.LazyFunction(lambda: list(ALL_SCOPES))
    signing_secret = "test-signing-secret"

    class Params:
        revoked = factory.Trait(revoked_at=factory.LazyFunction(timezone.now))


def national_id(n: int) -> str:
    """A valid 18-digit ID number (ISO 7064 MOD 11-2 check digit)."""
    # The district code moves on every thousand, so ids stay distinct past 1,000 owners (bench/).
    body = f"3301{(6 + n // 1000) % 100:02d}199{n % 10}0101{n % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


class OwnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Owner

    partner = factory.SubFactory(PartnerPlatformFactory)
    name = factory.Sequence(lambda n: f"张{n}")
    national_id = factory.Sequence(national_id)
    national_id_index = factory.LazyAttribute(lambda o: blind_index(o.national_id))
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    address = factory.Sequence(lambda n: f"杭州市西湖区文三路{n}号")
    bank_card = factory.Sequence(lambda n: f"6222{n:012d}")
    bank_card_index = factory.LazyAttribute(lambda o: blind_index(o.bank_card))


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    partner = factory.SubFactory(PartnerPlatformFactory)
    external_id = factory.Sequence(lambda n: f"M{n:05d}")
    owner = factory.SubFactory(OwnerFactory, partner=factory.SelfAttribute("..partner"))
    shop_name = factory.Sequence(lambda n: f"小店{n}")
    category = "服装"
    region = "浙江"
    opened_on = dt.date(2020, 1, 1)
    content_hash = factory.LazyAttribute(
        lambda o: _merchant_hash(
            MerchantData(
                external_id=o.external_id,
                shop_name=o.shop_name,
                category=o.category,
                region=o.region,
                opened_on=o.opened_on,
                owner=OwnerData(
                    name=o.owner.name,
                    national_id=o.owner.national_id,
                    phone=o.owner.phone,
                    address=o.owner.address,
                    bank_card=o.owner.bank_card,
                ),
            )
        )
    )

    class Params:
        restricted = factory.Trait(status=Merchant.Status.RESTRICTED)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    merchant = factory.SubFactory(MerchantFactory)
    partner = factory.SelfAttribute("merchant.partner")
    external_id = factory.Sequence(lambda n: f"O{n:07d}")
    buyer_ref = "buyer-1"
    amount_fen = 12_345
    status = OrderStatus.PLACED
    placed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    content_hash = factory.LazyAttribute(
        lambda o: OrderData(
            external_id=o.external_id,
            merchant_external_id=o.merchant.external_id,
            buyer_ref=o.buyer_ref,
            amount_fen=o.amount_fen,
            placed_at=o.placed_at,
        ).identity_hash()
    )

    class Params:
        shipped = factory.Trait(
            status=OrderStatus.SHIPPED,
            paid_at=factory.LazyAttribute(lambda o: o.placed_at + dt.timedelta(minutes=5)),
            shipped_at=factory.LazyAttribute(lambda o: o.placed_at + dt.timedelta(days=1)),
        )
