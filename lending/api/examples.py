"""Examples of the lending part of the partner API (lines, loans, applications), by operationId
(common/api_schema.py). The replies were taken from the demo (`make run`) and shortened."""

from common.api_schema import error_example

LINES = [
    {
        "id": 332,
        "merchant_id": "SHOP-1",
        "product": "credit_loan",
        "product_name": "Credit loan",
        "status": "active",
        "grade": "A",
        "limit": "81900.00",
        "used": "4000.00",
        "available": "77900.00",
        "drawdown_min": "1000.00",
        "daily_rate": "0.0006",
        "annual_rate": "0.219",
        "rate_display": "0.06 %/day ≈ 21.90 %/year",
        "opened_on": "2026-12-06",
        "expires_on": "2027-12-06",
    }
]
LOAN_QUOTE = {
    "line_id": 332,
    "amount": "2000.00",
    "fee": "0.00",
    "daily_rate": "0.0006",
    "annual_rate": "0.219",
    "annual_cost": "0.216542802388",
    "total_interest": "127.87",
    "total_cost": "127.87",
    "start_on": "2026-12-06",
    "maturity_on": "2027-06-06",
    "schedule": [
        {"number": 1, "due_on": "2027-01-06", "principal": "318.65", "interest": "36.00", "total": "354.65"},
        {"number": 2, "due_on": "2027-02-06", "principal": "324.39", "interest": "30.26", "total": "354.65"},
        {"number": 3, "due_on": "2027-03-06", "principal": "330.22", "interest": "24.43", "total": "354.65"},
    ],
    "contract_text": "Loan agreement\n"
    "Borrower: 西湖茶叶店 (taobao:SHOP-1)\n"
    "Product: Credit loan\n"
    "Amount: ¥2,000.00\n"
    "Term: 6 months, 2026-12-06 to 2027-06-06\n"
    "Rate: 0.06 %/day ≈ 21.90 %/year (simple interest, daily rate × 365)\n"
    "All-in annual cost (IRR): 21.65%\n"
    "Upfront fee: ¥0.00\n"
    "Total interest: ¥127.87; total cost: ¥127.87\n"
    "Repayment: Equal installments; automatic deduction…",
    "contract_sha256": "691f03b7414fdd7ccb2c16e5c0f4c021cbd50ec59e8cb4fcfaefc912f2e0212e",
}
LOAN = {
    "reference": "L20261206-30322",
    "merchant_id": "SHOP-1",
    "line_id": 332,
    "product": "credit_loan",
    "status": "active",
    "classification": "normal",
    "principal": "2000.00",
    "fee": "0.00",
    "daily_rate": "0.0006",
    "annual_rate": "0.219",
    "disbursed_on": "2026-12-06",
    "maturity_on": "2027-06-06",
    "next_due_on": "2027-01-06",
    "days_past_due": 0,
    "paid_total": "0.00",
    "owed": {
        "penalty": "0.00",
        "fee": "0.00",
        "interest": "0.00",
        "principal": "2000.00",
        "total": "2000.00",
    },
    "schedule": [
        {
            "number": 1,
            "due_on": "2027-01-06",
            "principal": "318.65",
            "interest": "36.00",
            "paid_principal": "0.00",
            "paid_interest": "0.00",
            "paid_on": None,
        },
        {
            "number": 2,
            "due_on": "2027-02-06",
            "principal": "324.39",
            "interest": "30.26",
            "paid_principal": "0.00",
            "paid_interest": "0.00",
            "paid_on": None,
        },
        {
            "number": 3,
            "due_on": "2027-03-06",
            "principal": "330.22",
            "interest": "24.43",
            "paid_principal": "0.00",
            "paid_interest": "0.00",
            "paid_on": None,
        },
    ],
    "contract_sha256": "691f03b7414fdd7ccb2c16e5c0f4c021cbd50ec59e8cb4fcfaefc912f2e0212e",
}
REPAYMENT = {
    "reference": "L20261206-30322",
    "business_on": "2026-12-06",
    "amount": "500.00",
    "principal": "500.00",
    "interest": "0.00",
    "penalty": "0.00",
    "fee": "0.00",
    "journal_entry": 30323,
    "replayed": False,
    "loan": {
        **LOAN,
        "paid_total": "500.00",
        "owed": {
            "fee": "0.00",
            "interest": "0.00",
            "penalty": "0.00",
            "principal": "1500.00",
            "total": "1500.00",
        },
        "schedule": [
            {
                "due_on": "2027-01-06",
                "interest": "36.00",
                "number": 1,
                "paid_interest": "0.00",
                "paid_on": None,
                "paid_principal": "318.65",
                "principal": "318.65",
            },
            {
                "due_on": "2027-02-06",
                "interest": "30.26",
                "number": 2,
                "paid_interest": "0.00",
                "paid_on": None,
                "paid_principal": "181.35",
                "principal": "324.39",
            },
            {
                "due_on": "2027-03-06",
                "interest": "24.43",
                "number": 3,
                "paid_interest": "0.00",
                "paid_on": None,
                "paid_principal": "0.00",
                "principal": "330.22",
            },
        ],
    },
}
APPLICATION_QUOTE = {
    "merchant": "SHOP-1",
    "product": "credit_loan",
    "outcome": "pass",
    "reasons": [],
    "limit": "81900.00",
    "daily_rate": "0.0006",
    "annual_rate": "0.219",
    "grade": "A",
    "term": 6,
    "amount": "5000.00",
    "fee": "0.00",
    "annual_cost": "0.216543346682",
    "total_interest": "319.68",
    "total_cost": "319.68",
    "start_on": "2026-12-06",
    "maturity_on": "2027-06-06",
    "schedule": [
        {"number": 1, "due_on": "2027-01-06", "principal": "796.61", "interest": "90.00", "total": "886.61"},
        {"number": 2, "due_on": "2027-02-06", "principal": "810.95", "interest": "75.66", "total": "886.61"},
        {"number": 3, "due_on": "2027-03-06", "principal": "825.55", "interest": "61.06", "total": "886.61"},
    ],
    "contract_text": "Loan agreement\n"
    "Borrower: 西湖茶叶店 (taobao:SHOP-1)\n"
    "Product: Credit loan\n"
    "Amount: ¥5,000.00\n"
    "Term: 6 months, 2026-12-06 to 2027-06-06\n"
    "Rate: 0.06 %/day ≈ 21.90 %/year (simple interest, daily rate × 365)\n"
    "All-in annual cost (IRR): 21.65%\n"
    "Upfront fee: ¥0.00\n"
    "Total interest: ¥319.68; total cost: ¥319.68\n"
    "Repayment: Equal installments; automatic deduction…",
    "contract_sha256": "dd25c2a89cac441006f35d70323589542d91b4aacfd09ce8dc4db29ada065956",
}
APPLICATION = {
    "reference": "A20261206-1846141591271852",
    "merchant": "SHOP-1",
    "product": "credit_loan",
    "channel": "api",
    "status": "disbursed",
    "amount": "5000.00",
    "orders": [],
    "current_stage": "lending.stages.auto_decide",
    "submitted_on": "2026-12-06",
    "submitted_at": "2026-12-06T02:46:14.159056+08:00",
    "decision": {
        "outcome": "approved",
        "reasons": [{"code": "rated", "text": "Grade A, line ¥81,900.00"}],
        "limit": "81900.00",
        "daily_rate": "0.0006",
        "annual_rate": "0.219",
        "grade": "A",
        "term": 6,
        "decided_on": "2026-12-06",
        "decided_at": "2026-12-06T02:46:14.497618+08:00",
        "reapply_on": None,
    },
    "stages": [
        {
            "name": "lending.stages.eligibility",
            "title": "Eligibility",
            "kind": "machine",
            "status": "passed",
            "started_at": "2026-12-06T02:46:14.182216+08:00",
            "ended_at": "2026-12-06T02:46:14.182976+08:00",
            "reasons": [],
        },
        {
            "name": "riskcontrol.stages.identity",
            "title": "Identity",
            "kind": "machine",
            "status": "passed",
            "started_at": "2026-12-06T02:46:14.183030+08:00",
            "ended_at": "2026-12-06T02:46:14.184488+08:00",
            "reasons": [],
        },
        {
            "name": "riskcontrol.stages.blacklist",
            "title": "Blacklist",
            "kind": "machine",
            "status": "passed",
            "started_at": "2026-12-06T02:46:14.184525+08:00",
            "ended_at": "2026-12-06T02:46:14.217395+08:00",
            "reasons": [],
        },
    ],
    "line_id": 332,
    "loan": "L20261206-30320",
    "appeal_of": None,
    "appeal": None,
}
DECLINED = {
    **APPLICATION,
    "reference": "A20261206-1846141591271999",
    "status": "declined",
    "current_stage": "scoring.stages.rate",
    "decision": {
        "outcome": "declined",
        "reasons": [
            {
                "code": "grade_below_cutoff",
                "text": "Your shop's trading does not qualify yet",
            }
        ],
        "limit": None,
        "daily_rate": None,
        "annual_rate": None,
        "grade": "E",
        "term": None,
        "decided_on": "2026-12-06",
        "decided_at": "2026-12-06T02:46:14.497618+08:00",
        "reapply_on": "2027-01-05",
    },
    "line_id": None,
    "loan": None,
}
NOT_FOUND = error_example("not_found", "Not found.")
KEY_CONFLICT = error_example(
    "conflict",
    "idempotency key already used for a different drawdown",
    {"Idempotency-Key": ["already used with different content"]},
)
NO_KEY = error_example(
    "invalid", "Idempotency-Key: this header is required", {"Idempotency-Key": ["this header is required"]}
)

