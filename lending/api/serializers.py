from rest_framework import serializers

from common.api_fields import YuanField

RATE_HELP = "a decimal string: 0.0005 is 0.05 % a day"


class LineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    merchant_id = serializers.CharField(source="merchant.external_id")
    product = serializers.CharField(source="product.code")
    product_name = serializers.CharField(source="product.name")
    status = serializers.CharField()
    grade = serializers.CharField()
    limit = YuanField(source="limit_fen", allow_zero=True)
    used = YuanField(source="used_fen", allow_zero=True)
    available = YuanField(source="available_fen", allow_zero=True)
    drawdown_min = YuanField(source="drawdown_min_fen", help_text="the smallest single drawdown")
    daily_rate = serializers.CharField(help_text=RATE_HELP)
    annual_rate = serializers.CharField(help_text="daily rate × 365, simple; a decimal string")
    rate_display = serializers.CharField(help_text="both rates for a screen")
    opened_on = serializers.DateField()
    expires_on = serializers.DateField()


class QuoteInputSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1)
    amount = YuanField(help_text='yuan, as a string: "50000.00"')


class ScheduleItemSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    principal = YuanField(source="principal_fen", allow_zero=True)
    interest = YuanField(source="interest_fen", allow_zero=True)
    total = YuanField(source="total_fen", allow_zero=True)


class QuoteOutputSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    amount = YuanField()
    fee = YuanField(allow_zero=True, help_text="deducted from the wallet at drawdown")
    daily_rate = serializers.CharField(help_text=RATE_HELP)
    annual_rate = serializers.CharField(help_text="daily rate × 365, simple")
    annual_cost = serializers.CharField(help_text="all-in annual cost (IRR, nominal), e.g. 0.2190")
    total_interest = YuanField(allow_zero=True)
    total_cost = YuanField(allow_zero=True, help_text="interest plus fee")
    start_on = serializers.DateField()
    maturity_on = serializers.DateField()
    schedule = ScheduleItemSerializer(many=True)
    contract_text = serializers.CharField(help_text="the agreement; show it to the merchant in full")
    contract_sha256 = serializers.CharField(help_text="send it back with the drawdown to accept this text")


class DrawInputSerializer(serializers.Serializer):
    line_id = serializers.IntegerField(min_value=1)
    amount = YuanField()
    contract_sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$", help_text="the quote's contract_sha256: the agreement the merchant accepted"
    )


class InstallmentOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    principal = YuanField(source="principal_fen", allow_zero=True)
    interest = YuanField(source="interest_fen", allow_zero=True)
    paid_principal = YuanField(source="paid_principal_fen", allow_zero=True)
    paid_interest = YuanField(source="paid_interest_fen", allow_zero=True)
    paid_on = serializers.DateField(allow_null=True)


class OwedSerializer(serializers.Serializer):
    penalty = YuanField(allow_zero=True)
    fee = YuanField(allow_zero=True)
    interest = YuanField(allow_zero=True)
    principal = YuanField(allow_zero=True)
    total = YuanField(allow_zero=True, help_text="what settles the loan today")


class LoanOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    merchant_id = serializers.CharField(source="merchant.external_id")
    line_id = serializers.IntegerField(allow_null=True)
    product = serializers.CharField(source="product.code")
    status = serializers.CharField()
    classification = serializers.CharField()
    principal = YuanField(source="principal_fen", help_text="as drawn")
    fee = YuanField(source="fee_fen", allow_zero=True)
    daily_rate = serializers.CharField(help_text=RATE_HELP)
    annual_rate = serializers.CharField()
    disbursed_on = serializers.DateField()
    maturity_on = serializers.DateField()
    next_due_on = serializers.DateField(allow_null=True)
    days_past_due = serializers.IntegerField()
    paid_total = YuanField(source="paid_total_fen", allow_zero=True)
    owed = OwedSerializer(help_text="what it would take to settle the loan now")
    schedule = InstallmentOutputSerializer(many=True, help_text="planned and paid, by installment")
    contract_sha256 = serializers.CharField(allow_null=True)


class RepayInputSerializer(serializers.Serializer):
    amount = YuanField(required=False, help_text="omit to repay everything owed now")


class RepaymentOutputSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="the loan's reference")
    business_on = serializers.DateField()
    amount = YuanField(allow_zero=True, help_text="taken from the wallet")
    principal = YuanField(allow_zero=True)
    interest = YuanField(allow_zero=True)
    penalty = YuanField(allow_zero=True)
    fee = YuanField(allow_zero=True)
    journal_entry = serializers.IntegerField(allow_null=True)
    replayed = serializers.BooleanField(help_text="true when this key was seen before and nothing moved")
    loan = LoanOutputSerializer()
