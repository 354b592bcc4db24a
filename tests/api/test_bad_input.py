"""The bad-input corpus: every class of malformed input the partner API has been sent, against
every write endpoint. Each is refused with a 4xx problem document (RFC 9457) that names the field
at fault, nothing is written, and nothing is a server error."""

import copy
import datetime as dt
import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from lending.models import Application, CreditLine, Loan, LoanEvent
from merchants.models import Merchant, Order, OrderStatusChange, Owner, PortalHandoff, Settlement
from merchants.questionnaire import QUESTION_CODES
from payments.models import JournalEntry, Posting
from tests.api.conftest import KEY_A
from tests.merchants.factories import MerchantFactory, national_id

PROBLEM = "application/problem+json"
WATCHED = [
    Owner,
    Merchant,
    Order,
    OrderStatusChange,
    Settlement,
    JournalEntry,
    Posting,
    CreditLine,
    Loan,
    LoanEvent,
    Application,
    PortalHandoff,
]

# --- the corpus ---------------------------------------------------------------------------------

# Each is refused wherever an amount is expected. Raw JSON text where Python cannot say it.
BAD_AMOUNTS = [
    5,
    5.5,
    0,
    True,
    None,
    [],
    [0, [1, 2, 3], -2],
    {"yuan": "5.00"},
    "+5.00",
    "-5.00",
    "1_000.00",
    "1,000.00",
    "1e-2",
    "1e26",
    "1e309",
    "NaN",
    "Infinity",
    "0x10",
    "１０００.００",  # full-width
    "١٠٠٠",  # Arabic-Indic
    "۱۰۰۰",  # extended Arabic-Indic (Persian)
    "१०००",  # Devanagari
    " 5.00",
    "5.00 ",
    "5.00\n",
    "\u00a05.00",
    "5\u200b.00",
    "5.001",
    "5.",
    ".5",
    "05.00",
    "",
    "0.00",
    "100000000.00",  # above API_MAX_AMOUNT_FEN
    "9" * 40,
    "5.00\x00",
    json.loads('"\\u0035.00"') + "\x00",
]
# A member's declared figures may be zero and go up to API_MAX_DECLARED_FEN.
DECLARED_LARGEST_PLUS_ONE = "1000000000000.00"


def _bad_amounts(field: str) -> list:
    if not field.startswith("declared."):
        return BAD_AMOUNTS
    return [v for v in BAD_AMOUNTS if v not in ("0.00", "100000000.00")] + [DECLARED_LARGEST_PLUS_ONE]


RAW_AMOUNTS = ["1e309", "-1e309", "1" + "0" * 5000, "NaN", "Infinity"]
BAD_TEXT = [5, 5.5, True, None, [], ["a"], {"a": 1}, "a\x00b", "x" * 501, "   ", ""]
BAD_DATES = [
    "0001-01-01",
    "1999-12-31",
    "2999-01-01",
    "2026-02-30",
    "2026-1-1",
    "01/03/2026",
    20260301,
    "",
    "２０２６-０１-０１",
]
BAD_INSTANTS = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+08:00",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00Z",
    "1999-12-31T23:59:59+00:00",
    "2026-02-01T00:00:00+16:00",
    "2026-02-01T00:00:00+23:59",
    "2026-02-01T00:00:00-23:59",
    "9999-12-31T23:59:59-15:00",
    "2999-01-01T00:00:00+08:00",
    "2026-02-30T00:00:00+08:00",
    "yesterday",
    1767225600,
    "",
]
BAD_INTEGERS = [10**30, 2**63, -1, "5", 5.0, True, None, [], "1e3"]
BAD_BODIES = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep_object": '{"a":' * 50 + "1" + "}" * 50,
    "list": "[]",
    "string": '"hello"',
    "number": "1e309",
    "not json": "{not json",
    "nul": '{"a": "\\u0000"',
    "utf-16": '{"a": 1}'.encode("utf-16").decode("latin-1"),
}


def _instant(days_ago: int) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago, minutes=1)).isoformat()


def _merchant(world):
    return {
        "id": "SHOP-NEW",
        "shop_name": "杭州小衣橱",
        "category": "服装",
        "region": "浙江",
        "opened_on": "2021-03-01",
        "owner": {
            "name": "王芳",
            "national_id": national_id(901),
            "phone": "13800001111",
            "address": "杭州市余杭区文一西路969号",
        },
    }


