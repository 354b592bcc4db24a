"""Examples of the risk-control part of the partner API, by operationId (common/api_schema.py)."""

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
                        "reasons": [{"code": "sales_cliff", "text": "销售额骤降 70% Sales fell by 70%"}],
                        "warnings": [
                            {
                                "kind": "sales_cliff",
                                "severity": "high",
                                "raised_on": "2026-12-05",
                                "reasons": [
                                    {"code": "sales_cliff", "text": "销售额骤降 70% Sales fell by 70%"}
                                ],
                                "version": "monitoring-2026-11",
                            }
                        ],
                        "actions": [
                            {
                                "kind": "cut_unused_line",
                                "reason": "销售额骤降 70% Sales fell by 70%",
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
