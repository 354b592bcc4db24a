from rest_framework import serializers

from common.api_fields import PastDateField, StrictCharField, StrictIntegerField, StrictSerializer, YuanField
from common.money import fen_to_yuan
from payments.models import Account, Posting

# The orders one settlement may cover: far more than a shop settles in a day, and within the
# column (a PostgreSQL integer).
MAX_ORDER_COUNT = 10_000_000


class SettlementInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text="the partner's id of the settlement")
    merchant_id = StrictCharField(max_length=64)
    amount = YuanField(help_text='yuan, as a string: "1234.50"')
    settled_on = PastDateField()
    order_count = StrictIntegerField(min_value=0, max_value=MAX_ORDER_COUNT, default=0)


class SettlementOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    merchant_id = serializers.CharField()
    amount = YuanField()
    settled_on = serializers.DateField()
    journal_entry = serializers.IntegerField()
    replayed = serializers.BooleanField(help_text="true when this key was seen before and nothing moved")


class MovementSerializer(serializers.ModelSerializer):
    entry = serializers.IntegerField(source="entry_id")
    kind = serializers.CharField(source="entry.kind")
    reference = serializers.CharField(source="entry.reference_text")
    business_on = serializers.DateField(source="entry.business_on")
    amount = serializers.SerializerMethodField(help_text="signed yuan: positive into the wallet")

    class Meta:
        model = Posting
        fields = ["entry", "kind", "reference", "business_on", "amount"]

    def get_amount(self, posting) -> str:
        # A wallet is a liability: a credit (negative posting) is money coming in.
        return str(fen_to_yuan(-posting.amount_fen))


class WalletOutputSerializer(serializers.ModelSerializer):
    merchant_id = serializers.CharField(source="merchant.external_id")
    balance = YuanField(source="balance_fen", allow_zero=True)
    held = YuanField(source="held_fen", allow_zero=True)
    available = YuanField(source="available_fen", allow_zero=True)

    class Meta:
        model = Account
        fields = ["merchant_id", "balance", "held", "available"]
