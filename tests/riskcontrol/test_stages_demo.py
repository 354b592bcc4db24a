"""On a small demo marketplace with planted brushing rings, the anti-fraud stage declines or
refers most ring members' applications and passes most honest shops. The ring numbers
(SimulatedProfile.ring) are the simulator's hidden truth: only this test reads them, to score the
stage; the stage never does."""

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from lending.models import Application, Product
from lending.services import products_create_seed
from merchants.models import Merchant
from riskcontrol import stages
from tests.conftest import requires_demo

END = dt.date(2025, 3, 31)
PRE_RATING = ("identity", "blacklist", "velocity", "antifraud", "policy")


@requires_demo
@pytest.mark.django_db
def test_antifraud_catches_most_ring_members_and_passes_most_honest_shops():
    call_command(
        "seed_demo", "--merchants=300", "--days=100", "--seed=7", f"--end-date={END}", stdout=StringIO()
    )
    if not Product.objects.exists():
        products_create_seed()
    product_of = {p.segment: p for p in Product.objects.order_by("pk")}
    outcomes: Counter = Counter()
    others: Counter = Counter()
    for merchant in Merchant.objects.select_related("partner", "owner", "simulated").order_by("pk"):
        # An application as the portal previews it: unsaved, the stage reads the shop's own data.
        application = Application(
            merchant=merchant, product=product_of[merchant.partner.kind], amount_fen=100_000
        )
        is_ring = merchant.simulated.ring is not None
        verdict = stages.antifraud.decide(stages.antifraud.facts(application, on=END))
        assert verdict.version == "rules-1"
        outcomes[("ring" if is_ring else "honest", verdict.outcome)] += 1
        if not is_ring:
            stopped = next(
                (
                    name
                    for name in PRE_RATING
                    if getattr(stages, name).decide(getattr(stages, name).facts(application, on=END)).outcome
                    != "pass"
                ),
                "passed all",
            )
            others[stopped] += 1
    ring = sum(n for (kind, _), n in outcomes.items() if kind == "ring")
    honest = sum(n for (kind, _), n in outcomes.items() if kind == "honest")
    caught = outcomes[("ring", "decline")] + outcomes[("ring", "refer")]
    summary = (
        f"ring members {ring}: declined {outcomes[('ring', 'decline')]}, "
        f"referred {outcomes[('ring', 'refer')]}, "
        f"passed {outcomes[('ring', 'pass')]}; honest shops {honest}: passed {outcomes[('honest', 'pass')]}, "
        f"referred {outcomes[('honest', 'refer')]}, declined {outcomes[('honest', 'decline')]}; "
        f"honest shops through the five pre-rating checks: {dict(others)}"
    )
    print(summary)
    assert ring >= 10, summary
    assert caught >= 0.8 * ring, summary
    assert outcomes[("honest", "pass")] >= 0.9 * honest, summary
