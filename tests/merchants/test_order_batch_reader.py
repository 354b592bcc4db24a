"""The order batch reader (merchants/api/batch.py) against OrderBatchInputSerializer: one corpus of
bodies, good and bad in every way the issue lists (amounts, instants, strings, statuses, the
lifecycle rules, the batch itself), through both. The same verdict every time: the same orders,
or the same errors naming the same fields. And the reader takes the plain batches itself (it is
not the serializer every time) while taking none that the serializer refuses."""

import json

import pytest
from django.test import override_settings
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from merchants.api import batch
from merchants.api.serializers import OrderBatchInputSerializer, OrderInputSerializer

PLACED = "2025-06-01T10:00:00+08:00"


def good_row(n: int = 0, **changes) -> dict:
    row = {
        "id": f"O-{n}",
        "merchant_id": "M-1",
        "buyer_id": "buyer-1",
        "amount": "120.50",
        "status": "settled",
        "placed_at": PLACED,
        "paid_at": "2025-06-01T10:03:00+08:00",
        "shipped_at": "2025-06-02T09:00:00.123+08:00",
        "delivered_at": "2025-06-04T12:00:00.123456Z",
        "settled_at": "2025-06-09T00:00:00-05:00",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not _DROP}


_DROP = object()

AMOUNTS = [
    "1e26", "1e309", [0, [1, 2, 3], -2], 123, 12.5, "+5.00", "1_000.00", "1e-2", "１２３.００",
    "١٢٣", "12.345", "0", "0.00", "-1.00", " 12.00", "12.00 ", "", None, "NaN", "Infinity", "12.",
    ".5", "0012.00", "99999999999999.99", "10000000000000.00", "9999999999999.99", "999999999.99",
    "99999999.99", "1000000000.00", "0.01", "1", "10.5", True, {}, "12,00", "0x10",
]  # fmt: skip
INSTANTS = [
    "0001-01-01T00:00:00+00:00", "2025-06-01T10:00:00+16:00", "2025-06-01T10:00:00+15:59",
    "2025-06-01T10:00:00+14:00", "2025-06-01T10:00:00-14:01", "2025-06-01T10:00:00",
    "2025-06-01", "2025-02-30T00:00:00Z", "2999-01-01T00:00:00Z", "2025-06-01T10:00:00.1234567Z",
    "2025-06-01T10:00:00.12Z", "2025-06-01 10:00:00Z", "2025-06-01T10:00:00z", "20250601T100000Z",
    1700000000, "", None, "1999-12-31T23:59:59Z", "2025-06-01T24:00:00Z", "２０２５-06-01T10:00:00Z",
    "2025-06-01T10:00:00+0800", "2025-06-01T10:00Z", "9999-12-31T23:59:59+14:00", "2025-06-09T00:00:00Z",
]  # fmt: skip
STRINGS = [
    "", " ", " a", "a ", "a\x00b", "x" * 64, "x" * 65, 123, 1.5, True, None, [], {}, "中文店铺", "a\nb",
    "\u3000a", "a\u3000", "\ud800", "a\u200bb", "\x1fa", "-",
]  # fmt: skip
STATUSES = [
    "placed", "paid", "shipped", "delivered", "settled", "refunded", "disputed", "cancelled",
    "SETTLED", "", None, 1, "settled ", _DROP,
]  # fmt: skip


