"""The partner API for risk control: a partner reads its own merchant's risk status — the
warning level, the open warnings and the standing actions with their reasons, and whether the
relationship network flags the shop. Nothing about another merchant is ever named (a ring's
other members may belong to another partner)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants import selectors as merchant_selectors
from merchants.api.auth import partner_of
from merchants.models import ApiScope
from riskcontrol.models import Level, MerchantRisk, RiskAction, Warning
from riskcontrol.monitoring.rules import reason_text
from riskcontrol.network.selectors import merchant_ring_flag
from riskcontrol.plain_words import action_reason


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class MerchantRiskApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    class WarningOutputSerializer(serializers.Serializer):
        kind = serializers.CharField()
        severity = serializers.CharField()
        raised_on = serializers.DateField()
        reasons = ReasonSerializer(many=True)
        version = serializers.CharField(help_text="the monitoring rule set that raised it")

    class ActionOutputSerializer(serializers.Serializer):
        kind = serializers.CharField()
        reason = serializers.CharField()
        business_on = serializers.DateField()

    class FlagOutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        text = serializers.CharField()
        detector = serializers.CharField()
        business_on = serializers.DateField()

    class RiskOutputSerializer(serializers.Serializer):
        merchant = serializers.CharField(help_text="the partner's merchant id")
        shop_status = serializers.CharField()
        level = serializers.ChoiceField(choices=Level.choices)
        as_of = serializers.DateField(allow_null=True, help_text="the business date the level was set")
        reasons = ReasonSerializer(many=True)
        warnings = serializers.ListField(child=serializers.DictField())
        actions = serializers.ListField(child=serializers.DictField())
        flags = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        responses={200: RiskOutputSerializer, 404: OpenApiResponse(description="not yours or unknown")},
        summary="A merchant's risk status: warning level, open warnings, standing actions, network flags",
    )
    def get(self, request, external_id: str):
        merchant = merchant_selectors.merchant_get(partner=partner_of(request), external_id=external_id)
        risk = MerchantRisk.objects.filter(merchant=merchant).first()
        warnings = Warning.objects.filter(merchant=merchant, status=Warning.Status.OPEN).order_by(
            "-raised_on"
        )
        actions = RiskAction.objects.filter(merchant=merchant, reversed_at__isnull=True).order_by(
            "-business_on"
        )
        flag = merchant_ring_flag(merchant.pk)
        body = {
            "merchant": merchant.external_id,
            "shop_status": merchant.status,
            "level": risk.level if risk is not None else Level.GREEN,
            "as_of": risk.as_of if risk is not None else None,
            "reasons": [_reason(r) for r in (risk.reasons if risk is not None else [])],
            "warnings": [
                self.WarningOutputSerializer(
                    {
                        "kind": w.kind,
                        "severity": w.severity,
                        "raised_on": w.raised_on,
                        "reasons": [_reason(r) for r in w.reasons],
                        "version": w.version,
                    }
                ).data
                for w in warnings[:50]
            ],
            "actions": [
                self.ActionOutputSerializer(
                    {"kind": a.kind, "reason": action_reason(a), "business_on": a.business_on}
                ).data
                for a in actions[:50]
            ],
            "flags": (
                [
                    self.FlagOutputSerializer(
                        {
                            "code": "likely_ring",
                            "text": _("Orders among linked shops look arranged"),
                            "detector": flag["detector"],
                            "business_on": flag["business_on"],
                        }
                    ).data
                ]
                if flag is not None
                else []
            ),
        }
        return Response(self.RiskOutputSerializer(body).data)


def _reason(value) -> dict:
    if isinstance(value, dict):
        return {"code": str(value.get("code", "")), "text": reason_text(value)}
    return {"code": "", "text": str(value)}