def _order(world):
    return {
        "id": "ORD-NEW",
        "merchant_id": "SHOP-A",
        "buyer_id": "buyer-42",
        "amount": "199.90",
        "status": "paid",
        "placed_at": _instant(3),
        "paid_at": _instant(2),
    }


class Endpoint:
    def __init__(self, name, path, body, *, key=False, amounts=(), texts=(), dates=(), instants=(), ints=()):
        self.name, self.path, self.body, self.key = name, path, body, key
        self.amounts, self.texts, self.dates, self.instants, self.ints = amounts, texts, dates, instants, ints

    def __repr__(self):
        return self.name


ENDPOINTS = [
    Endpoint(
        "merchant",
        lambda w: "/api/v1/merchants/",
        _merchant,
        texts=("id", "shop_name", "category", "region", "owner.name", "owner.national_id", "owner.address"),
        dates=("opened_on",),
    ),
    Endpoint(
        "order",
        lambda w: "/api/v1/orders/",
        _order,
        amounts=("amount",),
        texts=("id", "merchant_id", "buyer_id"),
        instants=("placed_at", "paid_at"),
    ),
    Endpoint(
        "order batch",
        lambda w: "/api/v1/orders/batch/",
        lambda w: {"orders": [_order(w) | {"id": "ORD-NEW-0"}, _order(w)]},
        amounts=("orders.1.amount",),
        texts=("orders.1.id", "orders.1.merchant_id"),
        instants=("orders.1.placed_at", "orders.1.paid_at"),
    ),
    Endpoint(
        "order status",
        lambda w: "/api/v1/orders/ORD-A0/status/",
        lambda w: {"status": "delivered", "at": _instant(0)},
        instants=("at",),
    ),
    Endpoint(
        "settlement",
        lambda w: "/api/v1/settlements/",
        lambda w: {
            "id": "SET-NEW",
            "merchant_id": "SHOP-A",
            "amount": "1200.50",
            "settled_on": "2026-02-27",
            "order_count": 3,
        },
        key=True,
        amounts=("amount",),
        texts=("id", "merchant_id"),
        dates=("settled_on",),
        ints=("order_count",),
    ),
    Endpoint(
        "loan quote",
        lambda w: "/api/v1/loans/quote/",
        lambda w: {"line_id": w.line.pk, "amount": "2000.00"},
        amounts=("amount",),
        ints=("line_id",),
    ),
    Endpoint(
        "drawdown",
        lambda w: "/api/v1/loans/",
        lambda w: {"line_id": w.line.pk, "amount": "10000.00", "contract_sha256": w.contract_sha256},
        key=True,
        amounts=("amount",),
        texts=("contract_sha256",),
        ints=("line_id",),
    ),
    Endpoint(
        "repayment",
        lambda w: f"/api/v1/loans/{w.loan.reference}/repayments/",
        lambda w: {"amount": "100.00"},
        key=True,
        amounts=("amount",),
    ),
    Endpoint(
        "application quote",
        lambda w: "/api/v1/applications/quote/",
        lambda w: {"merchant": "SHOP-A", "product": "credit_loan", "amount": "2000.00"},
        amounts=("amount",),
        texts=("merchant", "product"),
    ),
    Endpoint(
        "application",
        lambda w: "/api/v1/applications/",
        lambda w: {
            "merchant": "SHOP-A",
            "product": "revolving",
            "amount": "60000.00",
            "declared": {
                "fiscal_year": 2025,
                "sales": "5000000.00",
                "net_profit_margin": "0.08",
                "total_assets": "3000000.00",
                "total_liabilities": "1000000.00",
                "platform_sales_share": "0.5",
            },
            "questionnaire": dict.fromkeys(QUESTION_CODES, 4),
        },
        key=True,
        amounts=("amount", "declared.sales", "declared.total_assets", "declared.total_liabilities"),
        texts=("merchant", "product"),
        ints=("declared.fiscal_year",),
    ),
    Endpoint(
        "appeal",
        lambda w: "/api/v1/applications/APP-NONE/appeal/",
        lambda w: {"reason": "our sales doubled"},
        texts=("reason",),
    ),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}


# --- helpers ------------------------------------------------------------------------------------


def _set(body: dict, path: str, value) -> dict:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in WATCHED}


