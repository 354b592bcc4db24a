"""Two partners attack the partner API from outside, driven by its OpenAPI schema: every operation
the schema lists (a new endpoint is in every matrix below without editing this file) gets

- each field of its documented example body (top level and one level into lists and objects)
  replaced by a hostile value: null, the wrong type, 1e400, 10**30, beyond bigint, -0, NaN and
  Infinity literals, negative and fractional fen, amounts with three decimals, a 100,000-character
  string, control characters, a NUL byte, a lone surrogate, deep nesting, a huge array;
- the body as a whole broken: not JSON, JSON of the wrong top-level type, an unknown field, a name
  sent twice, wrong content types, a gzip bomb, a body that is not UTF-8;
- its credentials abused (none, unknown, revoked, malformed) and, for paths with an id, partner
  B's id with partner A's key (404, never 403: existence is not leaked);
- its Idempotency-Key, where it takes one, empty, over-long, non-ASCII, reused with another body,
  and reused by the other partner (which must never get A's kept reply);
- its query parameters (cursor, filters) negative, huge, non-numeric, or naming B's merchant.

After each hostile request: a 4xx problem document (a 400 naming the field at fault), never a 500,
and not one row added or removed in any table of the project (one query counts them all).
Runs on SQLite and on PostgreSQL (DATABASE_URL): NUL bytes, integers beyond bigint and numeric
rounding only fail there.

By default (for CI's time) every fourth operation of each list (`sample`, in the schema's order)
gets every kind of attack above with a few hostile values of each (`few`); XIAODAI_HOSTILE_FULL=1
runs every operation with every value of every list:

    XIAODAI_HOSTILE_FULL=1 pytest tests/outsider/test_two_partners_hostile.py"""

import datetime as dt
import functools
import gzip
import json
import os
import re

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from merchants.models import ApiKey
from tests.security.conftest import partner_client_for
from tests.security.test_bola_matrix import filled, two_partners

PROBLEM = "application/problem+json"
# The whole sweep (every hostile value, header and parameter) only when asked: by default every
# operation still gets each kind of attack, with a few values of each.
FULL = bool(os.environ.get("XIAODAI_HOSTILE_FULL"))


def few(cases: dict, kept: tuple[str, ...]) -> dict:
    """`cases`, or only those named in `kept` unless XIAODAI_HOSTILE_FULL is set."""
    assert set(kept) <= set(cases), set(kept) - set(cases)
    return cases if FULL else {kind: value for kind, value in cases.items() if kind in kept}


def sample(ops: list, keep: dict | None = None) -> list:
    """`ops`, or every fourth of them and those named in `keep` (known defects, so their strict
    xfail runs) unless XIAODAI_HOSTILE_FULL is set: each test builds two partners' worlds, about
    two seconds."""
    if FULL:
        return ops
    kept = {f"{op[0].upper()} {op[1]}" for op in ops} & set(keep or {})
    return [op for n, op in enumerate(ops) if n % 4 == 0 or f"{op[0].upper()} {op[1]}" in kept]


METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, dict]]:
    """(method, path template, operation) of every operation in the schema."""
    return [
        (method, template, operation)
        for template, ops in _schema()["paths"].items()
        for method, operation in ops.items()
        if method in METHODS
    ]


OPERATIONS = operations()


def _op_id(op) -> str:
    return f"{op[0].upper()} {op[1]}"


def example_body(operation: dict):
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = content.get("examples") or {}
    for example in examples.values():
        return json.loads(json.dumps(example["value"]))
    return None


def takes_idempotency_key(operation: dict) -> bool:
    return any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))


WITH_BODY = [op for op in OPERATIONS if example_body(op[2]) is not None]
WITH_IDS = [op for op in OPERATIONS if "{" in op[1]]
WITH_KEY = [op for op in OPERATIONS if takes_idempotency_key(op[2])]
WITH_QUERY = [
    (method, template, param["name"])
    for method, template, operation in OPERATIONS
    for param in operation.get("parameters", [])
    if param["in"] == "query"
]

# --- the world ---------------------------------------------------------------------------------


@pytest.fixture
def world(db, settings):
    """Partner A and partner B (tests/security/test_bola_matrix.two_partners), rate limits off
    (this file sends thousands of requests)."""
    settings.API_RATE_LIMITS = {}
    return two_partners()


