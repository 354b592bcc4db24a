from django.conf import settings
from rest_framework import serializers

from common.api_fields import (
    PastDateField,
    PastDateTimeField,
    StrictCharField,
    StrictRegexField,
    StrictSerializer,
    YuanField,
)
from merchants.models import (
    ORDER_STATUS_TIMESTAMP,
    ORDER_TRANSITIONS,
    Merchant,
    MerchantCategory,
    Order,
    OrderStatus,
    Region,
)
from merchants.services import MerchantData, OrderData, OwnerData


def _reachable_from(status: str) -> set[str]:
    seen, todo = {status}, [status]
    while todo:
        for nxt in ORDER_TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# For each status, the statuses an order can have passed through on its way there.
_CAN_PRECEDE = {
    target: {s for s in OrderStatus.values if target in _reachable_from(s)} for target in OrderStatus.values
}


class OwnerInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    national_id = StrictRegexField(
        r"^[0-9]{17}[0-9Xx]$",
        max_length=18,
        error_messages={"invalid": "must be an 18-character national ID number"},
    )
    phone = StrictRegexField(
        r"^\+?[0-9]{6,15}$", max_length=16, error_messages={"invalid": "must be digits, 6 to 15"}
    )
    address = StrictCharField(max_length=200)
    bank_card = StrictRegexField(
        r"^([0-9]{12,19})?$",
        max_length=19,
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text='optional: the card the owner is paid to; leave it out (or send "" or null) when unknown',
        error_messages={"invalid": "must be 12 to 19 digits"},
    )

    def validate_bank_card(self, value):
        return value or ""


CATEGORY_HELP = (
    "a code the pages show in the reader's language ("
    + ", ".join(MerchantCategory.values)
    + "); another value is kept and shown as sent"
)
REGION_HELP = (
    "a code the pages show in the reader's language ("
    + ", ".join(Region.values)
    + "); another value is kept and shown as sent"
)


class MerchantInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text="the partner's id of the merchant")
    shop_name = StrictCharField(max_length=200)
    category = StrictCharField(max_length=50, help_text=CATEGORY_HELP)
    region = StrictCharField(max_length=50, help_text=REGION_HELP)
    opened_on = PastDateField()
    owner = OwnerInputSerializer()

    def to_data(self) -> MerchantData:
        v = self.validated_data
        return MerchantData(
            external_id=v["id"],
            shop_name=v["shop_name"],
            category=v["category"],
            region=v["region"],
            opened_on=v["opened_on"],
            owner=OwnerData(**v["owner"]),
        )


class MerchantOutputSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id")
    owner_name = serializers.CharField(
        source="owner.name_masked", help_text="masked: the family name, then a star"
    )
    owner_national_id = serializers.CharField(source="owner.national_id_masked", help_text="masked")
    # As the partner sent them: a code the pages translate, or another value kept as sent.
    category = serializers.CharField(help_text=CATEGORY_HELP)
    region = serializers.CharField(help_text=REGION_HELP)

    class Meta:
        model = Merchant
        fields = [
            "id",
            "shop_name",
            "category",
            "region",
            "opened_on",
            "status",
            "owner_name",
            "owner_national_id",
            "created_at",
        ]


class OrderInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text="the partner's id of the order")
    merchant_id = StrictCharField(max_length=64, help_text="the selling merchant's id")
    buyer_id = StrictCharField(max_length=64)
    buyer_merchant_id = StrictCharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="the buying merchant's id, when the buyer is a merchant here",
    )
    amount = YuanField(help_text='yuan, as a string: "1234.50"')
    status = serializers.ChoiceField(choices=OrderStatus.choices, default=OrderStatus.PLACED)
    placed_at = PastDateTimeField()
    paid_at = PastDateTimeField(required=False, allow_null=True, default=None)
    shipped_at = PastDateTimeField(required=False, allow_null=True, default=None)
    delivered_at = PastDateTimeField(required=False, allow_null=True, default=None)
    settled_at = PastDateTimeField(required=False, allow_null=True, default=None)
    refunded_at = PastDateTimeField(required=False, allow_null=True, default=None)
    disputed_at = PastDateTimeField(required=False, allow_null=True, default=None)
    cancelled_at = PastDateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        status = attrs["status"]
        errors = {}
        stamp = ORDER_STATUS_TIMESTAMP.get(status)
        if stamp and attrs.get(stamp) is None:
            errors[stamp] = [f"required when status is {status}"]
        for other, column in ORDER_STATUS_TIMESTAMP.items():
            at = attrs.get(column)
            if at is None:
                continue
            if other != status and other not in _CAN_PRECEDE[status]:
                errors[column] = [f"an order that is {status} cannot have been {other}"]
            elif at < attrs["placed_at"]:
                errors[column] = ["earlier than placed_at"]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    @staticmethod
    def to_data(v) -> OrderData:
        return OrderData(
            external_id=v["id"],
            merchant_external_id=v["merchant_id"],
            buyer_ref=v["buyer_id"],
            buyer_merchant_external_id=v["buyer_merchant_id"],
            amount_fen=v["amount"],
            placed_at=v["placed_at"],
            status=v["status"],
            status_times={s: v[c] for s, c in ORDER_STATUS_TIMESTAMP.items() if v.get(c) is not None},
        )


class OrderBatchInputSerializer(StrictSerializer):
    orders = OrderInputSerializer(many=True, allow_empty=False)

    def validate_orders(self, value):
        limit = settings.PARTNER_API_MAX_BATCH
        if len(value) > limit:
            raise serializers.ValidationError(f"at most {limit} orders per batch; this one has {len(value)}")
        return value

    def to_internal_value(self, data):
        # Refuse an oversize batch before validating thousands of rows.
        limit = settings.PARTNER_API_MAX_BATCH
        if isinstance(data, dict) and isinstance(data.get("orders"), list) and len(data["orders"]) > limit:
            raise serializers.ValidationError(
                {"orders": [f"at most {limit} orders per batch; this one has {len(data['orders'])}"]}
            )
        return super().to_internal_value(data)


class OrderStatusInputSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    at = PastDateTimeField(help_text="when the order entered the status")


class OrderOutputSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="external_id")
    merchant_id = serializers.CharField(source="merchant.external_id")
    buyer_id = serializers.CharField(source="buyer_ref")
    amount = YuanField(source="amount_fen")

    class Meta:
        model = Order
        fields = [
            "id",
            "merchant_id",
            "buyer_id",
            "amount",
            "status",
            "placed_at",
            "paid_at",
            "shipped_at",
            "delivered_at",
            "settled_at",
            "refunded_at",
            "disputed_at",
            "cancelled_at",
        ]


class OrderBatchOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    advanced = serializers.IntegerField(help_text="orders resent with a later status and moved on")