EXAMPLES = {
    "v1_lines_list": {"responses": {200: LINES, 404: NOT_FOUND}},
    "v1_loans_quote_create": {
        "request": {"line_id": LOAN_QUOTE["line_id"], "amount": "2000.00"},
        "responses": {
            200: LOAN_QUOTE,
            400: error_example(
                "invalid", "amount: more than the line has available", {"amount": ["at most 76900.00"]}
            ),
        },
    },
    "v1_loans_create": {
        "request": {
            "line_id": LOAN_QUOTE["line_id"],
            "amount": "2000.00",
            "contract_sha256": LOAN_QUOTE["contract_sha256"],
        },
        "responses": {
            201: LOAN,
            200: LOAN,
            400: NO_KEY,
            409: {
                "another body under the same key": {"value": KEY_CONFLICT},
                "the agreement changed": {
                    "value": error_example(
                        "conflict",
                        "the agreement changed since it was shown; review and accept it again",
                        {"contract_sha256": ["does not match the current agreement"]},
                    )
                },
            },
        },
    },
    "v1_loans_retrieve": {"responses": {200: LOAN, 404: NOT_FOUND}},
    "v1_loans_repayments_create": {
        "request": {
            "part of it": {"value": {"amount": "500.00"}},
            "everything owed": {"value": {}},
        },
        "responses": {
            201: REPAYMENT,
            200: {**REPAYMENT, "replayed": True},
            400: NO_KEY,
            409: error_example("conflict", "loan L20261206-30322 is repaid", {"loan": ["repaid"]}),
        },
    },
    "v1_applications_quote_create": {
        "request": {"merchant": "SHOP-1", "product": "credit_loan", "amount": "5000.00"},
        "responses": {
            200: APPLICATION_QUOTE,
            400: error_example("invalid", "product: unknown product", {"product": ["unknown product loan9"]}),
        },
    },
    "v1_applications_list": {
        "responses": {200: {"next": None, "previous": None, "results": [APPLICATION]}},
    },
    "v1_applications_create": {
        "request": {
            "an instant credit loan": {
                "value": {
                    "merchant": "SHOP-1",
                    "product": "credit_loan",
                    "amount": "5000.00",
                    "accepted_sha256": APPLICATION_QUOTE["contract_sha256"],
                }
            },
            "a B2B revolving line": {
                "value": {
                    "merchant": "AL000139",
                    "product": "revolving",
                    "amount": "200000.00",
                    "declared": {
                        "fiscal_year": 2025,
                        "sales": "5000000.00",
                        "net_profit_margin": "0.08",
                        "total_assets": "3000000.00",
                        "total_liabilities": "1000000.00",
                        "platform_sales_share": "0.5",
                    },
                    "questionnaire": {"plan_ahead": 4},
                }
            },
        },
        "responses": {
            201: {"approved and paid": {"value": APPLICATION}, "declined": {"value": DECLINED}},
            200: APPLICATION,
            400: error_example(
                "invalid",
                "declared.sales: this field is required",
                {"declared.sales": ["this field is required"]},
            ),
            409: error_example(
                "conflict",
                "an application for this product is already being decided",
                {"product": ["an application is in progress"]},
            ),
        },
    },
    "v1_applications_retrieve": {"responses": {200: APPLICATION, 404: NOT_FOUND}},
    "v1_applications_appeal_create": {
        "request": {"reason": "我们上月新开了分店，销售额已经回升"},
        "responses": {
            201: {**DECLINED, "reference": "A20261207-0930121234567890", "appeal_of": DECLINED["reference"]},
            400: error_example(
                "invalid",
                "application: only a declined application can be appealed",
                {"application": ["only a declined application can be appealed"]},
            ),
            409: error_example("conflict", "already appealed", {"application": ["already appealed"]}),
        },
    },
    "v1_applications_withdraw_create": {
        "responses": {
            200: {**APPLICATION, "status": "withdrawn", "line_id": None, "loan": None},
            409: error_example(
                "conflict",
                "application A20261206-1846141591271852 is disbursed",
                {"application": ["disbursed"]},
            ),
        },
    },
}
