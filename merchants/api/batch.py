"""Reading an order batch (POST /api/v1/orders/batch/, up to PARTNER_API_MAX_BATCH orders) fast,
with exactly the verdicts of OrderBatchInputSerializer.

DRF parses the JSON and then validates each row field by field through several layers of calls
(about 80 µs an order, more than the bulk insert that follows). The batch reader decodes the body
with msgspec into a schema built from the same serializer's fields, in C: each string plain (not
blank, no surrounding space, no NUL, within its max_length), each status one of the choices,
each amount a plain decimal string, each instant a plain RFC 3339 one. Per row it then turns
amounts into fen and instants into datetimes, checks instants against the field's own upper
bound, and runs the serializer's own `validate_<field>` methods and `validate` (the order's
lifecycle rules).

It only ever accepts. The schema is a narrow part of what the serializer accepts: each request
first asks the serializer's own fields about the edges of that part (the largest and smallest
amounts, the earliest instants and the widest offsets it lets through) and reads a field itself
when its answer or its value differs. At the first thing the reader does not take as plain
(anything malformed, unusual or wrong), the body goes through DRF's parser and the serializer,
whose answer — the validated rows, or the errors naming each field — is the reply. A refusal is
therefore the serializer's word for word; tests/merchants/test_order_batch_reader.py runs one
corpus through both and expects the same verdicts and the same orders."""

import datetime as dt
import gc
import re
from functools import cache
from typing import Annotated, Any, Literal

import msgspec
from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from common.api_fields import PastDateTimeField, StrictCharField, YuanField
from merchants.api.serializers import OrderBatchInputSerializer, OrderInputSerializer
from merchants.services import OrderData

# Not blank, no surrounding whitespace (as str.strip() sees it), no NUL and none of the control
# characters StrictCharField refuses (common.api_fields._CONTROL) anywhere: such text takes the
# serializer's path, which refuses it naming the field.
_NOT_PLAIN = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
_PLAIN_STRING = rf"^[^\s{_NOT_PLAIN}](?:[^{_NOT_PLAIN}]*[^\s{_NOT_PLAIN}])?\Z"
# At most 99,999,999.99 yuan (API_MAX_AMOUNT_FEN by default), two decimals, ASCII digits, no sign.
_PLAIN_AMOUNT = r"^(?:0|[1-9][0-9]{0,7})(?:\.[0-9]{1,2})?\Z"
_AMOUNT_EDGES = ("99999999.99", "0.01", "0.1", "1", "10.50")
# YYYY-MM-DDTHH:MM:SS, seconds with 0, 3 or 6 decimals, then Z or ±HH:MM; what it says must be a
# real date and time (fromisoformat) of the years 2000-2099, its offset within ±14:00.
_PLAIN_INSTANT = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}(?:[0-9]{3})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_YEARS = range(2000, 2100)
_WIDEST_OFFSET = dt.timedelta(hours=14)
_INSTANT_EDGES = (
    "2000-01-02T00:00:00Z",
    "2000-01-02T00:00:00+14:00",
    "2000-01-02T00:00:00-14:00",
    "2000-01-02T00:00:00.123+13:59",
    "2000-01-02T00:00:00.123456-13:59",
)
_JSON = re.compile(r"^application/json\s*(?:;\s*charset=\"?utf-?8\"?\s*)?$", re.IGNORECASE)
_AMOUNT, _INSTANT, _TEXT, _CHOICE = "amount", "instant", "text", "choice"


class _NotPlain(Exception):
    """Something the reader does not take as plain: the serializer decides the batch."""


def _kind_of(field: serializers.Field) -> str | None:
    kind = {
        YuanField: _AMOUNT,
        PastDateTimeField: _INSTANT,
        serializers.CharField: _TEXT,
        # Text that must be sent as text: the reader's schema takes only strings too.
        StrictCharField: _TEXT,
        serializers.ChoiceField: _CHOICE,
    }.get(type(field))
    if field.read_only or field.source_attrs != [field.field_name]:
        return None
    if kind == _TEXT and (
        not field.trim_whitespace or len(field.validators) != (3 if field.max_length else 2)
    ):
        return None  # a pattern or another rule added to the field: not one this reader knows
    if kind in (_AMOUNT, _INSTANT, _CHOICE) and field.validators:
        return None
    return kind