def _post(client, world, endpoint, *, data, path=None):
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {KEY_A}"}
    if endpoint.key:
        headers["HTTP_IDEMPOTENCY_KEY"] = "corpus-1"
    raw = data if isinstance(data, str | bytes) else json.dumps(data, ensure_ascii=False)
    return client.post(path or endpoint.path(world), raw, content_type="application/json", **headers)


def _problem_naming(response, field: str) -> str | None:
    """What is wrong with a refusal, or None when it is the clear refusal wanted."""
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    if not 400 <= response.status_code < 500:
        return f"accepted ({response.status_code}): {response.content[:200]!r}"
    if response["Content-Type"] != PROBLEM:
        return f"not a problem document: {response['Content-Type']}"
    body = response.json()
    named = [error["field"] for error in body["errors"]]
    if field not in named:
        return f"{response.status_code} names {named}, not {field!r}: {body['detail']}"
    if body["status"] != response.status_code or not body["detail"] or not body["title"]:
        return f"incomplete problem document: {body}"
    return None


def _run(world, endpoint, cases) -> None:
    """Every case refused naming its field; nothing written by any of them."""
    client = Client()
    before = _counts()
    failures = []
    for field, data in cases:
        problem = _problem_naming(_post(client, world, endpoint, data=data), field)
        if problem:
            failures.append(f"{field} = {json.dumps(data, ensure_ascii=False)[:160]}: {problem}")
    assert not failures, "\n".join(failures)
    assert _counts() == before


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=repr)
def test_the_corpus_bodies_are_accepted_as_they_are(world, endpoint):
    # The corpus changes one thing at a time in a body the API takes; without this, a refusal
    # could come from something else.
    response = _post(Client(), world, endpoint, data=endpoint.body(world))
    if endpoint.name == "appeal":
        assert response.status_code == 404 and response.json()["errors"][0]["field"] == "reference"
    else:
        assert 200 <= response.status_code < 300, response.content[:400]


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.amounts], ids=repr)
def test_bad_amounts_are_refused_naming_the_field(world, endpoint):
    body = endpoint.body(world)
    cases = [(field, _set(body, field, value)) for field in endpoint.amounts for value in _bad_amounts(field)]
    # JSON numbers Python cannot write: put the raw text where the amount goes.
    marker = "__RAW__"
    for field in endpoint.amounts:
        text = json.dumps(_set(body, field, marker), ensure_ascii=False)
        cases += [(field, text.replace(f'"{marker}"', raw)) for raw in RAW_AMOUNTS]
    _run(world, endpoint, cases)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.texts], ids=repr)
def test_bad_text_is_refused_naming_the_field(world, endpoint):
    body = endpoint.body(world)
    cases = [(field, _set(body, field, value)) for field in endpoint.texts for value in BAD_TEXT]
    _run(world, endpoint, cases)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.dates or e.instants], ids=repr)
def test_bad_dates_and_instants_are_refused_naming_the_field(world, endpoint):
    body = endpoint.body(world)
    cases = [(field, _set(body, field, value)) for field in endpoint.dates for value in BAD_DATES]
    cases += [(field, _set(body, field, value)) for field in endpoint.instants for value in BAD_INSTANTS]
    _run(world, endpoint, cases)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.ints], ids=repr)
def test_bad_integers_are_refused_naming_the_field(world, endpoint):
    body = endpoint.body(world)
    cases = [(field, _set(body, field, value)) for field in endpoint.ints for value in BAD_INTEGERS]
    _run(world, endpoint, cases)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=repr)
def test_bodies_that_are_not_an_object_are_refused_naming_the_body(world, endpoint):
    _run(world, endpoint, [("body", text) for text in BAD_BODIES.values()])


def test_a_settlement_dated_year_one_is_refused_and_credits_nothing(world):
    endpoint = BY_NAME["settlement"]
    body = _set(endpoint.body(world), "settled_on", "0001-01-01")
    _run(world, endpoint, [("settled_on", body)])
    assert not Settlement.objects.filter(external_id="SET-NEW").exists()


def test_a_huge_order_count_is_refused_naming_it(world):
    endpoint = BY_NAME["settlement"]
    _run(world, endpoint, [("order_count", _set(endpoint.body(world), "order_count", 10**12))])


# --- NUL characters in ids, paths and queries, on the API and the portal -------------------------

