"""Examples of the risk-control part of the partner API, by operationId (common/api_schema.py)."""

SALES_DROPPED = {
    "code": "sales_dropped",
    "text": "daily sales of the last 14 days are 70 % below the 60-day average before them",
}

EXAMPLES = {
    "v1_merchants_risk_retrieve": {
        "responses": {
            200: {
                "watched, with an open warning and a standing action": {
                    "value": {
                        "merchant": "TB000042",
                        "shop_status": "active",
                        "level": "orange",
                        "as_of": "2026-12-05",
                        "reasons": [SALES_DROPPED],
                        "warnings": [
                            {
                                "kind": "sales_cliff",
                                "severity": "high",
                                "raised_on": "2026-12-05",
                                "reasons": [SALES_DROPPED],
                                "version": "monitoring-2026-11",
                            }
                        ],
                        "actions": [
                            {
                                "kind": "cut_unused_line",
                                "reason": SALES_DROPPED["text"],
                                "business_on": "2026-12-05",
                            }
                        ],
                        "flags": [],
                    }
                },
                "never watched": {
                    "value": {
                        "merchant": "SHOP-1",
                        "shop_status": "active",
                        "level": "green",
                        "as_of": None,
                        "reasons": [],
                        "warnings": [],
                        "actions": [],
                        "flags": [],
                    }
                },
            }
        }
    }
}
