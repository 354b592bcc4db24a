"""Scopes: every partner API endpoint declares the scope each of its methods needs, found from the
URL conf and the published schema (a new endpoint is covered without editing this file), and a key
without that scope is refused with 403 while nothing is written."""

import re

import pytest
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from rest_framework.test import APIClient

from lending.models import Application, Loan
from merchants.api.auth import HasScope, required_scope
from merchants.models import ALL_SCOPES, Merchant, Order, Settlement
from tests.merchants.factories import ApiKeyFactory, PartnerPlatformFactory

API_PREFIX = "/api/v1/"


def partner_endpoints() -> list[tuple[str, str, type]]:
    """(path, method, view class) of every partner API operation in the URL conf."""
    found = []
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        if path.startswith(API_PREFIX):
            found.append((path, method, callback.cls))
    return found


def test_the_url_conf_has_partner_endpoints_to_check():
    endpoints = partner_endpoints()
    assert len(endpoints) >= 20
    assert {method for _, method, _ in endpoints} >= {"GET", "POST"}


@pytest.mark.parametrize(
    ("path", "method", "view"), partner_endpoints(), ids=lambda v: getattr(v, "__name__", v)
)
def test_every_partner_endpoint_declares_a_known_scope_and_checks_it(path, method, view):
    assert HasScope in [type(p) for p in view().get_permissions()], f"{view.__name__} does not check scopes"
    scope = required_scope(view, method)
    assert scope in ALL_SCOPES, f"{method} {path} ({view.__name__}) declares no scope"
    # Reads need `read`; a write never does (a read-only key must not change anything).
    assert (scope == "read") == (method == "GET"), (method, path, scope)


def test_every_operation_in_the_schema_names_its_scope_and_the_access_refusals():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        if path.startswith(API_PREFIX)
        for method, operation in methods.items()
    ]
    assert len(operations) == len(partner_endpoints())
    for path, method, operation in operations:
        assert operation.get("x-required-scope") in ALL_SCOPES, (method, path)
        assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def _written() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Merchant, Order, Settlement, Loan, Application))


@pytest.mark.django_db
def test_scopes_matrix_each_key_reaches_only_what_its_scope_allows():
    partner = PartnerPlatformFactory()
    keys = {}
    for n, scope in enumerate(ALL_SCOPES):
        raw = f"xd_scope{n:04d}_" + "s" * 40
        ApiKeyFactory(partner=partner, raw_key=raw, scopes=[scope])
        keys[scope] = raw
    before = _written()
    checked = 0
    for path, method, _view in partner_endpoints():
        url = re.sub(r"\{[^}]+\}", "0", path)  # an id no object has (and that int paths take)
        needed = required_scope(_view, method)
        for scope, raw in keys.items():
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}", HTTP_IDEMPOTENCY_KEY=f"k-{checked}")
            response = getattr(client, method.lower())(url, {}, format="json")
            if scope == needed:
                assert response.status_code != 403, (method, url, scope, response.content)
            else:
                assert response.status_code == 403, (method, url, scope, response.content)
                assert needed in response.content.decode(), response.content
            checked += 1
    assert checked == 3 * len(partner_endpoints())
    assert _written() == before


@pytest.mark.django_db
def test_a_view_that_declares_no_scope_for_a_method_refuses_it():
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class Undeclared(APIView):
        required_scopes = {"GET": "read"}

        def get(self, request):
            return Response({})

        def post(self, request):
            return Response({})

    raw = "xd_undecl01_" + "u" * 40
    ApiKeyFactory(raw_key=raw)
    factory = APIRequestFactory()
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}
    assert Undeclared.as_view()(factory.get("/x/", **auth)).status_code == 200
    assert Undeclared.as_view()(factory.post("/x/", {}, format="json", **auth)).status_code == 403
