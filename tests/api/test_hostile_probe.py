"""A generated probe of every operation of the partner API, as an outside auditor drives it: the
operations are read from the served OpenAPI schema (a new endpoint is probed without editing this
file), each from its documented example body, and each is sent hostile variants by two partners:

- every leaf of the body replaced by a value no field takes (a number past any column, a list,
  an object, a NUL, a string past any length, a float), one per leaf, in turn; a name the
  object does not have; the same name twice; a list where the object belongs;
- bodies that are not JSON objects: not UTF-8, UTF-16, a byte-order mark, trailing garbage,
  nested past the limit, empty, and JSON sent as another content type;
- hostile `Idempotency-Key` headers (empty, too long, not ASCII) and `Xiaodai-Signature`
  headers (a digest of Latin-1 letters, a timestamp from another century);
- hostile path parameters and query strings (SQL-ish text, huge numbers, garbage cursors,
  paging parameters the API does not have);
- partner B sending each operation at partner A's objects.

Every refusal is a problem document naming what is at fault (`errors[].field`), never a 500, and
a refused write leaves every table as it was. Each request runs in a savepoint rolled back after
it, so each variant meets the same world and the probe is deterministic."""

import json

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client

from tests.api.conftest import KEY_A, KEY_B
from tests.api.test_bad_input import _set

PROBLEM = "application/problem+json"
# One of these replaces each leaf of a body in turn: no field of the API takes any of them.
HOSTILE_LEAVES = [10**30, [], {"a": 1}, "a\x00b", "x" * 5000, -1.5, ["a", {}]]
HOSTILE_BODIES = [
    (b"\xff\xfe{\x00}\x00", "application/json"),
    (b'{"a": "\xc3\x28"}', "application/json"),
    ("\ufeff{}".encode(), "application/json"),
    ("{}".encode("utf-16"), "application/json"),
    (b'{} {"trailing": 1}', "application/json"),
    (b'{"a":' * 30 + b"1" + b"}" * 30, "application/json"),
    (b"[{}]", "application/json"),
    (b"", "application/json"),
    (b"{}", "text/plain"),
    (b"a=b", "application/x-www-form-urlencoded"),
]
HOSTILE_HEADERS = [
    {"HTTP_IDEMPOTENCY_KEY": ""},
    {"HTTP_IDEMPOTENCY_KEY": "k" * 81},
    {"HTTP_IDEMPOTENCY_KEY": "ключ-1"},
    {"HTTP_XIAODAI_SIGNATURE": "t=1,v1=" + "\xe9" * 64},
    {"HTTP_XIAODAI_SIGNATURE": "t=999999999999,v1=" + "a" * 64},
]
HOSTILE_PATH_IDS = ["1' OR '1'='1", "9" * 30, "\u202e" + "x" * 300, "-1"]
HOSTILE_QUERIES = [
    "merchant=%27%20OR%201%3D1--",
    "cursor=%FF%FE",
    "cursor=" + "A" * 3000,
    "cursor=cD0tMQ==",
    "page=-1",
    "page_size=1000000000",
    "status=%E4%BD%A0&status=declined",
    "type=" + "x" * 2000,
]
APPS = ("merchants", "lending", "payments", "riskcontrol", "scoring", "common")


def _tables() -> list[str]:
    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.app_label in APPS and model._meta.managed and not model._meta.proxy
        }
    )


def _counts(tables) -> dict:
    query = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query)
        return dict(cursor.fetchall())


def _leaves(node, prefix=""):
    """Each (path, value) of a JSON body, dotted as the API names fields, innermost first."""
    if isinstance(node, dict | list):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for name, value in items:
            yield from _leaves(value, f"{prefix}.{name}" if prefix else str(name))
    if prefix:
        yield prefix, node


