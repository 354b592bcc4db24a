import copy
import re
from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from common.api_fields import (
    UNKNOWN_NAME_SHOWN,
    UNKNOWN_NAMES_NAMED,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
    StrictSerializer,
    YuanField,
)

RATE_HELP = "a decimal string: 0.0005 is 0.05 % a day"


class LineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    merchant_id = serializers.CharField(source="merchant.external_id")
    product = serializers.CharField(source="product.code")
    product_name = serializers.CharField(source="product.label")
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


class QuoteInputSerializer(StrictSerializer):
    line_id = StrictIntegerField(min_value=1)
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


class DrawInputSerializer(StrictSerializer):
    line_id = StrictIntegerField(min_value=1)
    amount = YuanField()
    contract_sha256 = StrictRegexField(
        r"^[0-9a-f]{64}$",
        max_length=64,
        help_text="the quote's contract_sha256: the agreement the merchant accepted",
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


class RepayInputSerializer(StrictSerializer):
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


# --- Applications ------------------------------------------------------------------------------


_FRACTION_TEXT = re.compile(r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,8})?")


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,8})?$",
        "maxLength": 14,
        "example": "0.08",
    }
)
class FractionField(serializers.Field):
    """A fraction sent as a decimal string ("0.08" is 8 %): ASCII digits, at most eight
    decimals, never a number, within [low, high]."""

    default_error_messages = {
        "invalid": 'must be a decimal string such as "0.08" (ASCII digits, at most eight decimals)',
        "range": "between {low} and {high}",
    }

    def __init__(self, *, low: Decimal, high: Decimal, **kwargs):
        self.low, self.high = low, high
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str) or len(data) > 14 or not _FRACTION_TEXT.fullmatch(data):
            self.fail("invalid")
        number = Decimal(data)
        if not self.low <= number <= self.high:
            self.fail("range", low=self.low, high=self.high)
        return str(number)

    def to_representation(self, value) -> str:
        return str(value)


class DeclaredInputSerializer(StrictSerializer):
    """What a B2B member declares (required for B2B products, ignored for the others): money in
    yuan as strings, fractions as strings."""

    fiscal_year = StrictIntegerField(min_value=1990, max_value=2100, required=False)
    sales = YuanField(
        required=False,
        allow_zero=True,
        max_fen=settings.API_MAX_DECLARED_FEN,
        help_text="a year's sales, yuan",
    )
    net_profit_margin = FractionField(low=Decimal(-1), high=Decimal(1), required=False)
    total_assets = YuanField(required=False, allow_zero=True, max_fen=settings.API_MAX_DECLARED_FEN)
    total_liabilities = YuanField(required=False, allow_zero=True, max_fen=settings.API_MAX_DECLARED_FEN)
    platform_sales_share = FractionField(
        low=Decimal(0), high=Decimal(1), required=False, help_text="the share of sales made on the platform"
    )


# The services' names of the declared figures, as the partner sends them.
DECLARED_API_NAMES = {
    "fiscal_year": "fiscal_year",
    "sales_fen": "sales",
    "net_profit_margin": "net_profit_margin",
    "total_assets_fen": "total_assets",
    "total_liabilities_fen": "total_liabilities",
    "platform_sales_share": "platform_sales_share",
}


def declared_for_service(data: dict | None) -> dict | None:
    """The parsed declared figures under the service's names (fen for money)."""
    if data is None:
        return None
    return {name: data[api] for name, api in DECLARED_API_NAMES.items() if api in data}


_QUESTION_CODE = re.compile(r"[a-z0-9_]{1,40}")
ORDERS_HELP = "order loans: the partner's ids of the merchant's shipped orders to pledge"


class ApplicationQuoteInputSerializer(StrictSerializer):
    merchant = StrictCharField(max_length=64, help_text="the partner's id of its merchant")
    product = StrictCharField(max_length=30, help_text="a product code: order_loan, credit_loan, …")
    amount = YuanField(help_text='yuan, as a string: "20000.00"')
    orders = serializers.ListField(
        child=StrictCharField(max_length=64), required=False, max_length=500, help_text=ORDERS_HELP
    )


class ApplicationQuoteOutputSerializer(serializers.Serializer):
    merchant = serializers.CharField()
    product = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=["pass", "refer", "decline"],
        help_text="what the machine stages would decide now: pass (instant), refer (a person decides: "
        "B2B products), decline",
    )
    reasons = serializers.ListField(child=serializers.DictField(), help_text="[{code, text}] in plain words")
    limit = YuanField(allow_zero=True, help_text="the line the stages would grant")
    daily_rate = serializers.CharField(allow_null=True, help_text=RATE_HELP)
    annual_rate = serializers.CharField(allow_null=True)
    grade = serializers.CharField(allow_blank=True)
    term = serializers.IntegerField(allow_null=True, help_text="in the product's term unit")
    amount = YuanField(allow_null=True, help_text="what the agreement lends: at most the limit")
    fee = YuanField(allow_zero=True, allow_null=True)
    annual_cost = serializers.CharField(allow_null=True, help_text="all-in annual cost (IRR, nominal)")
    total_interest = YuanField(allow_zero=True, allow_null=True)
    total_cost = YuanField(allow_zero=True, allow_null=True)
    start_on = serializers.DateField(allow_null=True)
    maturity_on = serializers.DateField(allow_null=True)
    schedule = ScheduleItemSerializer(many=True)
    contract_text = serializers.CharField(allow_null=True, help_text="the agreement; show it in full")
    contract_sha256 = serializers.CharField(
        allow_null=True, help_text="send it as accepted_sha256 with the application to accept this text"
    )