@cache
def _schema() -> tuple[type[msgspec.Struct], tuple[tuple[str, str], ...]] | None:
    """The batch body's msgspec schema, from OrderInputSerializer's fields, and each field's kind
    (None when a field is of a kind the reader does not know: every batch then goes through
    the serializer). The types and lengths are checked in C while decoding; the patterns per
    value in `_rows`, which is cheaper than msgspec calling `re` for each string."""
    fields, kinds = [], []
    for name, field in OrderInputSerializer().fields.items():
        kind = _kind_of(field)
        if kind is None:
            return None
        if kind == _TEXT:
            kind_type: Any = Annotated[
                str, msgspec.Meta(min_length=field.min_length or 1, max_length=field.max_length)
            ]
        elif kind == _CHOICE:
            kind_type = Literal[tuple(str(choice) for choice in field.choice_strings_to_values)]
        else:
            kind_type = str
        if field.allow_null:
            kind_type = kind_type | None
        if field.required:
            fields.append((name, kind_type))
        else:
            fields.append((name, kind_type | msgspec.UnsetType, msgspec.UNSET))
        kinds.append((name, kind))
    # A name the serializer does not have is refused by it, naming it: msgspec stops at one.
    row = msgspec.defstruct("OrderRow", fields, kw_only=True, forbid_unknown_fields=True)
    batch = msgspec.defstruct("OrderBatch", [("orders", list[row])], forbid_unknown_fields=True)
    return batch, tuple(kinds)


@cache
def _decoder() -> msgspec.json.Decoder | None:
    schema = _schema()
    return msgspec.json.Decoder(schema[0]) if schema is not None else None


def _fen(text: str) -> int:
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


def _asks_the_field(field: serializers.Field, kind: str) -> bool:
    """Whether the field itself must read each value: it refuses, or reads otherwise, an edge of
    what the reader lets through."""
    try:
        if kind == _AMOUNT:
            return any(field.run_validation(edge) != _fen(edge) for edge in _AMOUNT_EDGES)
        if kind == _INSTANT:
            for edge in _INSTANT_EDGES:
                value, mine = field.run_validation(edge), dt.datetime.fromisoformat(edge)
                if value != mine or value.utcoffset() != mine.utcoffset():
                    return True
    except serializers.ValidationError:
        return True
    return False


_plain_string = re.compile(_PLAIN_STRING).match
_plain_amount = re.compile(_PLAIN_AMOUNT).match
_plain_instant = re.compile(_PLAIN_INSTANT).fullmatch
_fromisoformat = dt.datetime.fromisoformat