def _example_body(world, operation) -> dict | None:
    """The operation's first documented example, pointed at partner A's world."""
    content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    if content is None:
        return None
    examples = content.get("examples") or {}
    if not examples:
        return {}
    text = json.dumps(next(iter(examples.values()))["value"])
    for documented, ours in {
        '"SHOP-1"': '"SHOP-A"',
        '"SHOP-2"': '"SHOP-A2"',
        '"O-778"': '"ORD-A0"',
        '"line_id": 332': f'"line_id": {world.line.pk}',
    }.items():
        text = text.replace(documented, ours)
    return json.loads(text)


def _operations(world, client):
    schema = json.loads(client.get("/api/schema/?format=json").content)
    for template, methods in sorted(schema["paths"].items()):
        for method, operation in sorted(methods.items()):
            if method in ("get", "post", "patch", "delete"):
                yield method, template, operation, _example_body(world, operation)


class Probe:
    def __init__(self, world):
        from lending.models import Application
        from merchants.webhooks import services as webhooks

        endpoint, _secret = webhooks.endpoint_create(
            partner=world.partner_a, url="https://a.example.com/hooks", event_types=["loan.disbursed"]
        )
        application = Application.objects.filter(merchant=world.shop_a).first()
        self.ids = {
            "reference": world.loan.reference,
            "external_id": "SHOP-A",
            "merchant_id": "SHOP-A",
            "id": str(endpoint.pk),
        }
        self.application = application.reference if application else "APP-NONE"
        self.client = Client(raise_request_exception=False)
        self.tables = _tables()
        self.failures: list[str] = []
        self.sent = 0

    def url(self, template: str, **override) -> str:
        url = template
        if template.startswith("/api/v1/applications/{reference}"):
            url = url.replace("{reference}", override.get("reference", self.application))
        if template.startswith("/api/v1/orders/{external_id}"):
            url = url.replace("{external_id}", override.get("external_id", "ORD-A0"))
        for name, value in self.ids.items():
            url = url.replace("{" + name + "}", override.get(name, value))
        return url

    def send(self, method, url, *, raw=b"", content_type="application/json", key=KEY_A, **headers):
        self.sent += 1
        headers = {
            "HTTP_AUTHORIZATION": f"Api-Key {key}",
            "HTTP_IDEMPOTENCY_KEY": f"probe-{self.sent}",
            **headers,
        }
        savepoint = transaction.savepoint()
        try:
            before = _counts(self.tables) if method != "get" else None
            if method == "get":
                response = self.client.get(url, **headers)
            else:
                response = getattr(self.client, method)(url, raw, content_type=content_type, **headers)
            after = _counts(self.tables) if before is not None and response.status_code >= 400 else before
        finally:
            transaction.savepoint_rollback(savepoint)
        return response, before, after

    def judge(self, what: str, response, before, after, *, field: str | None = None, refused=False):
        """A refusal is a problem naming the field at fault and writes nothing; `refused`: this
        request must be refused."""
        status = response.status_code
        where = f"{what}: {status}"
        if status >= 500:
            self.failures.append(f"{where} server error")
            return
        if status < 400:
            if refused:
                self.failures.append(f"{where} accepted: {response.content[:160]!r}")
            return
        if not response["Content-Type"].startswith(PROBLEM):
            self.failures.append(f"{where} not a problem document: {response['Content-Type']}")
            return
        body = json.loads(response.content)
        named = [error.get("field") for error in body.get("errors") or []]
        if status == 404 and body.get("detail", "").startswith("no such URL"):
            return  # a path no route has (`/webhooks/endpoints/abc/`): no parameter to name
        if status in (400, 404, 409, 413, 415) and (not named or not all(named)):
            self.failures.append(f"{where} names no field: {body.get('detail')!r}")
        elif (
            field
            and status == 400
            and not any(
                n == field or n.startswith(field + ".") or field.startswith(n + ".") or n == "body"
                for n in named
            )
        ):
            self.failures.append(f"{where} names {named}, not {field}: {body.get('detail')!r}")
        if before != after:
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            self.failures.append(f"{where} refused yet wrote {changed}")


def _dumps(body) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture
def probe(world):
    from tests.merchants.factories import MerchantFactory

    MerchantFactory(partner=world.partner_a, external_id="SHOP-A2")
    return Probe(world)


