"""The partner's own webhook endpoints: register, list, change, rotate the secret, remove; and
the events sent to it with where each delivery stands. Scoped to the key's partner (another
partner's endpoint is 404)."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import IdCursorPagination, InstantCursorPagination
from common.api_fields import StrictBooleanField, StrictCharField, StrictSerializer, no_body_check
from common.idempotency import idempotency_key_parameter, idempotent
from merchants.api.auth import partner_of, partner_scope
from merchants.models import ApiScope
from merchants.webhooks import services
from merchants.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

ROTATE_KEY = idempotency_key_parameter(
    "any unique string per rotation; resending it returns the same new secret and rotates nothing"
)
EXAMPLE_URL = "https://partner.example.com/xiaodai/webhooks"
EXAMPLE_SECRET = "whsec_q3v1S1cW8Y2m0oQx7rj3ZrJk1oV0mJtq1uI3v9Rk5bE"  # noqa: S105 - a documentation example
ENDPOINT_EXAMPLE = {
    "id": 7,
    "url": EXAMPLE_URL,
    "event_types": ["loan.disbursed", "loan.overdue", "repayment.succeeded"],
    "description": "loans team",
    "is_active": True,
    "created_at": "2026-03-01T09:30:00+08:00",
    "secret_overlap_until": None,
}
EVENT_EXAMPLE = {
    "id": "evt_5f0c2b7e9a4d4c1e8f3a6b2d1c0e9f8a",
    "type": "loan.disbursed",
    "created_at": "2026-03-01T09:31:02+08:00",
    "business_date": "2026-03-01",
    "data": {
        "loan": "L20260301-1042",
        "merchant": "SHOP-1",
        "product": "credit_loan",
        "principal": "2000.00",
        "fee": "0.00",
        "daily_rate": "0.00060000",
        "disbursed_on": "2026-03-01",
        "maturity_on": "2026-08-28",
    },
    "deliveries": [
        {
            "endpoint": 7,
            "status": "succeeded",
            "attempts": 1,
            "next_attempt_at": None,
            "last_status_code": 200,
            "last_error": "",
            "succeeded_at": "2026-03-01T09:31:02+08:00",
        }
    ],
}
R401 = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="missing, unknown or revoked API key",
    examples=[
        OpenApiExample(
            "no key",
            value={"error": {"code": "not_authenticated", "message": "an API key is required"}},
        )
    ],
)
R404 = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="not yours or unknown",
    examples=[OpenApiExample("unknown", value={"error": {"code": "not_found", "message": "Not found."}})],
)
R400 = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="invalid input; `error.fields` names each bad field",
    examples=[
        OpenApiExample(
            "private address",
            value={
                "error": {
                    "code": "invalid",
                    "message": "url: the host resolves to a private, loopback or reserved address",
                    "fields": {"url": ["the host resolves to a private, loopback or reserved address"]},
                }
            },
        ),
        OpenApiExample(
            "unknown type",
            value={
                "error": {
                    "code": "invalid",
                    "message": "event_types: unknown event types: loan.paid; known: offer.created, …",
                    "fields": {"event_types": ["unknown event types: loan.paid; known: offer.created, …"]},
                }
            },
        ),
    ],
)


class EndpointInputSerializer(StrictSerializer):
    url = StrictCharField(max_length=500, help_text="https URL that receives the POSTs")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        min_length=1,
        max_length=len(EventType.values),
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointUpdateSerializer(StrictSerializer):
    url = StrictCharField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        min_length=1,
        max_length=len(EventType.values),
        required=False,
    )
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    is_active = StrictBooleanField(required=False)


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    secret_overlap_until = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        help_text="after a rotation, the old secret also signs until then",
    )


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text="the signing secret: shown this once, keep it safe")


class DeliveryOutputSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField(source="endpoint_id")
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.values)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    succeeded_at = serializers.DateTimeField(allow_null=True)


class EventOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the same id as the webhook's; de-duplicate by it")
    type = serializers.ChoiceField(choices=EventType.choices)
    created_at = serializers.DateTimeField()
    business_date = serializers.DateField(source="business_on", allow_null=True)
    data = serializers.JSONField()
    deliveries = DeliveryOutputSerializer(many=True)


def _endpoint(request, pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=pk, partner=partner_of(request))


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> dict:
    return {**EndpointOutputSerializer(endpoint).data, "secret": secret}


class ByIdPagination(IdCursorPagination):
    ordering = "-id"


class NewestFirstPagination(InstantCursorPagination):
    ordering = ("-created_at", "-id")  # event ids are random: the time orders them


class WebhookEndpointListCreateApi(ListAPIView):
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.INGEST}

    serializer_class = EndpointOutputSerializer
    pagination_class = ByIdPagination

    def get_queryset(self):
        return WebhookEndpoint.objects.filter(partner=partner_of(self.request))

    @extend_schema(
        summary="The partner's webhook endpoints",
        responses={200: EndpointOutputSerializer(many=True), 401: R401},
        examples=[
            OpenApiExample(
                "one endpoint",
                value=ENDPOINT_EXAMPLE,
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register a webhook endpoint (the signing secret is shown once)",
        request=EndpointInputSerializer,
        responses={
            201: EndpointWithSecretSerializer,
            400: R400,
            401: R401,
            409: OpenApiResponse(
                description="`too_many_endpoints`: the partner has WEBHOOKS_MAX_ENDPOINTS_PER_PARTNER "
                "endpoints already (`limit` says how many); remove one first. `conflict`: the same "
                "create was made before (`endpoint` names what it made; rotate its secret if lost)"
            ),
        },
        examples=[
            OpenApiExample(
                "register",
                value={
                    "url": EXAMPLE_URL,
                    "event_types": ["loan.disbursed", "loan.overdue", "repayment.succeeded"],
                    "description": "loans team",
                },
                request_only=True,
            ),
            OpenApiExample(
                "registered", value={**ENDPOINT_EXAMPLE, "secret": EXAMPLE_SECRET}, response_only=True
            ),
        ],
    )
    def post(self, request):
        serializer = EndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(partner=partner_of(request), **serializer.validated_data)
        return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(APIView):
    required_scopes = {"GET": ApiScope.READ, "PATCH": ApiScope.INGEST, "DELETE": ApiScope.INGEST}

    @extend_schema(
        summary="One webhook endpoint",
        responses={200: EndpointOutputSerializer, 401: R401, 404: R404},
        examples=[OpenApiExample("endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        return Response(EndpointOutputSerializer(_endpoint(request, pk)).data)

    @extend_schema(
        summary="Change an endpoint's URL, event types or description, or switch it off",
        request=EndpointUpdateSerializer,
        responses={
            200: EndpointOutputSerializer,
            400: R400,
            401: R401,
            404: R404,
            409: OpenApiResponse(
                description="`conflict`: another of the partner's endpoints already has this URL, "
                "event types and description (`endpoint` names it; `error.fields.url` says so)"
            ),
        },
        examples=[
            OpenApiExample("switch off", value={"is_active": False}, request_only=True),
            OpenApiExample(
                "switched off", value={**ENDPOINT_EXAMPLE, "is_active": False}, response_only=True
            ),
        ],
    )
    def patch(self, request, pk: int):
        endpoint = _endpoint(request, pk)
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, **serializer.validated_data)
        except WebhookEndpoint.DoesNotExist as exc:  # removed while this change waited
            raise Http404 from exc
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(
        summary="Remove an endpoint (what is still queued for it is dropped)",
        responses={204: OpenApiResponse(description="removed"), 401: R401, 404: R404},
    )
    def delete(self, request, pk: int):
        no_body_check(request)
        services.endpoint_delete(endpoint=_endpoint(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretApi(APIView):
    required_scopes = {"POST": ApiScope.INGEST}

    @extend_schema(
        summary="A new signing secret (shown once); the old one keeps signing for the overlap window",
        request=None,
        parameters=[ROTATE_KEY],
        responses={
            200: EndpointWithSecretSerializer,
            400: OpenApiResponse(
                response=OpenApiTypes.OBJECT, description="no or a malformed Idempotency-Key header"
            ),
            401: R401,
            404: R404,
            409: OpenApiResponse(
                description="the Idempotency-Key was used for another request (another endpoint or a "
                "body), or a rotation with it is still in progress (code in_progress, Retry-After)"
            ),
        },
        examples=[
            OpenApiExample(
                "rotated",
                value={
                    **ENDPOINT_EXAMPLE,
                    "secret_overlap_until": "2026-03-02T09:30:00+08:00",
                    "secret": EXAMPLE_SECRET,
                },
                response_only=True,
            )
        ],
    )
    @idempotent("webhooks.rotate_secret", scope=partner_scope, sealed=("secret",))
    def post(self, request, pk: int):
        no_body_check(request)
        endpoint, secret = services.endpoint_rotate_secret(endpoint=_endpoint(request, pk))
        return Response(_with_secret(endpoint, secret))


class WebhookEventListApi(ListAPIView):
    required_scopes = {"GET": ApiScope.READ}

    serializer_class = EventOutputSerializer
    pagination_class = NewestFirstPagination
    query_filters = ("type",)

    def get_queryset(self):
        rows = WebhookEvent.objects.filter(partner=partner_of(self.request)).prefetch_related("deliveries")
        kind = self.request.query_params.get("type")
        if kind is not None:
            if kind not in EventType.values:
                raise serializers.ValidationError({"type": [f"one of {', '.join(EventType.values)}"]})
            rows = rows.filter(type=kind)
        return rows

    @extend_schema(
        summary="Events sent to the partner, newest first, with each delivery's state",
        parameters=[
            OpenApiParameter("type", str, enum=EventType.values, required=False, description="only this type")
        ],
        responses={
            200: EventOutputSerializer(many=True),
            400: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description="an unknown event type",
                examples=[
                    OpenApiExample(
                        "unknown type",
                        value={
                            "error": {
                                "code": "invalid",
                                "message": "type: one of offer.created, …",
                                "fields": {"type": ["one of offer.created, …"]},
                            }
                        },
                    )
                ],
            ),
            401: R401,
        },
        examples=[
            OpenApiExample(
                "a disbursement",
                value=EVENT_EXAMPLE,
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
