"""The rating history is thinned: recent days whole, older weeks by their Monday, never the
current rating or one an offer was made on."""

import datetime as dt

import pytest

from scoring.models import MerchantScore, Offer
from scoring.services import scores_history_thin
from tests.lending.factories import ProductFactory
from tests.scoring.factories import champion_create, rated_merchant

TODAY = dt.date(2026, 3, 31)  # a Tuesday


def rating(merchant, model, on, *, current=False):
    return MerchantScore.objects.create(
        merchant=merchant, model=model, as_of=on, points=600, probability=0.02, grade="B", is_current=current
    )


@pytest.mark.django_db
def test_old_days_are_thinned_to_mondays_and_what_is_current_or_offered_stays():
    model = champion_create()
    merchant = rated_merchant()
    days = [TODAY - dt.timedelta(days=n) for n in range(90, 0, -1)]
    rows = {on: rating(merchant, model, on) for on in days}
    rating(merchant, model, TODAY, current=True)
    offered_on = TODAY - dt.timedelta(days=80)
    assert offered_on.weekday() != 0
    Offer.objects.create(
        merchant=merchant,
        product=ProductFactory(),
        score=rows[offered_on],
        line_fen=1_000_000,
        daily_rate="0.00050000",
        grade="B",
        rank=1,
        issued_on=offered_on,
        expires_on=offered_on + dt.timedelta(days=14),
    )

    deleted = scores_history_thin(as_of=TODAY)

    cutoff = TODAY - dt.timedelta(days=42)
    kept = set(MerchantScore.objects.values_list("as_of", flat=True))
    expected = {on for on in days if on >= cutoff or on.weekday() == 0} | {offered_on, TODAY}
    assert kept == expected
    assert deleted == 91 - len(expected)
    assert scores_history_thin(as_of=TODAY) == 0