def a_body(world, template: str, body):
    """The schema's example body pointed at partner A's own objects."""
    a = world[0]
    merchant, ids = a["merchant"], a["ids"]
    order = ids[("orders", "external_id")]
    text = json.dumps(body, ensure_ascii=False)
    text = text.replace('"SHOP-1"', json.dumps(merchant.external_id)).replace('"O-778"', json.dumps(order))
    body = json.loads(text)
    if isinstance(body, dict) and "line_id" in body:
        body["line_id"] = ids[("draw", "line_id")] if ("draw", "line_id") in ids else body["line_id"]
    return body


def path_for(world, template: str, side: int = 0) -> str:
    return filled(template, world[side]["ids"], r"\{(\w+)\}")


_COUNT_SQL: list[str] = []


def counts() -> tuple:
    """The number of rows in every table of the project, in one query."""
    if not _COUNT_SQL:
        tables = sorted(
            {m._meta.db_table for m in apps.get_models() if m._meta.managed and not m._meta.proxy}
        )
        quote = connection.ops.quote_name
        _COUNT_SQL.append("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables))  # noqa: S608  (table names from the models)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL[0])
        return tuple(cursor.fetchone())


def _changed(before: tuple, after: tuple) -> list[str]:
    tables = sorted({m._meta.db_table for m in apps.get_models() if m._meta.managed and not m._meta.proxy})
    return [f"{t}: {x} -> {y}" for t, x, y in zip(tables, before, after, strict=True) if x != y]


def send(client: APIClient, method: str, path: str, raw, content_type="application/json", **headers):
    if method == "get" or method == "delete":
        return getattr(client, method)(path, **headers)
    if not content_type:  # no Content-Type header at all (the client's post would encode a form)
        raw = raw.encode() if isinstance(raw, str) else raw
        return client.generic(method.upper(), path, data=raw, content_type=None, **headers)
    return getattr(client, method)(path, data=raw, content_type=content_type, **headers)


def problem(response) -> dict:
    """The reply as a problem document (asserting it is one, and no server error)."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    assert response.status_code >= 400, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith(PROBLEM), (response.status_code, response["Content-Type"])
    body = json.loads(response.content)
    assert body["status"] == response.status_code and body["detail"], body
    return body


def named(body: dict) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


def names(body: dict, field: str) -> bool:
    """Whether the problem names `field`, a field inside it, or (for a whole item refused) its
    parent item."""
    found = named(body)
    return any(f == field or f.startswith(field + ".") or field.startswith(f + ".") for f in found)


def refused(
    kind: str, response, before: tuple, *, status: tuple = (), naming: str = "", exactly: bool = False
) -> list[str]:
    """What is wrong with `response` as the refusal of the hostile request `kind`: a server error
    or not a problem document; another status than `status` (when given); a 400 or 415 naming
    nothing, or not `naming` (when given: as names() reads it, or `exactly` that path); a row
    written since `before` (counts())."""
    try:
        body = problem(response)
    except AssertionError as exc:
        return [f"{kind}: {exc}"]
    code = response.status_code
    faults = []
    if status and code not in status:
        faults.append(f"{kind}: {code}, not {'/'.join(map(str, status))}: {response.content[:200]!r}")
    elif naming and not (naming in named(body) if exactly else names(body, naming)):
        faults.append(f"{kind}: {code} naming {sorted(named(body))}, not {naming}")
    elif code in (400, 415) and not named(body):
        faults.append(f"{kind}: {code} naming nothing {body}")
    changed = _changed(before, counts())
    if changed:
        faults.append(f"{kind}: written {changed}")
    return faults


def idem(request_id) -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": f"hostile-{request_id}"}


# --- hostile values, as raw JSON text -----------------------------------------------------------

# Never a valid value for any field of this API.
NEVER_VALID = {
    "1e400": "1e400",
    "-1e400": "-1e400",
    "10**30": "1" + "0" * 30,
    "beyond bigint": "9223372036854775808",
    "beyond bigint, negative": "-9223372036854775809",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "4300 digits": "9" * 5000,
    "100,000 characters": '"' + "x" * 100_000 + '"',
    "a NUL byte": '"SHOP\\u0000A"',
    "a raw control character": '"a\\u0001b"',
    "an escape character": '"a\\u001b[31mb"',
    "a lone surrogate": '"\\ud800"',
    "a lone low surrogate": '"a\\udfffb"',
    "deep nesting": "[" * 200 + "]" * 200,
    "deep objects": '{"a":' * 30 + "1" + "}" * 30,
    "a huge array": "[" + "0," * 200_000 + "0]",
    "an object": '{"yuan": "5.00"}',
}
# Valid for some fields: never a 500, and a refusal names the field and writes nothing.
MAYBE_VALID = {
    "null": "null",
    "true": "true",
    "a list": '["x"]',
    "-0": "-0",
    "-0.0": "-0.0",
    "negative fen": "-1",
    "negative amount": '"-1.00"',
    "fractional fen": "0.5",
    "three decimals": '"1.005"',
    "three decimals, number": "1.005",
    "empty": '""',
    "Infinity as text": '"Infinity"',
    "NaN as text": '"NaN"',
    "beyond bigint, as text": '"92233720368547758080"',
    "a number": "7",
    "a big float": "1.7976931348623157e308",
    "a tiny float": "5e-324",
}
# Never valid where the schema says the field is a string (a text, an id, an amount).
NOT_A_STRING = {"null (not nullable)": "null", "true": "true", "a list": '["x"]', "a number": "7"}

SENTINEL = "__hostile_value__"


def field_paths(body, prefix: str = "") -> list[tuple[str, list]]:
    """(dotted path, key path) of every field of `body`: its top level and one level into the
    first item of each list and each object."""
    found = []
    if not isinstance(body, dict):
        return found
    for name, value in body.items():
        path = f"{prefix}{name}"
        found.append((path, [name]))
        if not prefix:
            if isinstance(value, list) and value and isinstance(value[0], dict):
                found += [(p, [name, 0, *k]) for p, k in field_paths(value[0], f"{path}.0.")]
            elif isinstance(value, dict):
                found += [(p, [name, *k]) for p, k in field_paths(value, f"{path}.")]
    return found


def with_value(body, keys: list, raw: str) -> str:
    """`body` as JSON text with the field at `keys` replaced by the raw JSON `raw`."""
    body = json.loads(json.dumps(body))
    target = body
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = SENTINEL
    return json.dumps(body, ensure_ascii=False).replace(json.dumps(SENTINEL), raw)


def _field_is_string(operation: dict, keys: list) -> bool:
    """Whether the schema types the (top-level or nested) field as a non-nullable string."""
    schema = _schema()
    components = schema["components"]["schemas"]

    def resolve(spec):
        while "$ref" in spec:
            spec = components[spec["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in spec and len(spec["allOf"]) == 1:
            spec = resolve(spec["allOf"][0])
        return spec

    content = operation["requestBody"]["content"]["application/json"]
    spec = resolve(content["schema"])
    for key in keys:
        if isinstance(key, int):
            spec = resolve(spec.get("items", {}))
        else:
            spec = resolve(spec.get("properties", {}).get(key, {}))
    return spec.get("type") == "string" and not spec.get("nullable") and "enum" not in spec


# --- 1. every field of every body, hostile values --------------------------------------------


@pytest.mark.parametrize("op", sample(WITH_BODY), ids=_op_id)
def test_every_field_refuses_hostile_values_naming_it_and_writes_nothing(world, op):
    method, template, operation = op
    client = world[0]["client"]
    path = path_for(world, template)
    base = a_body(world, template, example_body(operation))
    faults = []
    request_id = 0
    for field, keys in field_paths(base):
        string_field = _field_is_string(operation, keys)
        cases = {
            **few(
                NEVER_VALID,
                ("1e400", "beyond bigint", "NaN", "a NUL byte", "a lone surrogate", "deep nesting"),
            ),
            **few(MAYBE_VALID, ("null", "a list", "negative amount", "three decimals", "a number")),
        }
        for kind, raw in cases.items():
            request_id += 1
            before = counts()
            response = send(client, method, path, with_value(base, keys, raw), **idem(request_id))
            status = response.status_code
            where = f"{field} = {kind}"
            if status >= 500:
                faults.append(f"{where}: {status} {response.content[:200]!r}")
                continue
            must_refuse = kind in NEVER_VALID or (string_field and kind in NOT_A_STRING)
            if status < 400:
                if must_refuse:
                    faults.append(f"{where}: accepted ({status})")
                continue
            try:
                body = problem(response)
            except AssertionError as exc:
                faults.append(f"{where}: not a problem document {exc}")
                continue
            deep = kind.startswith("deep")  # refused by the parser: the body as a whole
            if status == 400 and not (names(body, "body") if deep else names(body, field)) and must_refuse:
                faults.append(f"{where}: 400 naming {sorted(named(body))}, not {field}")
            changed = _changed(before, counts())
            if changed:
                faults.append(f"{where}: {status} but written {changed}")
    assert not faults, "\n".join(faults)


# --- 2. the body as a whole ---------------------------------------------------------------------

WHOLE_BODIES = {
    "not JSON": "{'amount': 5}",
    "truncated": '{"amount": "5.00"',
    "empty": "",
    "a list": "[]",
    "a list of the body": None,  # filled in: [example]
    "a string": '"x"',
    "a number": "5",
    "null": "null",
    "true": "true",
    "NaN": "NaN",
    "deep": "[" * 100_000 + "]" * 100_000,
    "a lone surrogate as a name": '{"\\ud800": 1}',
    "a NUL byte as a name": '{"a\\u0000": 1}',
    "trailing garbage": '{"a": 1} x',
    "two documents": "{}{}",
    "a BOM": "\ufeff{}",
}


def _known(ops: list, defects: dict[str, str]) -> list:
    """`ops` with each one whose `_op_id` is in `defects` marked xfail(strict) with its reason:
    a defect found, not fixed in the file it lives in yet."""
    return [
        pytest.param(op, marks=pytest.mark.xfail(strict=True, reason=defects[_op_id(op)]))
        if _op_id(op) in defects
        else op
        for op in ops
    ]


# Defects found and not yet fixed (strict xfail, always sampled); none open.
WHOLE_BODY_DEFECTS: dict[str, str] = {}
# Where money or settings moved on a body read as nothing (an empty body, a body without its
# Content-Type: repaid everything owed, a PATCH answered 200): sampled every run.
WHERE_NOTHING_WAS_READ = {
    "POST /api/v1/loans/{reference}/repayments/": "repaid everything owed",
    "PATCH /api/v1/webhooks/endpoints/{id}/": "a 200 that changed nothing",
}


@pytest.mark.parametrize(
    "op",
    _known(sample(WITH_BODY, {**WHOLE_BODY_DEFECTS, **WHERE_NOTHING_WAS_READ}), WHOLE_BODY_DEFECTS),
    ids=_op_id,
)
def test_a_body_that_is_not_the_object_is_refused_naming_body(world, op):
    method, template, operation = op
    client = world[0]["client"]
    path = path_for(world, template)
    base = a_body(world, template, example_body(operation))
    faults = []
    for i, (kind, raw) in enumerate(
        few(WHOLE_BODIES, ("not JSON", "empty", "a list of the body", "deep", "a NUL byte as a name")).items()
    ):
        if raw is None:
            raw = json.dumps([base])
        before = counts()
        response = send(client, method, path, raw, **idem(f"whole-{i}"))
        # An empty PATCH changes nothing (a name the endpoint does not have is refused, naming it).
        if kind == "empty" and response.status_code < 400 and method == "patch":
            if _changed(before, counts()):
                faults.append(f"{kind}: {response.status_code} but written {_changed(before, counts())}")
            continue
        faults += refused(kind, response, before)
    assert not faults, "\n".join(faults)


@pytest.mark.parametrize("op", sample(WITH_BODY), ids=_op_id)
def test_an_unknown_or_missing_field_is_refused_naming_it(world, op):
    method, template, operation = op
    client = world[0]["client"]
    path = path_for(world, template)
    base = a_body(world, template, example_body(operation))
    # Each an example body with one name added (at the top, inside each object and in each list's
    # first item) or one required name left out: a 400 naming it, before anything is read or
    # written (so the example, which the world may already hold, is never sent whole).
    cases = {"is_admin": {**base, "is_admin": True}}
    for name, value in base.items():
        listed = isinstance(value, list) and bool(value)
        if isinstance(value[0] if listed else value, dict):
            body = json.loads(json.dumps(base))
            (body[name][0] if listed else body[name])["colour"] = "red"
            cases[f"{name}.0.colour" if listed else f"{name}.colour"] = body
    if method != "patch":
        content = operation["requestBody"]["content"]["application/json"]
        ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
        for name in _schema()["components"]["schemas"][ref].get("required", []):
            cases[name] = {k: v for k, v in base.items() if k != name}
    faults = []
    for i, (field, body) in enumerate(cases.items()):
        before = counts()
        response = send(client, method, path, json.dumps(body), **idem(f"names-{i}"))
        faults += refused(field, response, before, status=(400,), naming=field, exactly=True)
    assert not faults, "\n".join(faults)


CONTENT_TYPES = {
    "text/plain": ("text/plain", None),
    "form": ("application/x-www-form-urlencoded", "amount=5.00&merchant=x"),
    "multipart": (
        "multipart/form-data; boundary=xx",
        '--xx\r\nContent-Disposition: form-data; name="amount"\r\n\r\n5\r\n--xx--\r\n',
    ),
    "xml": ("application/xml", "<amount>5</amount>"),
    "json, latin-1": ("application/json; charset=latin-1", None),
    "json, an unknown charset": ("application/json; charset=klingon", None),
    "json, utf-16": ("application/json; charset=utf-16", None),
    "no content type": ("", None),
}


CONTENT_TYPE_DEFECTS: dict[str, str] = {}


@pytest.mark.parametrize(
    "op",
    _known(sample(WITH_BODY, {**CONTENT_TYPE_DEFECTS, **WHERE_NOTHING_WAS_READ}), CONTENT_TYPE_DEFECTS),
    ids=_op_id,
)
def test_a_body_of_another_content_type_is_refused(world, op):
    method, template, operation = op
    client = world[0]["client"]
    path = path_for(world, template)
    base = json.dumps(a_body(world, template, example_body(operation)), ensure_ascii=False)
    faults = []
    for i, (kind, (content_type, raw)) in enumerate(
        few(CONTENT_TYPES, ("text/plain", "form", "no content type")).items()
    ):
        before = counts()
        response = send(
            client, method, path, raw if raw is not None else base, content_type, **idem(f"ct-{i}")
        )
        if response.status_code < 400 and kind.startswith("json, "):
            # Still application/json, which has no charset parameter (RFC 8259 §11): the body
            # is read as UTF-8 whatever charset it names, and may be an acceptable body.
            continue
        faults += refused(kind, response, before)
    # Bytes that are not UTF-8 under a JSON content type; a gzip bomb announced as such.
    raw_cases = {
        "not UTF-8": (b'{"amount": "\xff\xfe"}', {}),
        "gzip bomb": (gzip.compress(b"[" * 10_000_000), {"HTTP_CONTENT_ENCODING": "gzip"}),
        "gzip of the example": (gzip.compress(base.encode()), {"HTTP_CONTENT_ENCODING": "gzip"}),
    }
    for kind, (raw, headers) in few(raw_cases, ("not UTF-8", "gzip of the example")).items():
        before = counts()
        response = send(client, method, path, raw, **headers, **idem(f"raw-{kind}"))
        faults += refused(kind, response, before)
    assert not faults, "\n".join(faults)


# --- 3. credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize("op", sample(OPERATIONS), ids=_op_id)
def test_no_valid_key_gets_a_401_naming_authorization(world, op):
    method, template, operation = op
    path = path_for(world, template)
    raw = json.dumps(a_body(world, template, example_body(operation)) or {})
    revoked = partner_client_for(partner=world[0]["merchant"].partner)
    expired = partner_client_for(partner=world[0]["merchant"].partner)
    keys = list(ApiKey.objects.order_by("-pk")[:2])
    ApiKey.objects.filter(pk=keys[1].pk).update(revoked_at=timezone.now())
    ApiKey.objects.filter(pk=keys[0].pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    authorizations = {
        "none": None,
        "unknown": "Api-Key xd_nobody00_" + "z" * 40,
        "revoked": f"Api-Key {revoked.raw_key}",
        "expired": f"Api-Key {expired.raw_key}",
        "another scheme": "Bearer " + "z" * 40,
        "empty": "",
        "only the scheme": "Api-Key ",
        # (a WSGI server hands a header's bytes over as Latin-1 characters)
        "non-ASCII": "Api-Key xd_密钥_".encode().decode("latin-1") + "z" * 40,
        "a NUL byte": "Api-Key xd_a\x00b_" + "z" * 40,
        "huge": "Api-Key " + "z" * 100_000,
        "A's key twice": f"Api-Key {revoked.raw_key}, Api-Key {revoked.raw_key}",
    }
    faults = []
    for i, (kind, value) in enumerate(
        few(authorizations, ("none", "unknown", "revoked", "a NUL byte")).items()
    ):
        client = APIClient()
        headers = {} if value is None else {"HTTP_AUTHORIZATION": value}
        before = counts()
        response = send(client, method, path, raw, **headers, **idem(f"auth-{i}"))
        # (a NUL byte in a header is refused as a malformed request before any key is read)
        status = (401, 400) if kind == "a NUL byte" else (401,)
        faults += refused(kind, response, before, status=status, naming="Authorization")
    assert not faults, "\n".join(faults)


# --- 4. partner B's ids with partner A's key ----------------------------------------------------


@pytest.mark.parametrize("op", sample(WITH_IDS), ids=_op_id)
def test_partner_bs_id_with_partner_as_key_is_404_exactly_as_an_unknown_one(world, op):
    """Also with a hostile body: existence is not leaked by a 400 that only B's objects get."""
    method, template, operation = op
    client = world[0]["client"]
    b_path = path_for(world, template, side=1)
    unknown = re.sub(r"/(\d+|[^/]+)/(?=[^/]*/?$|[a-z-]+/$)", "/", b_path)  # not used for matching
    del unknown
    bodies = [json.dumps(a_body(world, template, example_body(operation)) or {}), "{", '{"amount": NaN}']
    before = counts()
    faults = []
    for i, raw in enumerate(bodies):
        response = send(client, method, b_path, raw, **idem(f"bola-{i}"))
        if response.status_code not in (404, 400, 415, 405):
            faults.append(f"{raw[:20]}: {response.status_code}")
        elif response.status_code == 400:
            # a body refused before the id is looked up: the same must hold for an unknown id
            last = _last_id(world, template, 1)
            unknown_path = b_path.replace(str(last), "999999999" if isinstance(last, int) else "nope-0")
            twin = send(client, method, unknown_path, raw, **idem(f"bola-u-{i}"))
            if twin.status_code != 400:
                faults.append(f"{raw[:20]}: 400 for B's id but {twin.status_code} for an unknown one")
        body = json.loads(response.content)
        text = json.dumps(body, ensure_ascii=False)
        b_merchant = world[1]["merchant"]
        for secret in (b_merchant.shop_name, b_merchant.partner.code):
            if secret and secret in text:
                faults.append(f"{raw[:20]}: the reply shows {secret!r}")
    assert _changed(before, counts()) == []
    assert not faults, "\n".join(faults)


def _last_id(world, template, side):
    match = list(re.finditer(r"\{(\w+)\}", template))[-1]
    before = template[: match.start()].rstrip("/").rsplit("/", 1)[-1]
    return world[side]["ids"][(before, match.group(1))]


# --- 5. Idempotency-Key -------------------------------------------------------------------------

BAD_KEYS = {
    "empty": "",
    "blank": "   ",
    "81 characters": "k" * 81,
    "10,000 characters": "k" * 10_000,
    "non-ASCII": "键-1".encode().decode("latin-1"),
    "a NUL byte": "k\x00k",
    "a control character": "k\x01k",
    "a tab": "k\tk",
}


@pytest.mark.parametrize("op", sample(WITH_KEY), ids=_op_id)
def test_a_malformed_idempotency_key_is_refused_naming_it(world, op):
    method, template, operation = op
    client = world[0]["client"]
    path = path_for(world, template)
    raw = json.dumps(a_body(world, template, example_body(operation)) or {})
    faults = []
    for kind, key in few(BAD_KEYS, ("empty", "81 characters", "a NUL byte")).items():
        before = counts()
        try:
            response = send(client, method, path, raw, HTTP_IDEMPOTENCY_KEY=key)
        except Exception as exc:  # the test client refusing the header itself is no finding
            faults.append(f"{kind}: {exc!r}")
            continue
        faults += refused(kind, response, before, status=(400,), naming="Idempotency-Key")
    assert not faults, "\n".join(faults)


@pytest.mark.parametrize("op", sample(WITH_KEY), ids=_op_id)
def test_a_key_is_the_partners_own_and_bound_to_its_body(world, op):
    """A's key reused by B is B's own key (B never gets A's kept reply); A's key reused with
    another body is a 409 naming Idempotency-Key."""
    method, template, operation = op
    a, b = world
    path_a = path_for(world, template, 0)
    path_b = path_for(world, template, 1)
    body_a = a_body(world, template, example_body(operation)) or {}
    key = {"HTTP_IDEMPOTENCY_KEY": "shared-key-1"}
    first = send(a["client"], method, path_a, json.dumps(body_a), **key)
    assert first.status_code < 500, first.content[:300]
    # B sends the same key with the same body (naming A's objects) on A's path: refused, as
    # anything of A's is; and on its own path: B's own request (docs/api.md: a key means one
    # request per partner, two partners may use the same key), answered for B.
    for path in (path_a, path_b):
        again = send(b["client"], method, path, json.dumps(body_a), **key)
        assert again.status_code < 500
        if first.status_code < 300:
            assert again.content != first.content, "B received A's kept reply"
            if path == path_a or path_a == path_b:
                assert again.status_code in (400, 404, 409), again.status_code
    if first.status_code < 300 and isinstance(body_a, dict) and body_a:
        changed = dict(body_a)
        name = next(iter(changed))
        changed[name] = "something else"
        before = counts()
        other = send(a["client"], method, path_a, json.dumps(changed), **key)
        assert other.status_code in (400, 409), other.content[:300]
        assert _changed(before, counts()) == []


# --- 6. query parameters ------------------------------------------------------------------------

BAD_QUERY = {
    "negative": "-1",
    "huge": "9" * 40,
    "non-numeric": "abc",
    "base64 of an offset": "bz0tMQ==",  # o=-1
    "base64 of a huge offset": "bz05OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
    "base64 of a NUL": "cD0AJm89MQ==",
    "percent NUL": "%00",
    "10,000 characters": "c" * 10_000,
    "a lone surrogate": "%ED%A0%80",
    "not UTF-8": "%FF%FE",
}


@pytest.mark.parametrize("op", sample(WITH_QUERY), ids=lambda op: f"{op[0].upper()} {op[1]} ?{op[2]}")
def test_a_hostile_query_parameter_is_refused_or_ignored_never_a_500(world, op):
    method, template, name = op
    client = world[0]["client"]
    path = path_for(world, template)
    faults = []
    for kind, value in few(
        BAD_QUERY, ("negative", "non-numeric", "base64 of a huge offset", "percent NUL")
    ).items():
        response = client.generic(method.upper(), f"{path}?{name}={value}")
        if response.status_code >= 500:
            faults.append(f"{kind}: {response.status_code}")
            continue
        if response.status_code >= 400:
            body = problem(response)
            if response.status_code in (400, 404) and not names(body, name):
                faults.append(f"{kind}: {response.status_code} naming {sorted(named(body))}")
        elif name == "cursor":
            faults.append(f"{kind}: a cursor this API did not give out answered {response.status_code}")
    assert not faults, "\n".join(faults)


@pytest.mark.parametrize(
    "op", [op for op in WITH_QUERY if op[0] == "get"], ids=lambda op: f"{op[1]} ?{op[2]}"
)
def test_a_filter_never_shows_the_other_partners_records(world, op):
    _method, template, name = op
    a, b = world
    path = path_for(world, template)
    values = [
        b["merchant"].external_id,
        str(b["merchant"].pk),
        f"{a['merchant'].external_id},{b['merchant'].external_id}",
        "*",
        "%",
    ]
    secrets = [
        b["merchant"].external_id,
        str(b["ids"][("applications", "reference")]),
        str(b["ids"][("loans", "reference")]),
    ]
    for value in values:
        response = a["client"].get(path, {name: value})
        assert response.status_code < 500
        text = response.content.decode()
        for secret in secrets:
            assert secret not in text or response.status_code >= 400, (value, secret, text[:300])
