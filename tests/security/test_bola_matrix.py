"""Broken object-level authorisation, tried everywhere at once. The API's paths are read from its
OpenAPI schema at test time (so a new endpoint is in the matrix without editing this file): for
every path with an object id, partner A's key is sent against partner B's object, with every
method the path has, and must get 404 with nothing changed anywhere in the database. The same
for the merchant portal: merchant A's session against merchant B's pages. A control run against
A's own objects shows the URLs are real (a matrix of typos would also answer 404)."""

import datetime as dt
import hashlib
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver
from drf_spectacular.generators import SchemaGenerator

from common.business_date import business_date_set
from config import portal_urls
from lending.models import Product
from lending.services import applications as application_services
from merchants.webhooks import services as webhooks
from payments import services as payments
from scoring import services as scoring
from scoring.models import Offer
from scoring.selectors import policy_get
from tests.lending.conftest import draw
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import OrderFactory
from tests.scoring.factories import champion_create, products, rated_merchant
from tests.security.conftest import partner_client_for

TODAY = dt.date(2026, 3, 1)
PROJECT_APPS = {"common", "merchants", "payments", "lending", "scoring", "riskcontrol", "demo"}
# Columns a request may touch without changing anything a partner owns.
VOLATILE = {"last_used_at"}
# Path segments that take a capability token rather than an object's id (a token is its own key).
TOKEN_PAGES = {"enter", "invite"}


def side(name: str) -> dict:
    """One partner with one merchant (and its portal user), an order, a credit line, a loan, an
    application and an offer: everything an id in a URL can point at."""
    merchant = rated_merchant(gmv=90_000.0, refund=0.01)
    merchant.user = User.objects.create_user(f"seller-{name}", password="x")
    merchant.save(update_fields=["user"])
    order = OrderFactory(merchant=merchant, external_id=f"{name}-O-1", shipped=True)
    line = CreditLineFactory(
        merchant=merchant, product=Product.objects.get(code="credit_loan"), limit_fen=10_000_000
    )
    loan = draw(line, 200_000, key=f"{name}-draw")
    application = application_services.application_submit(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        amount_fen=200_000,
        channel="portal",
        on=TODAY,
        actor=name,
    )
    score = scoring.merchant_rate(merchant=merchant, as_of=TODAY)
    offer = Offer.objects.create(
        merchant=merchant,
        product=Product.objects.get(code="order_loan"),
        score=score,
        line_fen=3_000_000,
        daily_rate="0.00050000",
        grade=score.grade,
        rank=1,
        issued_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=14),
    )
    endpoint, _secret = webhooks.endpoint_create(
        partner=merchant.partner, url="https://partner.example.com/hooks", event_types=["loan.disbursed"]
    )
    ids = {
        # (the path segment before the id, the id's name) → this side's object
        ("merchants", "external_id"): merchant.external_id,
        ("orders", "external_id"): order.external_id,
        ("lines", "merchant_id"): merchant.external_id,
        ("wallets", "merchant_id"): merchant.external_id,
        ("loans", "reference"): loan.reference,
        ("applications", "reference"): application.reference,
        ("draw", "line_id"): line.pk,
        ("offers", "offer_id"): offer.pk,
        ("endpoints", "id"): endpoint.pk,
    }
    return {"merchant": merchant, "client": partner_client_for(partner=merchant.partner), "ids": ids}


def two_partners() -> tuple[dict, dict]:
    """Partner A and partner B, each a side() of its own, on a funded book whose policy lends to
    every grade: the world of every test that sets one partner against the other (here and in
    tests/outsider/test_two_partners_hostile.py)."""
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    a, b = side("a"), side("b")
    # B's object of each kind is not A's (ids of different tables may coincide: no path mixes them)
    assert all(str(a["ids"][key]) != str(b["ids"][key]) for key in a["ids"])
    return a, b


@pytest.fixture
def world(db):
    return two_partners()


