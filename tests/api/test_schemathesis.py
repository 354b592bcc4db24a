"""Schemathesis against the live OpenAPI schema, in process (the WSGI app, the test database),
with each of two partners' keys: every phase it offers — the schema's examples, coverage (edge
and just-invalid values of each part), fuzzing, and stateful sequences along the links it infers
— with every check it has: no server error, every status, content type, header and body as the
schema says, schema-violating requests refused.

One rule differs from schemathesis' defaults. Some input the schema cannot express is refused
(a date in the future or before API_EARLIEST_DATE, an order's timestamps that contradict its
status, a product that does not exist): `positive_data_acceptance` takes a 400 for a
schema-valid request, and `refusals_are_problems_naming_the_field` below requires that such a
refusal is a problem document naming the field.

Examples per operation and phase: XIAODAI_SCHEMATHESIS_EXAMPLES (default 12, a few minutes in
CI on two cores); the stateful phase runs XIAODAI_SCHEMATHESIS_STEPS scenarios (default 15)."""

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from config.wsgi import application
from tests.api.conftest import KEY_A, KEY_B, world_build

EXAMPLES = int(os.environ.get("XIAODAI_SCHEMATHESIS_EXAMPLES", "12"))
STEPS = int(os.environ.get("XIAODAI_SCHEMATHESIS_STEPS", "15"))
KEYS = {"partner_a": KEY_A, "partner_b": KEY_B}

CONFIG = {
    "generation": {"max-examples": EXAMPLES, "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "409"]},
    },
}


@schemathesis.check
def refusals_are_problems_naming_the_field(ctx, response, case):
    """Every refusal is an RFC 9457 problem document; a 400 (and a 413, 415, 406) names the
    field, header or parameter at fault."""
    if response.status_code < 400:
        return
    headers = {name.lower(): value for name, value in response.headers.items()}
    content_type = headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
    body = json.loads(response.content)
    assert body["status"] == response.status_code and body["detail"], body
    if response.status_code in (400, 406, 413, 415):
        assert body["errors"] and all(error["field"] for error in body["errors"]), body


@pytest.fixture
def in_process_db(db):
    """The WSGI app runs in the test's thread and transaction: Django must not close the
    connection at the end of each request (its test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield world_build()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _load(partner: str, checks: dict | None = None):
    """The schema as served, with this partner's key on every request (schemathesis leaves it out
    or garbles it where it tests authentication)."""
    config = {
        **CONFIG,
        "checks": {**CONFIG["checks"], **(checks or {})},
        "headers": {"Authorization": f"Api-Key {KEYS[partner]}"},
    }
    return schemathesis.openapi.from_wsgi(
        "/api/schema/", application, config=SchemathesisConfig.from_dict(config)
    )


schema_a = _load("partner_a")
schema_b = _load("partner_b")


@schema_a.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_as_its_schema_says_to_partner_a(case, in_process_db):
    case.call_and_validate(additional_checks=[refusals_are_problems_naming_the_field])


@schema_b.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_as_its_schema_says_to_partner_b(case, in_process_db):
    case.call_and_validate(additional_checks=[refusals_are_problems_naming_the_field])


@pytest.mark.parametrize("partner", sorted(KEYS))
def test_sequences_of_operations_answer_as_the_schema_says(in_process_db, partner):
    # In sequences the key from the config is put back on the request that the authentication
    # check strips, so that check would see its own valid key accepted; keys missing, garbled,
    # revoked and of the wrong scope are refused on every operation above and in tests/access.
    machine = _load(partner, checks={"ignored_auth": {"enabled": False}}).as_state_machine()

    class PartnerMachine(machine):
        # Each scenario starts from the same database: what one scenario made (a merchant, an
        # idempotency key) is rolled back before the next, so the same choices draw the same
        # requests and Hypothesis never sees generation depend on an earlier scenario's data.
        def setup(self):
            self._savepoint = transaction.savepoint()
            super().setup()

        def teardown(self):
            super().teardown()
            transaction.savepoint_rollback(self._savepoint)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            super().validate_response(
                response, case, additional_checks=[refusals_are_problems_naming_the_field], **kwargs
            )

    PartnerMachine.run(
        settings=settings(
            max_examples=STEPS,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
