"""Risk control's reads merged into fewer statements give what the statements made one by one
gave: on PostgreSQL the shop's verifications, the active rule set and the related owners in one
(`riskcontrol.stages._first_reads`), and everywhere anti-fraud's brushing counts with the checks'
statement (`_checks`). Run on test_stage_reads' crowded world."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lending.models import Product
from lending.pipeline import Run
from lending.services import applications as apps
from merchants.models import Verification
from riskcontrol.models import RuleSet
from riskcontrol.rulesets import DEFAULT_PARAMS, ruleset_active
from tests.conftest import requires_postgres
from tests.lending.test_applications import TODAY, world  # noqa: F401
from tests.merchants.factories import MerchantFactory
from tests.riskcontrol.test_stage_reads import a_crowded_world, refund, settled_order


def _run(merchant) -> Run:
    return Run(apps._unsaved(merchant, Product.objects.get(code="credit_loan"), 200_000, []), TODAY)


def _fields(ruleset: RuleSet) -> dict:
    return {field.attname: getattr(ruleset, field.attname) for field in RuleSet._meta.concrete_fields}


@requires_postgres
@pytest.mark.parametrize("active", [True, False], ids=["active rule set", "none active"])
def test_the_first_reads_are_the_verifications_the_rule_set_and_the_related_owners(world, active):  # noqa: F811
    from riskcontrol.stages import _first_reads, _related, _verifications

    merchant, by_phone, by_card, by_address = a_crowded_world()
    stranger = MerchantFactory()
    for kind, result in (("tax", "verified"), ("business_licence", "failed"), ("tax", "pending")):
        Verification.objects.create(merchant=merchant, kind=kind, provider="p", result=result)
    Verification.objects.create(merchant=by_phone, kind="customs", provider="p", result="verified")
    if not active:
        RuleSet.objects.all().delete()
    for shop in (merchant, by_phone, by_card, by_address, stranger):
        run = _run(shop)
        with CaptureQueriesContext(connection) as merged:
            verifications = _first_reads(run.application, run)
        if active:
            assert len(merged) == 1
        # The reads one by one, in runs of their own.
        alone = _run(shop)
        assert verifications == _verifications(shop.pk)
        assert _fields(run.shared("riskcontrol.ruleset", None)) == _fields(ruleset_active())
        kept = run.shared("riskcontrol.owners", None)
        assert sorted(kept, key=repr) == sorted(_related(shop.owner, alone), key=repr)
        assert kept and all(len(row) == 9 for row in kept)
        # What the run holds, the stages read without a statement.
        with CaptureQueriesContext(connection) as again:
            _related(shop.owner, run)
        assert len(again) == 0
    assert _verifications(merchant.pk) == [
        ("tax", "verified"),
        ("business_licence", "failed"),
        ("tax", "pending"),
    ]
    assert _verifications(stranger.pk) == []


def test_the_brushing_counts_read_with_the_checks_are_the_brushing_statement_s(world):  # noqa: F811
    from riskcontrol.stages import _brushing, _checks, _linked_owner_ids

    merchant, by_phone, by_card, by_address = a_crowded_world()
    stranger = MerchantFactory()
    for shop in (by_phone, merchant):
        settled_order(shop, TODAY, buyer=by_card)
        refund(settled_order(shop, TODAY, buyer_ref="again"), 1)
        settled_order(shop, TODAY, buyer_ref="again")
    seen = []
    for shop in (merchant, by_phone, by_card, by_address, stranger):
        run = _run(shop)
        checks = _checks(run.application, TODAY, run)
        counted = run.shared("riskcontrol.brushing", None)
        owners = _linked_owner_ids(shop.owner, with_address=True, run=_run(shop))
        assert counted == _brushing(shop.pk, owners, dict(DEFAULT_PARAMS), TODAY), shop.pk
        # The checks themselves are what they were read alone.
        assert checks == _checks(run.application, TODAY, _run(shop))
        seen.append(counted)
    for name in ("orders", "linked", "repeat", "completed", "settled", "quick"):
        assert {v[name] > 0 for v in seen} == {True, False}, name


def test_the_rating_read_ahead_with_the_checks_is_the_rating_read(world):  # noqa: F811
    """scoring's rating read, made ahead in the checks' statement (Rate.ahead, Run.with_ahead),
    gives the score, the open offer and the cut-off its own statement gives; no row, None."""
    from riskcontrol.stages import _checks
    from scoring.models import MerchantScore, Offer
    from scoring.stages import _rating_read, rate

    merchant, by_phone, *_ = a_crowded_world()
    stranger = MerchantFactory()
    product = Product.objects.get(code="credit_loan")
    from scoring.services.rating import merchant_rate

    score = merchant_rate(merchant=merchant, as_of=TODAY)
    Offer.objects.create(
        merchant=merchant, product=product, score=score, line_fen=4_500_000, daily_rate="0.00052",
        grade=score.grade, rank=1, issued_on=TODAY, expires_on=TODAY,
    )  # fmt: skip
    run = _run(merchant)
    rate.ahead(run.application, on=TODAY, run=run)
    with CaptureQueriesContext(connection) as made:
        _checks(run.application, TODAY, run)  # with the rule set and the related owners first
    with CaptureQueriesContext(connection) as after:
        ahead = _rating_read(run.application, TODAY, run)
    rating = [q["sql"] for q in made if "scoring_merchantscore" in q["sql"]]
    assert len(rating) == 1 and "riskcontrol_blacklistentry" in rating[0] and len(after) == 0
    alone = _rating_read(run.application, TODAY)
    assert ahead[1:] == alone[1:] and ahead[1] is not None and ahead[1][2] == alone[1][2]
    fields = [f.attname for f in MerchantScore._meta.concrete_fields]
    assert [getattr(ahead[0], f) for f in fields] == [getattr(alone[0], f) for f in fields]
    assert rate.facts(run.application, on=TODAY, run=run) == rate.facts(run.application, on=TODAY)
    # No current rating: the read ahead found nothing.
    for shop in (stranger, by_phone):
        MerchantScore.objects.filter(merchant=shop).update(is_current=False)
        other = _run(shop)
        rate.ahead(other.application, on=TODAY, run=other)
        _checks(other.application, TODAY, other)
        assert other.holds("scoring.rating") and other.shared("scoring.rating", None) is None