class ApplicationInputSerializer(ApplicationQuoteInputSerializer):
    declared = DeclaredInputSerializer(required=False, help_text="B2B products: the member's figures")
    questionnaire = serializers.DictField(
        child=StrictIntegerField(min_value=1, max_value=5),
        required=False,
        help_text="B2B products: each question's code and an answer from 1 to 5",
    )
    accepted_sha256 = StrictRegexField(
        r"^[0-9a-f]{64}$",
        max_length=64,
        required=False,
        help_text="instant products: the quote's contract_sha256; with it the loan is paid out on approval",
    )
    device = StrictCharField(
        min_length=8,
        max_length=200,
        required=False,
        help_text="your fingerprint of the device the merchant applies from (as /devices/ takes it); "
        "we keep only a keyed digest. Shops applying from one device are linked and counted together",
    )

    def get_fields(self):
        """The declared fields, each copied for this instance as DRF copies them, but for a
        request body only those it can use: the required ones and the optional ones the body
        sends (an optional field the body leaves out is skipped by validation all the same, and
        copying the B2B product's nested fields for every instant application cost more than
        validating the body). Without a body (the schema, a reply), all of them."""
        data = getattr(self, "initial_data", None)
        if type(data) is not dict:
            return super().get_fields()
        return {
            name: copy.deepcopy(field)
            for name, field in self._declared_fields.items()
            if field.required or name in data or field.default is not empty
        }

    def validate_questionnaire(self, value):
        """Each answer to a question of the questionnaire: a code it does not have (a typo, a
        question of another version) is refused naming it (`questionnaire.q99`), as an unknown
        name of the body is, never dropped."""
        from merchants.questionnaire import QUESTION_CODES

        unknown = {}
        for code in value:
            if not _QUESTION_CODE.fullmatch(code):
                shown = code if len(code) <= UNKNOWN_NAME_SHOWN else code[:UNKNOWN_NAME_SHOWN] + "…"
                unknown[shown] = [f"{code[:40]!r} is not a question code"]
            elif code not in QUESTION_CODES:
                unknown[code] = [f"{code} is not a question of this questionnaire"]
            if len(unknown) >= UNKNOWN_NAMES_NAMED:
                break
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class ApplicationStageOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="the stage's dotted path")
    title = serializers.CharField()
    kind = serializers.CharField(help_text="machine or human")
    status = serializers.CharField(help_text="running, waiting, passed, declined, skipped, cancelled")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    reasons = serializers.ListField(child=serializers.DictField())


class ApplicationDecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["pending", "approved", "declined", "withdrawn"],
        help_text="pending while machines or people decide",
    )
    reasons = serializers.ListField(child=serializers.DictField(), help_text="[{code, text}] in plain words")
    limit = YuanField(allow_null=True, allow_zero=True)
    daily_rate = serializers.CharField(allow_null=True, help_text=RATE_HELP)
    annual_rate = serializers.CharField(allow_null=True)
    grade = serializers.CharField(allow_blank=True)
    term = serializers.IntegerField(allow_null=True)
    decided_on = serializers.DateField(allow_null=True, help_text="business date of the decision")
    decided_at = serializers.DateTimeField(
        allow_null=True, help_text="calendar time of the decision (the business date is decided_on)"
    )
    reapply_on = serializers.DateField(allow_null=True, help_text="declined: the first day to apply again")


class ApplicationOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    merchant = serializers.CharField()
    product = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField(help_text="submitted, referred, approved, disbursed, declined, withdrawn")
    amount = YuanField(help_text="as asked")
    orders = serializers.ListField(child=serializers.CharField(), help_text="the pledged orders' ids")
    current_stage = serializers.CharField(allow_blank=True)
    submitted_on = serializers.DateField()
    submitted_at = serializers.DateTimeField()
    decision = ApplicationDecisionSerializer()
    stages = ApplicationStageOutputSerializer(many=True)
    line_id = serializers.IntegerField(allow_null=True, help_text="the credit line opened, once approved")
    loan = serializers.CharField(allow_null=True, help_text="the loan's reference, once paid out")
    appeal_of = serializers.CharField(allow_null=True)
    appeal = serializers.CharField(allow_null=True, help_text="the appeal's reference, if appealed")


class ApplicationAppealInputSerializer(StrictSerializer):
    reason = StrictCharField(max_length=500, help_text="why the decision should change")
