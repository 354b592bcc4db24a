from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import naming
from common.idempotency import idempotency_key_from, idempotency_key_parameter, idempotent
from merchants import selectors as merchant_selectors
from merchants import services as merchant_services
from merchants.api.auth import partner_of, partner_scope
from merchants.models import ApiScope
from payments import selectors, services
from payments.api.serializers import (
    MovementSerializer,
    SettlementInputSerializer,
    SettlementOutputSerializer,
    WalletOutputSerializer,
)

IDEMPOTENCY_KEY = idempotency_key_parameter(
    "any unique string per settlement; resending it returns the first result and moves nothing"
)


class SettlementCreateApi(APIView):
    required_scopes = {"POST": ApiScope.INGEST}

    @extend_schema(
        request=SettlementInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: SettlementOutputSerializer,
            200: SettlementOutputSerializer,
            400: OpenApiResponse(description="invalid input, or no Idempotency-Key"),
            409: OpenApiResponse(
                description="key or id already used with different content; a request with this key "
                "still in progress (code in_progress, Retry-After); or the partner's daily or total "
                "settlement cap, or the ledger's limit, would be passed (code limit_exceeded, field amount)"
            ),
        },
        summary="Credit a settlement into a merchant's wallet (idempotent)",
    )
    @idempotent("settlements.create", scope=partner_scope)
    def post(self, request):
        key = idempotency_key_from(request)
        serializer = SettlementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        partner = partner_of(request)
        with naming("merchant_id"):
            merchant = merchant_selectors.merchant_get(partner=partner, external_id=data["merchant_id"])
        with transaction.atomic():
            settlement, _ = merchant_services.settlement_record(
                partner=partner,
                external_id=data["id"],
                merchant=merchant,
                amount_fen=data["amount"],
                settled_on=data["settled_on"],
                order_count=data["order_count"],
                idempotency_key=key,
            )
            result = services.settlement_credit_recorded(settlement=settlement)
        body = SettlementOutputSerializer(
            {
                "id": settlement.external_id,
                "merchant_id": merchant.external_id,
                "amount": settlement.amount_fen,
                "settled_on": settlement.settled_on,
                "journal_entry": result.entry_id,
                "replayed": result.replayed,
            }
        ).data
        return Response(body, status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)


class WalletDetailApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={
            200: WalletOutputSerializer,
            404: OpenApiResponse(description="not yours or unknown"),
        }
    )
    def get(self, request, merchant_id: str):
        wallet = selectors.wallet_for_partner_merchant(
            partner=partner_of(request), merchant_external_id=merchant_id
        )
        return Response(WalletOutputSerializer(wallet).data)


class WalletMovementsApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={200: MovementSerializer(many=True)},
        summary="The latest 100 movements, newest first",
    )
    def get(self, request, merchant_id: str):
        wallet = selectors.wallet_for_partner_merchant(
            partner=partner_of(request), merchant_external_id=merchant_id
        )
        return Response(
            MovementSerializer(selectors.account_statement(account=wallet, limit=100), many=True).data
        )
