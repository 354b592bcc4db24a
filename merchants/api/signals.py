"""The partner API for the signals risk control reads: refunds, complaints, buyer ratings,
logistics events, third-party verifications, declared financials and a shop's status on its
platform. Each is one batch endpoint, `POST /api/v1/<kind>/` with `{"<kind>": [...]}`, all or
nothing and idempotent by the partner's id of each signal (merchants/partner_signals.py)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_fields import (
    PastDateField,
    PastDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictIntegerField,
    StrictSerializer,
    YuanField,
)
from common.business_date import business_date_today
from merchants import partner_signals
from merchants.api.auth import partner_of
from merchants.models import ApiScope, Complaint, Verification
from merchants.signal_models import LogisticsEvent

ID_HELP = "your id for this signal: resending it is recognised (idempotent)"


_FRACTION = re.compile(r"-?(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,4})?")


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": "^" + _FRACTION.pattern + "$", "example": "0.0800"}
)
class FractionField(serializers.Field):
    """A fraction sent as a decimal string ("0.0800" = 8 %), at most four places, within a range."""

    default_error_messages = {
        "float": 'send fractions as decimal strings ("0.0800"), not numbers',
        "invalid": "not a decimal number",
        "range": "between {low} and {high}",
        "places": "at most four decimal places (0.0001 = 0.01 %)",
    }

    def __init__(self, *, low: Decimal, high: Decimal, **kwargs):
        self.low, self.high = low, high
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, float | bool | int):
            self.fail("float")
        if not isinstance(data, str) or not data.isascii() or not _FRACTION.fullmatch(data):
            self.fail("invalid")
        try:
            value = Decimal(data)
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if not self.low <= value <= self.high:
            self.fail("range", low=self.low, high=self.high)
        if value != value.quantize(Decimal("0.0001")):
            self.fail("places")
        return value

    def to_representation(self, value) -> str:
        return str(value)


class _Batch(StrictSerializer):
    """A list under one key, refused before row validation when longer than the batch limit."""

    key = ""

    def to_internal_value(self, data):
        limit = settings.PARTNER_API_MAX_BATCH
        if isinstance(data, dict) and isinstance(data.get(self.key), list) and len(data[self.key]) > limit:
            raise serializers.ValidationError(
                {self.key: [f"at most {limit} per batch; this one has {len(data[self.key])}"]}
            )
        return super().to_internal_value(data)


class RefundInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    order_id = StrictCharField(max_length=64, help_text="your id of the refunded order")
    amount = YuanField(help_text='yuan returned to the buyer, as a string: "59.90"')
    refunded_at = PastDateTimeField()
    reason = StrictCharField(max_length=100, required=False, allow_blank=True, default="")


class RefundBatchSerializer(_Batch):
    key = "refunds"
    refunds = RefundInputSerializer(many=True, allow_empty=False)


class ComplaintInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    merchant_id = StrictCharField(max_length=64)
    order_id = StrictCharField(max_length=64, required=False, allow_null=True, default=None)
    category = serializers.ChoiceField(choices=Complaint.Category.choices)
    filed_at = PastDateTimeField()
    is_upheld = StrictBooleanField(
        default=False, help_text="the platform found the shop at fault; resend the complaint when it does"
    )


class ComplaintBatchSerializer(_Batch):
    key = "complaints"
    complaints = ComplaintInputSerializer(many=True, allow_empty=False)


class RatingInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    order_id = StrictCharField(max_length=64)
    stars = StrictIntegerField(min_value=1, max_value=5)
    rated_at = PastDateTimeField()


class RatingBatchSerializer(_Batch):
    key = "ratings"
    ratings = RatingInputSerializer(many=True, allow_empty=False)


class LogisticsEventInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    order_id = StrictCharField(max_length=64)
    kind = serializers.ChoiceField(choices=LogisticsEvent.Kind.choices)
    occurred_at = PastDateTimeField()
    carrier = StrictCharField(max_length=50, required=False, allow_blank=True, default="")
    tracking_number = StrictCharField(max_length=50, required=False, allow_blank=True, default="")


class LogisticsEventBatchSerializer(_Batch):
    key = "events"
    events = LogisticsEventInputSerializer(many=True, allow_empty=False)


class VerificationInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    merchant_id = StrictCharField(max_length=64)
    kind = serializers.ChoiceField(choices=Verification.Kind.choices)
    provider = StrictCharField(max_length=100, help_text="who checked")
    result = serializers.ChoiceField(choices=Verification.Result.choices)
    checked_on = PastDateField(required=False, allow_null=True, default=None)
    reference = StrictCharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        pending = attrs["result"] == Verification.Result.PENDING
        if not pending and attrs["checked_on"] is None:
            raise serializers.ValidationError({"checked_on": [f"required when result is {attrs['result']}"]})
        if pending and attrs["checked_on"] is not None:
            raise serializers.ValidationError({"checked_on": ["a pending check has no date yet"]})
        return attrs


class VerificationBatchSerializer(_Batch):
    key = "verifications"
    verifications = VerificationInputSerializer(many=True, allow_empty=False)


class FinancialsInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    merchant_id = StrictCharField(max_length=64)
    fiscal_year = StrictIntegerField(min_value=2000)
    sales = YuanField(allow_zero=True, help_text="last year's sales in yuan")
    net_profit_margin = FractionField(low=Decimal(-1), high=Decimal(1), help_text='"0.0800" = 8 %')
    total_assets = YuanField(allow_zero=True)
    total_liabilities = YuanField(allow_zero=True)
    platform_sales_share = FractionField(
        low=Decimal(0), high=Decimal(1), help_text="share of sales made on your platform, 0–1"
    )

    def validate_fiscal_year(self, value):
        if value > business_date_today().year:
            raise serializers.ValidationError("lies in the future")
        return value


class FinancialsBatchSerializer(_Batch):
    key = "financials"
    financials = FinancialsInputSerializer(many=True, allow_empty=False)


class StatusChangeInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    merchant_id = StrictCharField(max_length=64)
    status = serializers.ChoiceField(
        choices=[(k, k) for k in partner_signals.PLATFORM_STATUSES],
        help_text="suspended: the platform stopped the shop for now; closed: for good; "
        "active: a suspension you made is lifted",
    )
    reason = StrictCharField(max_length=150)
    changed_at = PastDateTimeField()


class StatusChangeBatchSerializer(_Batch):
    key = "changes"
    changes = StatusChangeInputSerializer(many=True, allow_empty=False)


class DeviceInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    merchant_id = StrictCharField(max_length=64)
    fingerprint = StrictCharField(
        min_length=8, max_length=200, help_text="your device fingerprint; we keep only a keyed digest"
    )
    seen_at = PastDateTimeField()


class DeviceBatchSerializer(_Batch):
    key = "devices"
    devices = DeviceInputSerializer(many=True, allow_empty=False)


class GuaranteeInputSerializer(StrictSerializer):
    id = StrictCharField(max_length=64, help_text=ID_HELP)
    borrower_id = StrictCharField(max_length=64, help_text="the guaranteed merchant")
    guarantor_id = StrictCharField(max_length=64, help_text="the merchant standing surety")
    amount = YuanField(help_text="the most the guarantor answers for")
    since_on = PastDateField()
    until_on = StrictDateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="resend it set to end; not before since_on, at most GUARANTEE_MAX_YEARS (5) years after it",
    )


class GuaranteeBatchSerializer(_Batch):
    key = "guarantees"
    guarantees = GuaranteeInputSerializer(many=True, allow_empty=False)


class SignalBatchOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="new signals recorded")
    updated = serializers.IntegerField(help_text="resent signals whose changeable fields moved on")
    unchanged = serializers.IntegerField(help_text="resent signals already recorded as they are")


ERRORS = {
    400: OpenApiResponse(
        description="invalid input; `errors` names each bad field by its path, e.g. `refunds.2.amount`"
    ),
    401: OpenApiResponse(description="missing, unknown or revoked API key"),
    404: OpenApiResponse(
        description="a merchant or order that is not yours (or unknown); nothing was written"
    ),
    409: OpenApiResponse(
        description="an id already recorded with different content, or an impossible change"
    ),
}
_T = "2026-03-01T10:15:00+08:00"


@dataclass(frozen=True)
class SignalEndpoint:
    """One kind of signal's endpoint: its batch serializer, the service recording a batch (called
    with the batch's key as keyword, and `on=` the business date when `dated`), the input names in
    yuan with the service's names in fen, and its documentation."""

    serializer: type[_Batch]
    record: Callable[..., partner_signals.SignalBatchResult]
    summary: str
    example: dict
    yuan: dict[str, str] = field(default_factory=dict)
    dated: bool = False


