"""The partner API's errors speak the caller's language (Accept-Language: en or zh-hans; English
when absent or unknown), every kind of error, while what a program reads — the status, `type`,
`code`, each field's path — is the same in both. Through the real API client, with two partners'
keys, on the world of tests/security/test_bola_matrix.py."""

import re
import uuid

import pytest

from lending.models import Application, Loan, Product
from merchants.models import ApiScope
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import ApiKeyFactory
from tests.security.test_bola_matrix import fingerprint, two_partners

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


@pytest.fixture
def world(db):
    a, b = two_partners()
    return {"a": a, "b": b}


def machine(reply) -> dict:
    """What a program branches on: equal in every language."""
    body = reply.json()
    return {
        "status": reply.status_code,
        "type": body["type"],
        "code": body["code"],
        "fields": [error["field"] for error in body["errors"]],
        "legacy_code": body["error"]["code"],
    }


def words(reply) -> list[str]:
    body = reply.json()
    return [body["title"], body["detail"], *(error["message"] for error in body["errors"])]


def problems_of(name, english, chinese, status) -> list[str]:
    """What is wrong with the pair of replies to one request (nothing: [])."""
    problems = []
    if english.status_code != status or chinese.status_code != status:
        return [f"{name}: {english.status_code}/{chinese.status_code}, not {status}: {english.content[:300]}"]
    if machine(english) != machine(chinese):
        problems.append(f"{name}: {machine(english)} != {machine(chinese)}")
    if english.get("Content-Language") != "en" or chinese.get("Content-Language") != "zh-hans":
        problems.append(
            f"{name}: Content-Language {english.get('Content-Language')}/{chinese.get('Content-Language')}"
        )
    if "Accept-Language" not in chinese.get("Vary", ""):
        problems.append(f"{name}: no Vary: Accept-Language")
    problems += [f"{name}: not English: {text}" for text in words(english) if CJK.search(text)]
    problems += [f"{name}: not Chinese: {text}" for text in words(chinese) if not CJK.search(text)]
    return problems


def _line(side):
    return side["ids"][("draw", "line_id")]


