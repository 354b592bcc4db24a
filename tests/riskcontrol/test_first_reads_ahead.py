"""Risk control's first reads (`riskcontrol.stages._first_reads`: the shop's verifications, the
active rule set, the related owners) made ahead in eligibility's books read on PostgreSQL
(`lending.stages._books_read` with the run's `with_ahead`): the same values as the statement made
on its own, one statement for both. Run on test_stage_reads' crowded world."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lending.stages import _books_read
from merchants.models import Verification
from riskcontrol import stages
from riskcontrol.models import RuleSet
from tests.conftest import requires_postgres
from tests.lending.test_applications import world  # noqa: F401
from tests.merchants.factories import MerchantFactory
from tests.riskcontrol.test_stage_reads import a_crowded_world
from tests.riskcontrol.test_stage_reads_merged import _fields, _run


@requires_postgres
@pytest.mark.parametrize("active", [True, False], ids=["active rule set", "none active"])
def test_the_first_reads_made_ahead_with_the_books_are_the_ones_made_alone(world, active):  # noqa: F811
    merchant, by_phone, by_card, by_address = a_crowded_world()
    stranger = MerchantFactory()
    Verification.objects.create(merchant=merchant, kind="tax", provider="p", result="verified")
    Verification.objects.create(merchant=merchant, kind="business_licence", provider="p", result="failed")
    if not active:
        RuleSet.objects.all().delete()
    for shop in (merchant, by_phone, by_card, by_address, stranger):
        run = _run(shop)
        stages.identity.ahead(run.application, on=run.on, run=run)
        with CaptureQueriesContext(connection) as books:
            found = _books_read(shop.pk, run)
        assert len(books) == 1
        assert found == _books_read(shop.pk)
        with CaptureQueriesContext(connection) as after:
            verifications = stages._first_reads(run.application, run)
        if active:
            assert len(after) == 0  # read with the books
        alone = _run(shop)
        assert verifications == stages._first_reads(alone.application, alone)
        assert _fields(run.shared("riskcontrol.ruleset", None)) == _fields(
            alone.shared("riskcontrol.ruleset", None)
        )
        assert run.shared("riskcontrol.owners", None) == alone.shared("riskcontrol.owners", None)


@requires_postgres
def test_nothing_is_read_ahead_when_the_run_holds_the_rule_set(world):  # noqa: F811
    merchant, *_others = a_crowded_world()
    run = _run(merchant)
    stages._first_reads(run.application, run)
    stages.identity.ahead(run.application, on=run.on, run=run)
    sql, _values, _take = run.with_ahead("SELECT 1", [])
    assert sql == "SELECT 1"


@requires_postgres
def test_the_checks_statement_is_a_prepared_statement_of_the_connection(world):  # noqa: F811
    from tests.lending.test_applications import TODAY

    merchant, *_others = a_crowded_world()

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if "riskcontrol_blacklistentry" in row[0]]

    run = _run(merchant)
    checks = stages._checks(run.application, TODAY, run)
    made = prepared()
    assert made  # PREPAREd on the connection (numbered parameters)
    again = _run(merchant)
    assert stages._checks(again.application, TODAY, again) == checks
    assert prepared() == made  # the same statement executed again, not prepared again