def _rows(decoded, kinds: tuple[tuple[str, str], ...]) -> list[dict]:
    """The rows as the serializer's validated_data would hold them."""
    row_serializer = OrderInputSerializer()
    fields = row_serializer.fields
    asks = {
        name for name, kind in kinds if kind in (_AMOUNT, _INSTANT) and _asks_the_field(fields[name], kind)
    }
    # The instants' bounds, as the field computed them for this request (its root keeps them).
    earliest, bound = getattr(row_serializer, "_instant_bounds", (None, None))
    if bound is None:
        asks.update(name for name, kind in kinds if kind == _INSTANT)
    by_field = [name for name, _ in kinds if name in asks]
    texts = [name for name, kind in kinds if kind == _TEXT]
    amounts = [name for name, kind in kinds if kind == _AMOUNT and name not in asks]
    instants = [name for name, kind in kinds if kind == _INSTANT and name not in asks]
    choices = [(name, fields[name].choice_strings_to_values) for name, kind in kinds if kind == _CHOICE]
    defaults = [(name, fields[name].get_default()) for name, _ in kinds if fields[name].default is not empty]
    skipped = {name for name, _ in kinds if not fields[name].required and fields[name].default is empty}
    methods = [
        (name, method)
        for name, _ in kinds
        if (method := getattr(row_serializer, f"validate_{name}", None)) is not None
    ]
    asdict = msgspec.structs.asdict
    validate = row_serializer.validate
    unset = msgspec.UNSET
    out = []
    for row in decoded.orders:
        attrs = asdict(row)
        for name in texts:
            value = attrs[name]
            if value is not None and value is not unset and not _plain_string(value):
                raise _NotPlain
        for name in amounts:
            value = attrs[name]
            if value is not None and value is not unset:
                if not _plain_amount(value):
                    raise _NotPlain
                value = attrs[name] = _fen(value)
                if value <= 0:
                    raise _NotPlain
        for name in instants:
            value = attrs[name]
            if value is not None and value is not unset:
                if not _plain_instant(value):
                    raise _NotPlain
                value = attrs[name] = _fromisoformat(value)
                if (
                    value > bound
                    or value < earliest
                    or value.year not in _YEARS
                    or abs(value.utcoffset()) > _WIDEST_OFFSET
                ):
                    raise _NotPlain
        for name in by_field:
            value = attrs[name]
            if value is not None and value is not unset:
                attrs[name] = fields[name].run_validation(value)
        for name, table in choices:
            value = attrs[name]
            if value is not None and value is not unset:
                attrs[name] = table[value]
        for name, default in defaults:
            if attrs[name] is unset:
                attrs[name] = default
        for name in skipped:
            if attrs[name] is unset:
                del attrs[name]
        for name, method in methods:
            if name in attrs:
                attrs[name] = method(attrs[name])
        out.append(validate(attrs))
    return out


def _plain_rows(request) -> list[dict]:
    decoder = _decoder()
    if decoder is None or not _JSON.match(request.content_type or ""):
        raise _NotPlain
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise _NotPlain  # the serializer's path reads it as it always did
    decoded = decoder.decode(request.body)
    batch = OrderBatchInputSerializer()
    listed = batch.fields["orders"]
    if (
        not decoded.orders
        or len(decoded.orders) > settings.PARTNER_API_MAX_BATCH
        or batch.validators
        or listed.validators
        or (listed.max_length is not None and len(decoded.orders) > listed.max_length)
        or (listed.min_length is not None and len(decoded.orders) < listed.min_length)
    ):
        raise _NotPlain
    # A name sent twice in an object (which msgspec, like json, resolves by keeping the last) is
    # the parser's to refuse: every name in the body ends in '":' once, so more of them than the
    # names the rows carry (plus "orders") means a name repeated or '":' inside a value, and the
    # serializer decides (a space before a colon: fewer, likewise). A name the rows do not have
    # never gets here: the decoder refuses it.
    unset = msgspec.UNSET
    names = 1 + sum(
        1 for row in decoded.orders for name in row.__struct_fields__ if getattr(row, name) is not unset
    )
    if request.body.count(b'":') != names:
        raise _NotPlain
    rows = _rows(decoded, _schema()[1])
    return batch.validate({"orders": batch.validate_orders(rows)})["orders"]


def order_batch_read(request) -> list[OrderData]:
    """The orders of a batch request (a DRF request), validated as OrderBatchInputSerializer
    does; raises its ValidationError (each bad field named) when anything is wrong."""
    # Thousands of rows allocate no reference cycles: the cyclic collector, which would walk all
    # of them again and again while they are built, waits until they are.
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            rows = _plain_rows(request)
        except Exception:  # whatever the reader does not take as plain, the serializer decides
            serializer = OrderBatchInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            rows = serializer.validated_data["orders"]
        return [OrderInputSerializer.to_data(v) for v in rows]
    finally:
        if collecting:
            gc.enable()