def _case_calls(world):
    a, b = world["a"], world["b"]
    client = a["client"]
    from rest_framework.test import APIClient

    from merchants.models import ApiScope
    from tests.merchants.factories import ApiKeyFactory

    anonymous = APIClient()
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Api-Key xd_nothere_" + "z" * 40)
    ApiKeyFactory(partner=a["merchant"].partner, raw_key="xd_readonly_" + "r" * 40, scopes=[ApiScope.READ])
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION="Api-Key xd_readonly_" + "r" * 40)
    loan = a["ids"][("loans", "reference")]
    return {
        "required": lambda h: client.post("/api/v1/merchants/", {}, format="json", **h),
        "own_field": lambda h: client.post(
            "/api/v1/loans/quote/", {"line_id": _line(a), "amount": 12.5, "amout": "1"}, format="json", **h
        ),
        "nested": lambda h: client.post(
            "/api/v1/merchants/",
            {
                "id": "N-1",
                "shop_name": "S",
                "category": "apparel",
                "region": "Shanghai",
                "opened_on": "2020-01-01",
                "owner": {"name": "x", "national_id": "1", "phone": "13800000000", "address": "a"},
            },
            format="json",
            **h,
        ),
        "no_key": lambda h: anonymous.get("/api/v1/merchants/", **h),
        "bad_key": lambda h: wrong.get("/api/v1/merchants/", **h),
        "scope": lambda h: reader.post(
            "/api/v1/loans/quote/", {"line_id": _line(a), "amount": "10.00"}, format="json", **h
        ),
        "not_found": lambda h: client.get(f"/api/v1/merchants/{b['merchant'].external_id}/", **h),
        "no_url": lambda h: client.get("/api/v1/nothing-here/", **h),
        "method": lambda h: client.delete("/api/v1/loans/quote/", **h),
        "query": lambda h: client.get("/api/v1/merchants/?stauts=1", **h),
        "parse": lambda h: client.generic(
            "POST", "/api/v1/loans/quote/", b"{nope", content_type="application/json", **h
        ),
        "no_type": lambda h: client.generic("POST", "/api/v1/loans/quote/", b"{}", content_type="", **h),
        "limit": lambda h: client.post(
            "/api/v1/loans/quote/", {"line_id": _line(a), "amount": "99999.00"}, format="json", **h
        ),
        "other_line": lambda h: client.post(
            "/api/v1/loans/quote/", {"line_id": _line(b), "amount": "100.00"}, format="json", **h
        ),
        "repay_conflict": lambda h: client.post(
            f"/api/v1/loans/{loan}/repayments/",
            {"amount": "3.00"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="lang-1",
            **h,
        ),
        "questionnaire": lambda h: client.post(
            "/api/v1/applications/",
            {
                "merchant": a["merchant"].external_id,
                "product": "credit_loan",
                "amount": "100.00",
                "questionnaire": {"q99": 3},
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="lang-q",
            **h,
        ),
        "pledged": lambda h: client.post(
            "/api/v1/applications/quote/",
            {
                "merchant": a["merchant"].external_id,
                "product": "order_loan",
                "amount": "100.00",
                "orders": [b["ids"][("orders", "external_id")]],
            },
            format="json",
            **h,
        ),
    }


def _client(raw=None, **credentials):
    from rest_framework.test import APIClient

    client = APIClient()
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _cases(world) -> dict:
    """Each kind of error, as a request sent with the given language headers, and its status."""
    a, b = world["a"], world["b"]
    client = a["client"]
    reader_key = "xd_readonly_" + "r" * 40
    ApiKeyFactory(partner=a["merchant"].partner, raw_key=reader_key, scopes=[ApiScope.READ])
    reader, anonymous = _client(reader_key), _client()
    wrong = _client("xd_nothere_" + "z" * 40)
    loan = a["ids"][("loans", "reference")]
    line_a, line_b = a["ids"][("draw", "line_id")], b["ids"][("draw", "line_id")]
    order_line = CreditLineFactory(
        merchant=a["merchant"], product=Product.objects.get(code="order_loan"), limit_fen=10_000_000
    )
    # The key is spent on 2.00; sent again for 3.00 it is a conflict.
    spent = client.post(
        f"/api/v1/loans/{loan}/repayments/", {"amount": "2.00"}, format="json", HTTP_IDEMPOTENCY_KEY="lang-1"
    )
    assert spent.status_code == 201, spent.content

    def quote(body, who=client):
        return lambda h: who.post("/api/v1/loans/quote/", body, format="json", **h)

    merchant = a["merchant"].external_id
    return {
        # validation: DRF's own messages, ours, a nested path, an unknown name
        "drf required": (lambda h: client.post("/api/v1/merchants/", {}, format="json", **h), 400),
        "drf not a date": (
            lambda h: client.post(
                "/api/v1/merchants/",
                {
                    "id": "N-1",
                    "shop_name": "S",
                    "category": "apparel",
                    "region": "Shanghai",
                    "opened_on": "someday",
                    "owner": {"name": "x", "national_id": "1", "phone": "1", "address": "a"},
                },
                format="json",
                **h,
            ),
            400,
        ),
        "yuan as a number, an unknown name": (quote({"line_id": line_a, "amount": 12.5, "amout": "1"}), 400),
        "integer as text": (quote({"line_id": "7", "amount": "10.00"}), 400),
        "unknown query parameter": (lambda h: client.get("/api/v1/merchants/?stauts=1", **h), 400),
        "not JSON": (
            lambda h: client.generic(
                "POST", "/api/v1/loans/quote/", b"{nope", content_type="application/json", **h
            ),
            400,
        ),
        "NUL in the path": (lambda h: client.get("/api/v1/merchants/a%00b/", **h), 400),
        "no Content-Type": (
            lambda h: client.generic("POST", "/api/v1/loans/quote/", b"{}", content_type="", **h),
            415,
        ),
        "no Idempotency-Key": (
            lambda h: client.post(
                f"/api/v1/loans/{loan}/repayments/", {"amount": "1.00"}, format="json", **h
            ),
            400,
        ),
        # keys and scopes
        "no key": (lambda h: anonymous.get("/api/v1/merchants/", **h), 401),
        "unknown key": (lambda h: wrong.get("/api/v1/merchants/", **h), 401),
        "scope lacking": (quote({"line_id": line_a, "amount": "10.00"}, who=reader), 403),
        # not found: another partner's objects, an unknown URL, a method
        "another partner's merchant": (
            lambda h: client.get(f"/api/v1/merchants/{b['merchant'].external_id}/", **h),
            404,
        ),
        "another partner's line": (quote({"line_id": line_b, "amount": "100.00"}), 404),
        "another partner's loan": (
            lambda h: client.get(f"/api/v1/loans/{b['ids'][('loans', 'reference')]}/", **h),
            404,
        ),
        "unknown URL": (lambda h: client.get("/api/v1/nothing-here/", **h), 404),
        "method": (lambda h: client.delete("/api/v1/loans/quote/", **h), 405),
        # idempotency
        "key used with another amount": (
            lambda h: client.post(
                f"/api/v1/loans/{loan}/repayments/",
                {"amount": "3.00"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="lang-1",
                **h,
            ),
            409,
        ),
        # the services' refusals
        "credit limit": (quote({"line_id": line_a, "amount": "99999.00"}), 400),
        "shipped orders do not cover the amount": (
            quote({"line_id": order_line.pk, "amount": "90000.00"}),
            400,
        ),
        "another partner's order": (
            lambda h: client.post(
                "/api/v1/applications/quote/",
                {
                    "merchant": merchant,
                    "product": "order_loan",
                    "amount": "100.00",
                    "orders": [b["ids"][("orders", "external_id")]],
                },
                format="json",
                **h,
            ),
            400,
        ),
        "unknown product": (
            lambda h: client.post(
                "/api/v1/applications/quote/",
                {"merchant": merchant, "product": "nothing", "amount": "100.00"},
                format="json",
                **h,
            ),
            400,
        ),
    }


def test_every_kind_of_error_speaks_the_callers_language_and_keeps_its_codes(world):
    cases = _cases(world)
    before = fingerprint()
    problems = []
    for name, (call, status) in cases.items():
        english, chinese = call(EN), call(ZH)
        assert english.status_code < 500 and chinese.status_code < 500, (name, english.content)
        problems += problems_of(name, english, chinese, status)
    assert not problems, "\n".join(problems)
    assert fingerprint() == before


def test_the_legal_cap_refusal_speaks_the_callers_language(world, settings):
    settings.LENDING_ANNUAL_COST_CAP = 0.01
    client, line = world["a"]["client"], world["a"]["ids"][("draw", "line_id")]

    def call(h):
        return client.post("/api/v1/loans/quote/", {"line_id": line, "amount": "1000.00"}, format="json", **h)

    english, chinese = call(EN), call(ZH)
    assert "legal cap" in english.json()["detail"]
    assert not problems_of("legal cap", english, chinese, 400)


def test_throttling_speaks_the_callers_language(world, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_LIMITS = {"key": "1/min", "partner": ""}
    replies = {}
    for language, headers in (("en", EN), ("zh", ZH)):
        key = f"xd_throttle{language}_" + "t" * 40
        ApiKeyFactory(partner=world["a"]["merchant"].partner, raw_key=key)
        client = _client(key)
        assert client.get("/api/v1/merchants/", **headers).status_code == 200
        replies[language] = client.get("/api/v1/merchants/", **headers)
    assert not problems_of("throttled", replies["en"], replies["zh"], 429)
    assert replies["zh"].has_header("Retry-After")


@pytest.mark.parametrize(
    "header, language",
    [
        (None, "en"),
        ("", "en"),
        ("fr-FR,fr;q=0.9", "en"),
        ("*", "en"),
        ("zh-CN,zh;q=0.9", "zh-hans"),
        ("zh-Hans", "zh-hans"),
        ("zh;q=0.1, en;q=0.9", "en"),
        ("de, zh-hans;q=0.5", "zh-hans"),
        ("en-GB", "en"),
        ("x" * 600, "en"),
        ("zh-hans;q=nonsense", "en"),
    ],
)
def test_the_language_is_the_accept_language_header_alone(world, header, language):
    client = world["a"]["client"]
    headers = {} if header is None else {"HTTP_ACCEPT_LANGUAGE": header}
    reply = client.get(f"/api/v1/merchants/{world['b']['merchant'].external_id}/", **headers)
    assert reply.status_code == 404
    assert reply["Content-Language"] == language
    assert bool(CJK.search(reply.json()["detail"])) == (language == "zh-hans")
    # A success says its language too.
    assert client.get("/api/v1/merchants/", **headers)["Content-Language"] == language


def test_the_portals_cookie_language_does_not_reach_the_api(world, settings):
    client = world["a"]["client"]
    path = f"/api/v1/merchants/{world['b']['merchant'].external_id}/"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert client.get(path)["Content-Language"] == "en"
    assert client.get(path, **EN)["Content-Language"] == "en"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    chinese = client.get(path, **ZH)
    assert chinese["Content-Language"] == "zh-hans"
    assert CJK.search(chinese.json()["detail"])


def test_an_application_refused_in_chinese_writes_nothing_and_names_the_same_fields(world):
    client = world["a"]["client"]
    body = {
        "merchant": world["a"]["merchant"].external_id,
        "product": "credit_loan",
        "amount": "-1",
        "colour": 1,
    }
    before = Application.objects.count(), Loan.objects.count()
    english = client.post(
        "/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **EN
    )
    chinese = client.post(
        "/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **ZH
    )
    assert not problems_of("application", english, chinese, 400)
    assert (Application.objects.count(), Loan.objects.count()) == before