def test_every_operation_refuses_hostile_bodies_naming_the_field_and_writing_nothing(world, probe):
    operations = list(_operations(world, probe.client))
    assert len(operations) >= 35, [template for _, template, _, _ in operations]
    turn = 0
    for method, template, _operation, body in operations:
        if body is None:
            continue
        url = probe.url(template)
        name = f"{method.upper()} {template}"
        for path, value in list(_leaves(body)):
            hostile = HOSTILE_LEAVES[turn % len(HOSTILE_LEAVES)]
            turn += 1
            response, before, after = probe.send(method, url, raw=_dumps(_set(body, path, hostile)))
            probe.judge(f"{name} {path}={hostile!r:.20}", response, before, after, field=path, refused=True)
            if isinstance(value, dict):
                response, before, after = probe.send(method, url, raw=_dumps(_set(body, path, [value])))
                probe.judge(f"{name} {path} as a list", response, before, after, field=path, refused=True)
        if isinstance(body, dict) and body:
            unknown = {**body, "colour": "red"}
            response, before, after = probe.send(method, url, raw=_dumps(unknown))
            probe.judge(f"{name} colour", response, before, after, field="colour", refused=True)
            first = next(iter(body))
            twice = b'{"%s": null, ' % first.encode() + _dumps(body)[1:]
            response, before, after = probe.send(method, url, raw=twice)
            probe.judge(f"{name} {first} twice", response, before, after, field=first, refused=True)
        for raw, content_type in HOSTILE_BODIES:
            response, before, after = probe.send(method, url, raw=raw, content_type=content_type)
            # (no body at all is `{}` where that asks for nothing: a PATCH changing nothing)
            probe.judge(
                f"{name} body {raw[:16]!r} as {content_type}", response, before, after, refused=bool(raw)
            )
    assert not probe.failures, "\n".join(probe.failures)


def test_every_operation_refuses_hostile_headers_paths_and_queries(world, probe):
    for method, template, operation, body in _operations(world, probe.client):
        name = f"{method.upper()} {template}"
        raw = b"" if body is None else _dumps(body)
        takes_key = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for headers in HOSTILE_HEADERS:
            if "HTTP_IDEMPOTENCY_KEY" in headers and not takes_key:
                continue
            response, before, after = probe.send(method, probe.url(template), raw=raw, **headers)
            field = "Idempotency-Key" if "HTTP_IDEMPOTENCY_KEY" in headers else "Xiaodai-Signature"
            probe.judge(f"{name} {headers}", response, before, after, refused=True)
            if response.status_code in (400, 401):
                named = [e["field"] for e in json.loads(response.content)["errors"]]
                if named != [field]:
                    probe.failures.append(
                        f"{name} {headers}: {response.status_code} names {named}, not {field}"
                    )
        parameters = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        for parameter in parameters:
            for hostile in HOSTILE_PATH_IDS:
                url = probe.url(template, **{parameter: hostile})
                response, before, after = probe.send(method, url, raw=raw)
                probe.judge(f"{name} {parameter}={hostile!r:.20}", response, before, after, refused=True)
        if method == "get":
            for query in HOSTILE_QUERIES:
                response, before, after = probe.send(method, f"{probe.url(template)}?{query}")
                probe.judge(f"{name} ?{query[:30]}", response, before, after, refused=True)
    assert not probe.failures, "\n".join(probe.failures)


def test_partner_b_reaches_none_of_partner_as_objects_through_any_operation(world, probe):
    for method, template, _operation, body in _operations(world, probe.client):
        if "{" not in template:
            continue
        raw = b"" if body is None else _dumps(body)
        response, before, after = probe.send(method, probe.url(template), raw=raw, key=KEY_B)
        probe.judge(f"B: {method.upper()} {template}", response, before, after, refused=True)
        if response.status_code != 404:
            probe.failures.append(f"B: {method.upper()} {template}: {response.status_code}, not 404")
    assert not probe.failures, "\n".join(probe.failures)
