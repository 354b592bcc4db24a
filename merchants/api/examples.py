"""Examples of the merchants part of the partner API, by operationId (common/api_schema.py adds
them to the schema; /api/docs/ shows them)."""

from common.api_schema import error_example

OWNER = {
    "name": "张伟",
    "national_id": "110101199003071234",
    "phone": "13800138000",
    "address": "浙江省杭州市西湖区文三路 100 号",
    "bank_card": "6222021234567890123",
}
MERCHANT_IN = {
    "id": "SHOP-1",
    "shop_name": "西湖茶叶店",
    "category": "food",
    "region": "zhejiang",
    "opened_on": "2023-04-01",
    "owner": OWNER,
}
MERCHANT_OUT = {
    "id": "SHOP-1",
    "shop_name": "西湖茶叶店",
    "category": "food",
    "region": "zhejiang",
    "opened_on": "2023-04-01",
    "status": "active",
    "owner_name": "张伟",
    "owner_national_id": "110101********1234",
    "created_at": "2026-07-08T09:30:00+08:00",
}
ORDER_IN = {
    "id": "T-1",
    "merchant_id": "SHOP-1",
    "buyer_id": "b-9",
    "amount": "199.90",
    "placed_at": "2026-07-01T10:00:00+08:00",
}
ORDER_OUT = {
    **ORDER_IN,
    "status": "placed",
    "paid_at": None,
    "shipped_at": None,
    "delivered_at": None,
    "settled_at": None,
    "refunded_at": None,
    "disputed_at": None,
    "cancelled_at": None,
}
SETTLED_ORDER_IN = {
    "id": "T-2",
    "merchant_id": "SHOP-1",
    "buyer_id": "b-12",
    "amount": "1250.00",
    "status": "settled",
    "placed_at": "2026-06-01T10:00:00+08:00",
    "paid_at": "2026-06-01T10:05:00+08:00",
    "shipped_at": "2026-06-02T09:00:00+08:00",
    "delivered_at": "2026-06-04T15:00:00+08:00",
    "settled_at": "2026-06-11T00:00:00+08:00",
}
CONFLICT = error_example(
    "conflict",
    "amount: already recorded with different content",
    {"amount": ["already recorded as 199.90"]},
)
NOT_FOUND = error_example("not_found", "Not found.")

EXAMPLES = {
    "v1_merchants_list": {
        "responses": {200: {"next": None, "previous": None, "results": [MERCHANT_OUT]}},
    },
    "v1_merchants_create": {
        "request": MERCHANT_IN,
        "responses": {
            201: MERCHANT_OUT,
            200: MERCHANT_OUT,
            400: error_example(
                "invalid",
                "owner: national_id: not a valid national ID number",
                {"owner": {"national_id": ["not a valid national ID number"]}},
            ),
            409: error_example(
                "conflict",
                "shop_name: already recorded with different content",
                {"shop_name": ["already recorded with different content"]},
            ),
        },
    },
    "v1_merchants_retrieve": {"responses": {200: MERCHANT_OUT, 404: NOT_FOUND}},
    "v1_merchants_portal_link_create": {
        "responses": {
            201: {
                "url": "https://xiaodai.example.com/enter/eyJtIjo0Mn0:1uZ2:abc/",
                "expires_at": "2026-07-08T09:32:00+08:00",
            },
            400: error_example("invalid", "merchant: a closed shop cannot enter", {"merchant": ["closed"]}),
        },
    },
    "v1_orders_create": {
        "request": {
            "new order": {"value": ORDER_IN},
            "an order already settled": {"value": SETTLED_ORDER_IN},
        },
        "responses": {201: ORDER_OUT, 200: ORDER_OUT, 409: CONFLICT},
    },
    "v1_orders_retrieve": {"responses": {200: ORDER_OUT, 404: NOT_FOUND}},
    "v1_orders_status_create": {
        "request": {"status": "paid", "at": "2026-07-01T10:05:00+08:00"},
        "responses": {
            200: {**ORDER_OUT, "status": "paid", "paid_at": "2026-07-01T10:05:00+08:00"},
            409: error_example(
                "conflict",
                "status: a settled order cannot become paid",
                {"status": ["settled -> paid is not allowed"]},
            ),
        },
    },
    "v1_orders_batch_create": {
        "request": {"orders": [ORDER_IN, SETTLED_ORDER_IN]},
        "responses": {
            200: {"created": 2, "unchanged": 0, "advanced": 0},
            400: error_example(
                "invalid",
                "orders: 1: merchant_id: unknown merchant",
                {"orders": {"1": {"merchant_id": ["unknown merchant SHOP-9"]}}},
            ),
            409: CONFLICT,
        },
    },
}
