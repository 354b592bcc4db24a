"""Examples of the payments part of the partner API, by operationId (common/api_schema.py)."""

from common.api_schema import error_example

SETTLEMENT_IN = {"id": "ST-1", "merchant_id": "SHOP-1", "amount": "1500.25", "settled_on": "2026-07-07"}
SETTLEMENT_OUT = {
    "id": "ST-1",
    "merchant_id": "SHOP-1",
    "amount": "1500.25",
    "settled_on": "2026-07-07",
    "journal_entry": 90412,
    "replayed": False,
}

EXAMPLES = {
    "v1_settlements_create": {
        "request": {**SETTLEMENT_IN, "order_count": 12},
        "responses": {
            201: SETTLEMENT_OUT,
            200: {**SETTLEMENT_OUT, "replayed": True},
            400: error_example(
                "invalid",
                "Idempotency-Key: this header is required",
                {"Idempotency-Key": ["this header is required"]},
            ),
            404: error_example("not_found", "Not found."),
            409: error_example(
                "conflict",
                "amount: settlement ST-1 was recorded with other content",
                {"amount": ["recorded as 1500.25"]},
            ),
        },
        "descriptions": {404: "the merchant named is not yours, or unknown"},
    },
    "v1_wallets_retrieve": {
        "responses": {
            200: {"merchant_id": "SHOP-1", "balance": "3500.25", "held": "0.00", "available": "3500.25"}
        },
    },
    "v1_wallets_movements_list": {
        "responses": {
            200: [
                {
                    "entry": 30323,
                    "kind": "collection",
                    "reference": "repayment of L20261206-30322",
                    "business_on": "2026-12-06",
                    "amount": "-500.00",
                },
                {
                    "entry": 30322,
                    "kind": "disbursement",
                    "reference": "drawdown on line 332",
                    "business_on": "2026-12-06",
                    "amount": "2000.00",
                },
                {
                    "entry": 30321,
                    "kind": "collection",
                    "reference": "repayment of L20261206-30320",
                    "business_on": "2026-12-06",
                    "amount": "-1000.00",
                },
            ]
        }
    },
}