def bodies():
    """(label, body, content type): single changes to a good row, rows that break the lifecycle
    rules, and whole batches that are wrong."""
    yield "good", {"orders": [good_row(n) for n in range(3)]}, "application/json"
    for value in AMOUNTS:
        yield f"amount={value!r}", {"orders": [good_row(amount=value)]}, "application/json"
    for column in ("placed_at", "paid_at", "shipped_at", "delivered_at", "settled_at", "refunded_at"):
        for value in INSTANTS:
            yield f"{column}={value!r}", {"orders": [good_row(**{column: value})]}, "application/json"
    for column in ("id", "merchant_id", "buyer_id", "buyer_merchant_id"):
        for value in [*STRINGS, _DROP]:
            yield f"{column}={value!r}", {"orders": [good_row(**{column: value})]}, "application/json"
    for value in STATUSES:
        yield f"status={value!r}", {"orders": [good_row(status=value)]}, "application/json"
    placed_only = {"paid_at": _DROP, "shipped_at": _DROP, "delivered_at": _DROP, "settled_at": _DROP}
    for status in ("placed", "paid", "shipped", "cancelled"):
        yield f"{status} alone", {"orders": [good_row(status=status, **placed_only)]}, "application/json"
    yield "settled without settled_at", {"orders": [good_row(settled_at=_DROP)]}, "application/json"
    yield (
        "paid before placed",
        {"orders": [good_row(paid_at="2025-06-01T09:00:00+08:00")]},
        "application/json",
    )
    yield "cancelled yet settled", {"orders": [good_row(status="cancelled")]}, "application/json"
    yield "no placed_at", {"orders": [good_row(placed_at=_DROP)]}, "application/json"
    yield "unknown fields", {"orders": [good_row(colour="red")], "extra": 1}, "application/json"
    yield (
        "one bad among good",
        {"orders": [good_row(0), good_row(1, amount="1e3"), good_row(2)]},
        "application/json",
    )
    yield "two bad rows", {"orders": [good_row(0, id=""), good_row(1, status="x")]}, "application/json"
    for label, body in (
        ("a list", [good_row()]),
        ("no orders", {}),
        ("empty", {"orders": []}),
        ("orders an object", {"orders": {}}),
        ("orders a string", {"orders": "x"}),
        ("rows not objects", {"orders": [1, "x", None]}),
        ("null", None),
    ):
        yield label, body, "application/json"
    yield "charset", {"orders": [good_row()]}, "application/json; charset=utf-8"
    yield "raw: malformed", b'{"orders": [', "application/json"
    yield "raw: NaN", b'{"orders": [NaN]}', "application/json"
    yield "raw: BOM", b"\xef\xbb\xbf" + json.dumps({"orders": [good_row()]}).encode(), "application/json"
    yield "raw: not UTF-8", b'{"orders": [{"id": "\xff"}]}', "application/json"
    yield (
        "raw: latin-1 charset",
        json.dumps({"orders": [good_row()]}).encode(),
        "application/json; charset=latin-1",
    )
    duplicate = json.dumps({"orders": [good_row()]}).replace('"id": "O-0"', '"id": " ", "id": "O-9"')
    yield "raw: duplicate key", duplicate.encode(), "application/json"
    yield "raw: trailing", json.dumps({"orders": [good_row()]}).encode() + b" x", "application/json"
    yield "text/plain", json.dumps({"orders": [good_row()]}).encode(), "text/plain"
    yield "empty body", b"", "application/json"


def request_of(body, content_type: str) -> Request:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(
        APIRequestFactory().post("/api/v1/orders/batch/", raw, content_type=content_type),
        parsers=[JSONParser()],
    )


def serializer_read(request: Request):
    serializer = OrderBatchInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return [OrderInputSerializer.to_data(v) for v in serializer.validated_data["orders"]]


def verdict(read, body, content_type):
    try:
        return "accepted", read(request_of(body, content_type))
    except APIException as exc:
        return type(exc).__name__, exc.detail
    except Exception as exc:  # a value the serializer itself fails on (a 500 until it is fixed)
        return type(exc).__name__, str(exc)


CASES = list(bodies())


@pytest.mark.parametrize(("label", "body", "content_type"), CASES, ids=[c[0] for c in CASES])
def test_the_reader_and_the_serializer_give_the_same_verdict(db, label, body, content_type):
    with override_settings(PARTNER_API_MAX_BATCH=5):
        expected = verdict(serializer_read, body, content_type)
        got = verdict(batch.order_batch_read, body, content_type)
        assert got == expected
        plain = True
        try:
            batch._plain_rows(request_of(body, content_type))
        except Exception:
            plain = False
    if expected[0] != "accepted":
        assert not plain, "the reader took a batch the serializer refuses"


def test_the_corpus_has_both_verdicts_and_the_reader_takes_the_plain_batches(db):
    verdicts = {label: verdict(serializer_read, body, ct)[0] for label, body, ct in CASES}
    assert "accepted" in verdicts.values() and "ValidationError" in verdicts.values()
    for label in ("good", "amount='0.01'", "amount='99999999.99'", "placed alone", "charset"):
        body, content_type = next((b, c) for name, b, c in CASES if name == label)
        assert batch._plain_rows(request_of(body, content_type)), label


def test_a_batch_too_long_for_the_reader_is_the_serializers(db):
    rows = [good_row(n) for n in range(6)]
    with override_settings(PARTNER_API_MAX_BATCH=5):
        assert verdict(batch.order_batch_read, {"orders": rows}, "application/json") == verdict(
            serializer_read, {"orders": rows}, "application/json"
        )
        with pytest.raises(batch._NotPlain):
            batch._plain_rows(request_of({"orders": rows}, "application/json"))


def test_an_instant_past_the_fields_bound_is_refused_by_both(db):
    """Plain in form (a year the reader's pattern allows) but in the future: the field's own
    upper bound, which the reader reads from the field, refuses it."""
    body = {"orders": [good_row(status="placed", placed_at="2099-01-01T00:00:00Z", paid_at=_DROP,
                                shipped_at=_DROP, delivered_at=_DROP, settled_at=_DROP)]}  # fmt: skip
    expected = verdict(serializer_read, body, "application/json")
    assert expected[0] == "ValidationError" and "placed_at" in expected[1]["orders"][0]
    assert verdict(batch.order_batch_read, body, "application/json") == expected
    with pytest.raises(batch._NotPlain):
        batch._plain_rows(request_of(body, "application/json"))
