"""The partner API for scoring: the pre-approved offers a partner's merchant holds now. A
merchant takes one up by applying for the offer's product (POST /api/v1/applications/): the
rating stage grants the offer's line and rate when the grade still holds."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api_fields import YuanField
from common.business_date import business_date_today
from lending import calculations as lending_calc
from merchants import selectors as merchant_selectors
from merchants.api.auth import partner_of
from merchants.models import ApiScope
from scoring import selectors


def _rate(rate) -> str:
    return f"{rate.normalize():f}"


class OfferListApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    class OfferOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        product = serializers.CharField(source="product.code")
        product_name = serializers.CharField(source="product.name")
        line = YuanField(source="line_fen", help_text="the pre-approved line")
        daily_rate = serializers.CharField(help_text="a decimal string: 0.0005 is 0.05 % a day")
        annual_rate = serializers.CharField(help_text="daily rate × 365, simple")
        grade = serializers.CharField()
        issued_on = serializers.DateField()
        expires_on = serializers.DateField()
        needs_video_check = serializers.BooleanField(source="product.needs_video_check")

    @extend_schema(
        responses={
            200: OfferOutputSerializer(many=True),
            404: OpenApiResponse(description="not yours or unknown"),
        },
        summary="A merchant's open pre-approved offers (apply for the product to take one up)",
    )
    def get(self, request, external_id: str):
        merchant = merchant_selectors.merchant_get(partner=partner_of(request), external_id=external_id)
        offers = selectors.offers_open_of_merchant(merchant=merchant, on=business_date_today())
        rows = [
            {
                "id": offer.pk,
                "product": offer.product,
                "line_fen": offer.line_fen,
                "daily_rate": _rate(offer.daily_rate),
                "annual_rate": _rate(lending_calc.annual_rate(offer.daily_rate)),
                "grade": offer.grade,
                "issued_on": offer.issued_on,
                "expires_on": offer.expires_on,
            }
            for offer in offers
        ]
        return Response(self.OfferOutputSerializer(rows, many=True).data)