def fingerprint() -> str:
    """Every row of every project table, hashed: equal before and after means nothing changed."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or not model._meta.managed:
            continue
        columns = sorted(f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE)
        digest.update(model._meta.db_table.encode())
        for row in model.objects.order_by("pk").values_list(*columns):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def filled(template: str, ids: dict, pattern: str) -> str:
    """The template's ids replaced by the side's objects, each chosen by the segment before it."""

    def one(match: re.Match) -> str:
        if match.group(1) == "fmt":
            return "pdf"  # a document's format, not an object: the same for both sides
        before = template[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        key = (before, match.group(1))
        assert key in ids, f"no object known for {key} in {template}: add one to side() in this test"
        return str(ids[key])

    return re.sub(pattern, one, template)


# --- the partner API, from its schema ----------------------------------------------------------


def api_operations() -> list[tuple[str, str, dict]]:
    """(method, path template, request schema) of every operation on a path with an object id."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for template, operations in schema["paths"].items():
        if "{" not in template:
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            found.append((method, template, components.get(ref.rsplit("/", 1)[-1], {})))
    return found


# A well-formed body (so that a refusal cannot come from bad input): by field name, else by type.
SAMPLE = {"amount": "100.00", "reason": "please look again", "status": "delivered"}


def sample_body(request_schema: dict) -> dict:
    body = {}
    for name, spec in request_schema.get("properties", {}).items():
        if spec.get("readOnly"):
            continue
        if name in SAMPLE:
            body[name] = SAMPLE[name]
        elif "enum" in spec:
            body[name] = spec["enum"][0]
        elif spec.get("format") == "date-time":
            body[name] = "2026-02-28T10:00:00+08:00"
        elif spec.get("format") == "date":
            body[name] = "2026-02-28"
        elif spec.get("type") == "integer":
            body[name] = 1
        else:
            body[name] = "x"
    return body


def test_the_api_matrix_covers_every_path_with_an_object_id(world):
    templates = {template for _, template, _ in api_operations()}
    assert len(templates) >= 10, templates  # the schema was read, not an empty list


def test_partner_a_reaches_none_of_partner_bs_objects_through_any_api_path(world):
    a, b = world
    operations = api_operations()
    before = fingerprint()
    refused = {}
    for method, template, request_schema in operations:
        path = filled(template, b["ids"], r"\{(\w+)\}")
        reply = getattr(a["client"], method)(
            path, sample_body(request_schema), format="json", HTTP_IDEMPOTENCY_KEY=f"bola-{method}-{path}"
        )
        refused[(method, path)] = reply.status_code
    assert {op: status for op, status in refused.items() if status != 404} == {}
    assert fingerprint() == before

    # The control: the same GETs on A's own objects are found.
    for method, template, _ in operations:
        if method == "get":
            reply = a["client"].get(filled(template, a["ids"], r"\{(\w+)\}"))
            assert reply.status_code == 200, (template, reply.status_code)


# --- the merchant portal, from its URL patterns ------------------------------------------------


def portal_templates() -> list[str]:
    """Every portal URL with an object id, as a template like "loans/<str:reference>/"."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and "<" in str(p.pattern):
                found.append("/" + prefix + str(p.pattern))

    walk(portal_urls.urlpatterns, "")
    # (a document's format alone is no object: the month's statements are the merchant's own)
    with_ids = [t for t in found if "<" in t.replace("<docformat:fmt>", "")]
    return [t for t in with_ids if t.strip("/").split("/")[0] not in TOKEN_PAGES]


def test_merchant_a_reaches_none_of_merchant_bs_portal_pages(world):
    a, b = world
    portal = Client()
    portal.force_login(a["merchant"].user)
    templates = portal_templates()
    assert len(templates) >= 10, templates
    pattern = r"<(?:\w+:)?(\w+)>"
    before = fingerprint()
    answers = {}
    for template in templates:
        path = filled(template, b["ids"], pattern)
        answers[("get", path)] = portal.get(path).status_code
        answers[("post", path)] = portal.post(path, {"reason": "x", "amount": "100.00"}).status_code
    assert fingerprint() == before
    found = {}
    for (method, path), status in answers.items():
        if status == 404:
            continue
        # Only a page that refuses the method for any object may answer otherwise.
        own = filled(next(t for t in templates if filled(t, b["ids"], pattern) == path), a["ids"], pattern)
        if status == 405 and method == "post" and portal.post(own).status_code == 405:
            continue
        if status == 405 and method == "get" and portal.get(own).status_code == 405:
            continue
        found[(method, path)] = status
    assert found == {}

    for template in templates:
        reply = portal.get(filled(template, a["ids"], pattern))
        assert reply.status_code in (200, 302, 405), (template, reply.status_code)
