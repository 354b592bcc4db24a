"""A name sent twice in one JSON object (`{"amount": "1.00", "amount": "-5"}`): one reader keeps
the first value, another the last, so what a partner's gateway checked and what the platform
records could differ. The API refuses it, naming the field (its dotted path), and writes nothing.
"""

import pytest

from tests.api.conftest import KEY_A
from tests.api.test_bad_input import _counts, _problem_naming

ORDER = (
    '{"id": "ORD-DUP", "merchant_id": "SHOP-A", "buyer_id": "buyer-1", %s,'
    ' "placed_at": "2026-02-27T10:00:00+08:00"}'
)
MERCHANT = (
    '{"id": "SHOP-DUP", "shop_name": "店", "category": "服装", "region": "浙江",'
    ' "opened_on": "2021-03-01", "owner": {"name": "李雷", %s, "phone": "13800002222",'
    ' "address": "北京市东城区"}}'
)
DEVICE = (
    '{"id": "D-1", "merchant_id": "SHOP-A", "fingerprint": "fp-0123456789",'
    ' "seen_at": "2026-02-27T10:00:00+08:00"}'
)
CASES = {
    "order, valid value last": ("/api/v1/orders/", ORDER % '"amount": "-5", "amount": "1.00"', "amount"),
    "order, valid value first": ("/api/v1/orders/", ORDER % '"amount": "1.00", "amount": "-5"', "amount"),
    "merchant, nested": (
        "/api/v1/merchants/",
        MERCHANT % '"national_id": "110101199003070038", "national_id": "110101199003070038"',
        "owner.national_id",
    ),
    "application": (
        "/api/v1/applications/",
        '{"merchant": "SHOP-B", "merchant": "SHOP-A", "product": "credit_loan", "amount": "2000.00"}',
        "merchant",
    ),
    "signals, in a list": (
        "/api/v1/devices/",
        '{"devices": [' + DEVICE + ", " + DEVICE.replace('"id": "D-1"', '"id": "D-2", "id": "D-2"') + "]}",
        "devices.1.id",
    ),
    "top level": ("/api/v1/merchant-status/", '{"changes": [], "changes": []}', "changes"),
}


@pytest.mark.parametrize("path,body,field", list(CASES.values()), ids=list(CASES))
def test_a_name_sent_twice_is_refused_naming_it(world, client_a, path, body, field):
    before = _counts()
    response = client_a.post(
        path,
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="dup-1",
        HTTP_AUTHORIZATION=f"Api-Key {KEY_A}",
    )
    assert _problem_naming(response, field) is None
    assert _counts() == before


def test_a_name_sent_twice_inside_deep_nesting_is_still_a_400(world, client_a):
    body = '{"id": "a", "id": "b", "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
    response = client_a.post("/api/v1/merchants/", body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content[:300]


@pytest.mark.parametrize(
    "body,field",
    [
        ('{"orders": [%s]}' % (ORDER % '"amount": "1.00", "amount": "2.00"'), "orders.0.amount"),
        ('{"orders": [], "orders": [%s]}' % (ORDER % '"amount": "1.00"'), "orders"),
    ],
    ids=["in an order", "the list"],
)
def test_a_name_sent_twice_in_an_order_batch_is_refused_naming_it(world, client_a, body, field):
    before = _counts()
    response = client_a.post("/api/v1/orders/batch/", body, content_type="application/json")
    assert _problem_naming(response, field) is None
    assert _counts() == before
