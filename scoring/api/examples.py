"""Examples of the scoring part of the partner API, by operationId (common/api_schema.py)."""

OFFERS = [
    {
        "id": 117,
        "product": "credit_loan",
        "product_name": "Credit loan",
        "line": "27100.00",
        "daily_rate": "0.0006",
        "annual_rate": "0.219",
        "grade": "A",
        "issued_on": "2026-12-06",
        "expires_on": "2026-12-20",
        "needs_video_check": False,
    },
    {
        "id": 118,
        "product": "order_loan",
        "product_name": "Order loan",
        "line": "27100.00",
        "daily_rate": "0.0005",
        "annual_rate": "0.1825",
        "grade": "A",
        "issued_on": "2026-12-06",
        "expires_on": "2026-12-20",
        "needs_video_check": False,
    },
]

EXAMPLES = {"v1_merchants_offers_list": {"responses": {200: OFFERS}}}
