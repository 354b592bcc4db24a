"""The set-based path posts exactly what one-at-a-time posting would, once."""

import datetime as dt

import pytest

from merchants.models import Settlement
from merchants.signals import marketplace_day_traded, marketplace_seeded
from payments import bulk, services
from payments.models import Account, FundingPool, JournalEntry
from payments.reconciliation import reconcile
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 1)


def settlement(merchant, n, amount, on=DAY):
    return Settlement.objects.create(
        partner=merchant.partner, merchant=merchant, external_id=f"S{n}", settled_on=on, amount_fen=amount
    )


def test_bulk_crediting_matches_one_at_a_time_and_runs_once():
    shops = [MerchantFactory() for _ in range(3)]
    for n, shop in enumerate(shops):
        settlement(shop, n, 1_000 * (n + 1))
    settlement(shops[0], 9, 555, on=DAY + dt.timedelta(days=1))
    assert bulk.settlements_credit(first_on=DAY, last_on=DAY + dt.timedelta(days=1)) == 4
    assert bulk.settlements_credit(first_on=DAY, last_on=DAY + dt.timedelta(days=1)) == 0
    balances = dict(Account.objects.filter(purpose="wallet").values_list("merchant_id", "balance_fen"))
    assert balances == {shops[0].pk: 1_555, shops[1].pk: 2_000, shops[2].pk: 3_000}
    assert JournalEntry.objects.get(
        idempotency_key=f"settlement:{Settlement.objects.get(external_id='S9').pk}"
    ).business_on == DAY + dt.timedelta(days=1)
    assert reconcile().is_clean


def test_a_bulk_credited_settlement_resent_one_at_a_time_is_a_replay():
    shop = MerchantFactory()
    recorded = settlement(shop, 1, 4_200)
    bulk.settlements_credit(first_on=DAY, last_on=DAY)
    result = services.settlement_credit_recorded(settlement=recorded)
    assert result.replayed
    assert services.wallet_open(merchant=shop).balance_fen == 4_200


def test_seeding_a_marketplace_opens_wallets_a_pool_and_credits_the_last_month():
    shop = MerchantFactory()
    settlement(shop, 1, 100, on=DAY - dt.timedelta(days=40))
    settlement(shop, 2, 200, on=DAY - dt.timedelta(days=3))
    marketplace_seeded.send(sender=None, first_on=DAY - dt.timedelta(days=60), last_on=DAY)
    assert services.wallet_open(merchant=shop).balance_fen == 200
    assert FundingPool.objects.get().capacity_fen > 0
    settlement(shop, 3, 50, on=DAY + dt.timedelta(days=1))
    marketplace_day_traded.send(sender=None, on=DAY + dt.timedelta(days=1))
    assert services.wallet_open(merchant=shop).balance_fen == 250
    assert reconcile().is_clean