class _SignalBatchApi(APIView):
    required_scopes = {"POST": ApiScope.INGEST}
    endpoint: SignalEndpoint

    def post(self, request):
        endpoint = self.endpoint
        key = endpoint.serializer.key
        serializer = endpoint.serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = [_in_fen(item, endpoint.yuan) for item in serializer.validated_data[key]]
        options = {"on": business_date_today()} if endpoint.dated else {}
        result = endpoint.record(partner=partner_of(request), **{key: items}, **options)
        return Response(SignalBatchOutputSerializer(result).data)


def _in_fen(item: dict, fen_names: dict[str, str]) -> dict:
    """Input names in yuan → the service's names in fen."""
    out = dict(item)
    for name, fen_name in fen_names.items():
        out[fen_name] = out.pop(name)
    return out


def _signal_api(name: str, spec: SignalEndpoint) -> type[_SignalBatchApi]:
    """The endpoint's view (named `name`), documented with its summary and example."""

    class Api(_SignalBatchApi):
        endpoint = spec

        @extend_schema(
            request=spec.serializer,
            responses={200: SignalBatchOutputSerializer, **ERRORS},
            summary=spec.summary,
            tags=["risk signals"],
            examples=[
                OpenApiExample("a batch", value=spec.example, request_only=True),
                OpenApiExample(
                    "recorded", value={"created": 1, "updated": 0, "unchanged": 0}, response_only=True
                ),
            ],
        )
        def post(self, request):
            return super().post(request)

    Api.__name__ = Api.__qualname__ = name
    return Api


