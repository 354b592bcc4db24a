from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import IdCursorPagination
from common.api_fields import no_body_check
from common.errors import ApplicationError
from merchants import access, selectors, services
from merchants.api.auth import partner_of
from merchants.api.batch import order_batch_read
from merchants.api.serializers import (
    MerchantInputSerializer,
    MerchantOutputSerializer,
    OrderBatchInputSerializer,
    OrderBatchOutputSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
    OrderStatusInputSerializer,
)
from merchants.models import ApiScope

ERRORS = {
    400: OpenApiResponse(description="invalid input; `errors` names each bad field by its path"),
    401: OpenApiResponse(description="missing, unknown or revoked API key"),
    409: OpenApiResponse(description="already recorded with different content, or an impossible change"),
}


class ByIdPagination(IdCursorPagination):
    ordering = "id"


class MerchantListCreateApi(ListAPIView):
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.INGEST}

    pagination_class = ByIdPagination
    serializer_class = MerchantOutputSerializer

    def get_queryset(self):
        return selectors.merchant_list(partner=partner_of(self.request))

    @extend_schema(
        request=MerchantInputSerializer,
        responses={201: MerchantOutputSerializer, 200: MerchantOutputSerializer, **ERRORS},
        summary="Record a merchant (idempotent by id)",
    )
    def post(self, request):
        serializer = MerchantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        merchant, created = services.merchant_upsert(partner=partner_of(request), data=serializer.to_data())
        return Response(
            MerchantOutputSerializer(merchant).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MerchantDetailApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={
            200: MerchantOutputSerializer,
            404: OpenApiResponse(description="not yours or unknown"),
        }
    )
    def get(self, request, external_id: str):
        merchant = selectors.merchant_get(partner=partner_of(request), external_id=external_id)
        return Response(MerchantOutputSerializer(merchant).data)


class OrderCreateApi(APIView):
    required_scopes = {"POST": ApiScope.INGEST}

    @extend_schema(
        request=OrderInputSerializer,
        responses={201: OrderOutputSerializer, 200: OrderOutputSerializer, **ERRORS},
        summary="Record one order (idempotent by id; a later status moves it on)",
    )
    def post(self, request):
        serializer = OrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = OrderInputSerializer.to_data(serializer.validated_data)
        partner = partner_of(request)
        try:
            result = services.orders_upsert(partner=partner, orders=[data])
        except ApplicationError as exc:
            raise _one_order(exc) from exc
        order = selectors.order_get(partner=partner, external_id=data.external_id)
        return Response(
            OrderOutputSerializer(order).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


def _one_order(exc: ApplicationError) -> ApplicationError:
    """The batch service names a field of the batch (orders.0.merchant_id); one order sent alone
    names its own field (merchant_id)."""
    named = exc.extra.get("fields") or {}
    fields = {name.removeprefix("orders.0."): messages for name, messages in named.items()}
    return type(exc)(exc.message.removeprefix("orders.0."), {**exc.extra, "fields": fields})


class OrderBatchApi(APIView):
    required_scopes = {"POST": ApiScope.INGEST}

    @extend_schema(
        request=OrderBatchInputSerializer,
        responses={200: OrderBatchOutputSerializer, **ERRORS},
        summary="Record a batch of orders, all or nothing (history loads)",
    )
    def post(self, request):
        # The serializer's verdicts, without its cost per field (merchants/api/batch.py).
        orders = order_batch_read(request)
        result = services.orders_upsert(partner=partner_of(request), orders=orders)
        return Response(OrderBatchOutputSerializer(result).data)


class OrderDetailApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={
            200: OrderOutputSerializer,
            404: OpenApiResponse(description="not yours or unknown"),
        }
    )
    def get(self, request, external_id: str):
        order = selectors.order_get(partner=partner_of(request), external_id=external_id)
        return Response(OrderOutputSerializer(order).data)


class OrderStatusApi(APIView):
    required_scopes = {"POST": ApiScope.INGEST}

    @extend_schema(
        request=OrderStatusInputSerializer,
        responses={200: OrderOutputSerializer, **ERRORS},
        summary="Move an order along its lifecycle (placed → paid → shipped → delivered → settled)",
    )
    def post(self, request, external_id: str):
        serializer = OrderStatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_transition(
            partner=partner_of(request),
            external_id=external_id,
            to_status=serializer.validated_data["status"],
            at=serializer.validated_data["at"],
            source=f"api:{request.auth.prefix}",
        )
        return Response(OrderOutputSerializer(order).data)


class MerchantPortalLinkApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField(help_text="open it in the merchant's browser: /enter/<token>/")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        request=None,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description="the shop is closed"),
            401: ERRORS[401],
            404: OpenApiResponse(description="not yours or unknown"),
        },
        summary="A signed, short-lived link that takes the merchant into the portal (works once)",
    )
    def post(self, request, external_id: str):
        no_body_check(request)
        handoff = access.portal_handoff_create(partner=partner_of(request), external_id=external_id)
        url = request.build_absolute_uri(reverse("portal:enter", args=[handoff.token]))
        return Response(
            self.OutputSerializer({"url": url, "expires_at": handoff.expires_at}).data,
            status=status.HTTP_201_CREATED,
        )
