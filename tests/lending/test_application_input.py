"""The application's input serializer copies, for a request body, only the fields the body can
use (lending.api.serializers.ApplicationInputSerializer.get_fields): its validated data and its
errors are those of the serializer with every declared field."""

import copy

import pytest

from lending.api.serializers import ApplicationInputSerializer

SHA = "ab" * 32
BODIES = [
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": SHA},
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00"},
    {"merchant": "S1", "product": "order_loan", "amount": "2000.00", "orders": ["O1", "O2"]},
    {"merchant": "S1", "product": "order_loan", "amount": "2000.00", "orders": "O1"},
    {"merchant": "S1", "product": "order_loan", "amount": "2000.00", "orders": [1, None]},
    {
        "merchant": "S1",
        "product": "revolving",
        "amount": "90000.00",
        "declared": {
            "fiscal_year": 2025,
            "sales": "5000000.00",
            "net_profit_margin": "0.08",
            "total_assets": "3000000.00",
            "total_liabilities": "1000000.00",
            "platform_sales_share": "0.5",
        },
        "questionnaire": {"q1": 4, "q2": 5},
    },
    {"merchant": "S1", "product": "revolving", "amount": "9", "declared": {"sales": "x"}},
    {"merchant": "S1", "product": "revolving", "amount": "9", "questionnaire": {"Bad Code": 9}},
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00", "device": "short"},
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00", "device": "fingerprint-1"},
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": "XYZ"},
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": None},
    {"merchant": "S1", "product": "credit_loan", "amount": "2000.00", "surplus": 1},
    {"merchant": 7, "product": "", "amount": 2000},
    {"product": "credit_loan"},
    {},
    {"merchant": None, "product": None, "amount": None, "orders": None, "declared": None},
]


class Every(ApplicationInputSerializer):
    """The same serializer with DRF's own copy of every declared field."""

    def get_fields(self):
        return copy.deepcopy(self._declared_fields)


@pytest.mark.parametrize("body", BODIES)
def test_the_lean_copy_validates_and_refuses_as_every_field_does(body):
    lean, every = ApplicationInputSerializer(data=body), Every(data=body)
    assert lean.is_valid() == every.is_valid()
    if every.errors:
        assert lean.errors == every.errors
    else:
        assert lean.validated_data == every.validated_data


def test_without_a_body_every_field_is_there():
    """The schema and the replies see every declared field."""
    assert set(ApplicationInputSerializer().fields) == set(ApplicationInputSerializer._declared_fields)
    lean = ApplicationInputSerializer(data={"merchant": "S1", "product": "p", "amount": "1.00"})
    assert set(lean.fields) == {"merchant", "product", "amount"}