RefundBatchApi = _signal_api(
    "RefundBatchApi",
    SignalEndpoint(
        RefundBatchSerializer,
        partner_signals.refunds_record_batch,
        "Record refunds (batch, all or nothing, idempotent by id)",
        {
            "refunds": [
                {
                    "id": "RF-1001",
                    "order_id": "O-778",
                    "amount": "59.90",
                    "refunded_at": _T,
                    "reason": "damaged",
                }
            ]
        },
        yuan={"amount": "amount_fen"},
    ),
)
ComplaintBatchApi = _signal_api(
    "ComplaintBatchApi",
    SignalEndpoint(
        ComplaintBatchSerializer,
        partner_signals.complaints_record_batch,
        "Record buyers' complaints (resend with is_upheld when the platform upholds one)",
        {
            "complaints": [
                {
                    "id": "C-31",
                    "merchant_id": "SHOP-1",
                    "order_id": "O-778",
                    "category": "not_as_described",
                    "filed_at": _T,
                    "is_upheld": False,
                }
            ]
        },
    ),
)
RatingBatchApi = _signal_api(
    "RatingBatchApi",
    SignalEndpoint(
        RatingBatchSerializer,
        partner_signals.ratings_record_batch,
        "Record buyer ratings (1–5 stars, one per order)",
        {"ratings": [{"id": "R-9", "order_id": "O-778", "stars": 2, "rated_at": _T}]},
    ),
)
LogisticsEventBatchApi = _signal_api(
    "LogisticsEventBatchApi",
    SignalEndpoint(
        LogisticsEventBatchSerializer,
        partner_signals.logistics_events_record_batch,
        "Record logistics events of orders' parcels (picked up … delivered, returned, lost)",
        {
            "events": [
                {
                    "id": "LG-5521",
                    "order_id": "O-778",
                    "kind": "returned",
                    "occurred_at": _T,
                    "carrier": "SF Express",
                    "tracking_number": "SF1234567890",
                }
            ]
        },
    ),
)
VerificationBatchApi = _signal_api(
    "VerificationBatchApi",
    SignalEndpoint(
        VerificationBatchSerializer,
        partner_signals.verifications_record_batch,
        "Record third-party verifications (resend a pending one when it completes)",
        {
            "verifications": [
                {
                    "id": "V-12",
                    "merchant_id": "SHOP-1",
                    "kind": "business_licence",
                    "provider": "SAMR registry",
                    "result": "verified",
                    "checked_on": "2026-02-27",
                    "reference": "91330100MA2X",
                }
            ]
        },
    ),
)
FinancialsBatchApi = _signal_api(
    "FinancialsBatchApi",
    SignalEndpoint(
        FinancialsBatchSerializer,
        partner_signals.financials_record_batch,
        "Record a B2B member's declared financials for a fiscal year (a new id replaces the year)",
        {
            "financials": [
                {
                    "id": "F-2025-SHOP-1",
                    "merchant_id": "SHOP-1",
                    "fiscal_year": 2025,
                    "sales": "3200000.00",
                    "net_profit_margin": "0.0800",
                    "total_assets": "1500000.00",
                    "total_liabilities": "400000.00",
                    "platform_sales_share": "0.6500",
                }
            ]
        },
        yuan={
            "sales": "sales_fen",
            "total_assets": "total_assets_fen",
            "total_liabilities": "total_liabilities_fen",
        },
        dated=True,
    ),
)
MerchantStatusBatchApi = _signal_api(
    "MerchantStatusBatchApi",
    SignalEndpoint(
        StatusChangeBatchSerializer,
        partner_signals.merchant_status_record_batch,
        "Record shops your platform suspended, closed or reopened (a closed shop borrows nothing)",
        {
            "changes": [
                {
                    "id": "ST-77",
                    "merchant_id": "SHOP-1",
                    "status": "suspended",
                    "reason": "counterfeit goods under investigation",
                    "changed_at": _T,
                }
            ]
        },
    ),
)
DeviceBatchApi = _signal_api(
    "DeviceBatchApi",
    SignalEndpoint(
        DeviceBatchSerializer,
        partner_signals.devices_record_batch,
        "Record devices a shop's people used (shops on one device are linked)",
        {
            "devices": [
                {"id": "D-1", "merchant_id": "SHOP-1", "fingerprint": "a3f9c2e18b7d4410", "seen_at": _T}
            ]
        },
    ),
)
GuaranteeBatchApi = _signal_api(
    "GuaranteeBatchApi",
    SignalEndpoint(
        GuaranteeBatchSerializer,
        partner_signals.guarantees_record_batch,
        "Record guarantees between your members (joint guarantee); resend with until_on to end one",
        {
            "guarantees": [
                {
                    "id": "G-1",
                    "borrower_id": "SHOP-1",
                    "guarantor_id": "SHOP-2",
                    "amount": "200000.00",
                    "since_on": "2026-01-15",
                    "until_on": None,
                }
            ]
        },
        yuan={"amount": "amount_fen"},
    ),
)
