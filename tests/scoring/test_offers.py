"""Offers: the top of the ranking, bounded by the acceptance-rate target and the funding capacity,
once per date; accepting opens the line through lending exactly once."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError, ConflictError
from lending.models import CreditLine, CreditLineChange, Product
from payments import services as payments
from payments.models import FundingPool
from scoring.models import MerchantScore, Offer
from scoring.selectors import policy_get
from scoring.services import (
    funding_capacity_fen,
    offer_accept,
    offer_decline,
    offer_withdraw,
    offers_issue,
    scores_refresh_all,
)
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory
from tests.scoring.factories import champion_create, products, rated_merchant

TODAY = DAY


@pytest.fixture
def world(db):
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    return pool


def ten_merchants():
    """Ten B2C merchants, best first (sales fall, so points fall)."""
    return [rated_merchant(gmv=90_000.0 - 8_000.0 * i, refund=0.01 * i) for i in range(10)]


def set_policy(**fields):
    policy = policy_get()
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


def test_offers_go_to_the_top_of_the_ranking_up_to_the_acceptance_target(world):
    merchants = ten_merchants()
    set_policy(acceptance_rate_target=Decimal("0.3"), cutoff_grade="E")
    scores_refresh_all(as_of=business_date_today())

    issued = offers_issue(as_of=business_date_today())

    offered = set(Offer.objects.values_list("merchant_id", flat=True))
    assert offered == {m.pk for m in merchants[:3]}
    # B2C merchants get both B2C products whose range their line fits.
    assert issued == Offer.objects.count() >= 3
    for offer in Offer.objects.select_related("product", "score"):
        assert offer.rank <= 3
        assert offer.product.amount_min_fen <= offer.line_fen <= offer.product.amount_max_fen
        assert offer.expires_on == TODAY + dt.timedelta(days=policy_get().offer_valid_days)
        assert offer.grade == offer.score.grade


def test_offers_stop_at_the_share_of_funding_capacity(world):
    ten_merchants()
    set_policy(acceptance_rate_target=Decimal("1"), cutoff_grade="E", capacity_share=Decimal("0.5"))
    # Leave the pool only ¥150,000 of capacity: half of it may be offered.
    FundingPool.objects.filter(pk=world.pk).update(principal_outstanding_fen=10**12 - 15_000_000)
    assert funding_capacity_fen() == 15_000_000
    scores_refresh_all(as_of=business_date_today())

    offers_issue(as_of=business_date_today())

    total = sum(Offer.objects.values_list("line_fen", flat=True))
    assert 0 < total <= 7_500_000


def test_merchants_below_the_cutoff_get_no_offer(world):
    merchants = ten_merchants()
    set_policy(acceptance_rate_target=Decimal("1"), cutoff_grade="A")
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    grades = dict(MerchantScore.objects.filter(is_current=True).values_list("merchant_id", "grade"))
    offered = set(Offer.objects.values_list("merchant_id", flat=True))
    assert offered == {m.pk for m in merchants if grades[m.pk] == "A"}
    assert offered and len(offered) < len(merchants)


def test_issuing_twice_the_same_day_issues_nothing_more(world):
    ten_merchants()
    scores_refresh_all(as_of=business_date_today())
    first = offers_issue(as_of=business_date_today())
    assert first > 0
    assert offers_issue(as_of=business_date_today()) == 0
    assert Offer.objects.count() == first


def test_offers_past_their_date_expire(world):
    ten_merchants()
    set_policy(acceptance_rate_target=Decimal("0.2"), cutoff_grade="E", offer_valid_days=3)
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    first = set(Offer.objects.values_list("pk", flat=True))
    assert first

    business_date_set(on=TODAY + dt.timedelta(days=4))
    offers_issue(as_of=business_date_today())

    assert set(Offer.objects.filter(status="expired").values_list("pk", flat=True)) == first


def test_a_merchant_that_fell_below_the_cutoff_loses_its_open_offers(world):
    merchants = ten_merchants()
    set_policy(acceptance_rate_target=Decimal("0.2"), cutoff_grade="E")
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    assert Offer.objects.filter(merchant=merchants[0], status="issued").exists()

    set_policy(cutoff_grade="D")
    MerchantScore.objects.filter(merchant=merchants[0]).update(grade="E")
    offers_issue(as_of=business_date_today())

    assert set(Offer.objects.filter(merchant=merchants[0]).values_list("status", flat=True)) == {"withdrawn"}
    assert Offer.objects.filter(merchant=merchants[1], status="issued").exists()


def test_a_line_as_large_as_the_offer_gets_no_offer_a_smaller_one_even_drawn_does(world):
    small, large = rated_merchant(), rated_merchant()
    credit, order = Product.objects.get(code="credit_loan"), Product.objects.get(code="order_loan")
    line = CreditLineFactory(merchant=small, product=credit, limit_fen=200_000, daily_rate=credit.daily_rate)
    draw(line, 150_000)
    CreditLineFactory(
        merchant=large, product=credit, limit_fen=credit.amount_max_fen, daily_rate=credit.daily_rate
    )
    set_policy(acceptance_rate_target=Decimal("1"))
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    assert Offer.objects.get(merchant=small, product=credit).line_fen > 200_000
    assert not Offer.objects.filter(merchant=large, product=credit).exists()
    assert Offer.objects.filter(merchant=large, product=order).exists()


# --- accepting ----------------------------------------------------------------------------------


@pytest.fixture
def offer(world):
    merchant = rated_merchant()
    set_policy(acceptance_rate_target=Decimal("1"))
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    return Offer.objects.select_related("product").get(merchant=merchant, product__code="credit_loan")


def test_accepting_opens_the_line_through_lending_once(offer):
    line = offer_accept(offer=offer, actor="merchant:seller", on=business_date_today())

    assert (line.limit_fen, line.daily_rate, line.grade) == (offer.line_fen, offer.daily_rate, offer.grade)
    assert line.product == offer.product and line.merchant == offer.merchant
    change = CreditLineChange.objects.get(line=line)
    assert change.kind == "opened" and f"offer {offer.pk}" in change.reason
    again = offer_accept(offer=offer, actor="merchant:seller", on=business_date_today())
    assert again.pk == line.pk
    assert CreditLine.objects.filter(merchant=offer.merchant, product=offer.product).count() == 1
    offer.refresh_from_db()
    assert offer.status == "accepted" and offer.credit_line_id == line.pk


def test_accepting_gives_the_open_line_the_offers_terms_and_keeps_what_is_drawn(world):
    merchant = rated_merchant()
    product = Product.objects.get(code="credit_loan")
    old = CreditLineFactory(
        merchant=merchant, product=product, limit_fen=200_000, daily_rate=product.daily_rate, grade="C"
    )
    set_policy(acceptance_rate_target=Decimal("1"))
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    offer = Offer.objects.get(merchant=merchant, product=product)
    draw(old, 150_000)

    line = offer_accept(offer=offer, actor="merchant:seller", on=business_date_today())

    assert line.pk == old.pk and line.status == "active"
    assert (line.limit_fen, line.grade, line.used_fen) == (offer.line_fen, offer.grade, 150_000)
    change = CreditLineChange.objects.filter(line=line).latest("pk")
    assert change.kind == "terms changed" and change.before["limit_fen"] == 200_000
    assert CreditLine.objects.filter(merchant=merchant, product=product).count() == 1
    assert offer_accept(offer=offer, actor="merchant:seller", on=business_date_today()).pk == line.pk


def test_an_expired_offer_cannot_be_accepted(offer):
    business_date_set(on=offer.expires_on + dt.timedelta(days=1))
    with pytest.raises(ApplicationError, match="expired") as caught:
        offer_accept(offer=offer, actor="merchant:seller", on=business_date_today())
    assert "offer" in caught.value.extra["fields"]
    assert not CreditLine.objects.filter(merchant=offer.merchant).exists()


def test_a_declined_offer_cannot_be_accepted_and_declining_twice_is_harmless(offer):
    offer_decline(offer=offer, actor="merchant:seller")
    offer_decline(offer=offer, actor="merchant:seller")
    with pytest.raises(ConflictError, match="declined"):
        offer_accept(offer=offer, actor="merchant:seller", on=business_date_today())


def test_withdrawing_needs_a_reason_and_only_an_open_offer(offer):
    with pytest.raises(ApplicationError) as caught:
        offer_withdraw(offer=offer, actor="risk", reason=" ")
    assert caught.value.extra["fields"] == {"reason": ["required"]}
    offer_withdraw(offer=offer, actor="risk", reason="region paused")
    with pytest.raises(ConflictError):
        offer_withdraw(offer=offer, actor="risk", reason="again")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_ten_threads_accepting_one_offer_open_one_line():
    open_pool()  # business date TODAY and a funded pool
    products()
    champion_create()
    merchant = rated_merchant()
    set_policy(acceptance_rate_target=Decimal("1"))
    scores_refresh_all(as_of=business_date_today())
    offers_issue(as_of=business_date_today())
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")
    barrier = threading.Barrier(10)
    lines, errors = [], []

    def worker():
        try:
            barrier.wait()
            lines.append(offer_accept(offer=offer, actor="merchant:seller", on=business_date_today()).pk)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(lines)) == 1 and len(lines) == 10
    assert CreditLine.objects.filter(merchant=merchant, product__code="credit_loan").count() == 1