NUL_PATHS = {
    "/api/v1/merchants/%00/": "external_id",
    "/api/v1/merchants/SHOP%00A/risk/": "external_id",
    "/api/v1/merchants/SHOP-A/offers/?x=%00": "x",
    "/api/v1/orders/%00/": "external_id",
    "/api/v1/wallets/%00/movements/": "merchant_id",
    "/api/v1/lines/%00/": "merchant_id",
    "/api/v1/loans/%00/": "reference",
    "/api/v1/applications/%00/": "reference",
    "/api/v1/applications/?merchant=%00": "merchant",
    "/api/v1/applications/?status=%00": "status",
    "/api/v1/merchants/?cursor=%00": "cursor",
    "/api/v1/nothing/%00/": "path",
}


@pytest.mark.parametrize(("path", "field"), NUL_PATHS.items())
def test_a_nul_in_an_api_path_or_query_is_a_400_naming_it(client_a, path, field):
    response = client_a.get(path)
    assert _problem_naming(response, field) is None, response.content[:300]
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/api/v1/orders/%00/status/", "/api/v1/loans/%00/repayments/", "/api/v1/merchants/%00/portal-link/"],
)
def test_a_nul_in_a_write_path_is_a_400_and_writes_nothing(world, path):
    before = _counts()
    response = Client().post(
        path,
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {KEY_A}",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert _counts() == before


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path", ["/%00", "/enter/%00/", "/apply/?product=%00", "/loans/%00/", "/admin/lending/loan/%00/change/"]
)
def test_a_nul_on_a_portal_page_is_a_plain_400_that_shows_no_settings(db, settings, path, debug):
    settings.DEBUG = debug
    response = Client().get(path)
    assert response.status_code == 400
    text = response.content.decode(errors="replace")
    for secret in ("DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "Traceback", "settings"):
        assert secret not in text


def test_a_nul_in_a_portal_form_is_a_400(db):
    response = Client().post("/login/", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 400


# --- cursors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "cD0xMjM=",
        "cD1hYmM=",
        "cD0lMDA=",
        "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
        "cj0xJnA9LTE=",
        "o" * 5000,
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/merchants/", "/api/v1/applications/"])
def test_a_crafted_cursor_is_a_404_naming_the_cursor(client_a, path, cursor):
    # p=123 (a cursor we never gave, still a valid id: fine), p=abc, p=%00, p=<a 28-digit id>, r=1&p=-1.
    response = client_a.get(path, {"cursor": cursor})
    if cursor == "cD0xMjM=":
        assert response.status_code == 200
        return
    assert _problem_naming(response, "cursor") is None, response.content[:300]
    assert response.status_code == 404


# --- sizes --------------------------------------------------------------------------------------


LONGEST_ID = "M" * 64


def _longest_order(n: int) -> dict:
    """An order with every field at its longest: ids of 64 characters, between two merchants
    whose ids are 64 characters long, the largest amount, every timestamp its status allows with
    microseconds and an offset."""
    return {
        "id": f"{n:064d}",
        "merchant_id": LONGEST_ID,
        "buyer_id": "b" * 64,
        "buyer_merchant_id": LONGEST_ID[:-1] + "B",
        "amount": "99999999.99",
        "status": "settled",
        "placed_at": "2026-02-01T10:00:00.123456+08:00",
        "paid_at": "2026-02-01T10:05:00.123456+08:00",
        "shipped_at": "2026-02-02T10:00:00.123456+08:00",
        "delivered_at": "2026-02-04T10:00:00.123456+08:00",
        "settled_at": "2026-02-05T10:00:00.123456+08:00",
    }


def test_the_largest_documented_batch_fits_the_upload_limit(world):
    MerchantFactory(partner=world.partner_a, external_id=LONGEST_ID)
    MerchantFactory(partner=world.partner_a, external_id=LONGEST_ID[:-1] + "B")
    body = json.dumps({"orders": [_longest_order(n) for n in range(settings.PARTNER_API_MAX_BATCH)]})
    assert 2_800_000 < len(body) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = Client().post(
        "/api/v1/orders/batch/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {KEY_A}"
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == settings.PARTNER_API_MAX_BATCH


def test_a_body_above_the_upload_limit_is_a_413_problem(world):
    before = _counts()
    body = '{"orders": [], "padding": "' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    response = Client().post(
        "/api/v1/orders/batch/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {KEY_A}"
    )
    assert response.status_code == 413 and response["Content-Type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "body"
    assert _counts() == before
