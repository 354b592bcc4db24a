"""Partner authentication: `Authorization: Api-Key xd_<prefix>_<secret>`."""

import hmac

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from merchants.models import ApiKey

KEYWORD = "Api-Key"


class PartnerApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme != KEYWORD:
            return None
        raw = raw.strip()
        parts = raw.split("_")
        if len(parts) < 3 or parts[0] != "xd":
            raise exceptions.AuthenticationFailed("malformed API key")
        key = ApiKey.objects.select_related("partner").filter(prefix=parts[1]).first()
        if key is None or not hmac.compare_digest(key.digest, ApiKey.digest_of(raw)):
            raise exceptions.AuthenticationFailed("unknown API key")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("this API key has been revoked")
        if not key.partner.is_active:
            raise exceptions.AuthenticationFailed("this partner platform is suspended")
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return (None, key)

    def authenticate_header(self, request):
        return KEYWORD


class IsPartner(permissions.BasePermission):
    message = "an API key is required: Authorization: Api-Key <key>"

    def has_permission(self, request, view):
        if request.auth is None:
            raise exceptions.NotAuthenticated(self.message)
        return isinstance(request.auth, ApiKey)


def partner_of(request):
    return request.auth.partner


def partner_scope(request) -> str:
    """Whose Idempotency-Keys a request's are: each partner's keys are its own."""
    return f"partner:{request.auth.partner_id}"


class PartnerApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.api.auth.PartnerApiKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key xd_<prefix>_<secret>`, issued to a partner platform",
        }
