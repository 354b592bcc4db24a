"""Payments' part when the marketplace moves: every merchant has a wallet, and settlements land
in it."""

import datetime as dt

from django.dispatch import receiver

from merchants.signals import marketplace_day_traded, marketplace_seeded
from payments import bulk, services
from payments.models import PLATFORM_POOL_NAME, FundingPool

# How much of a seeded history's settlements sit in wallets: merchants sweep older money to
# their banks, so a wallet starts with about a month of takings.
SEEDED_WALLET_DAYS = 30
DEMO_POOL_CAPITAL_FEN = 1_600_000_000 * 100  # the seed's two companies: 1.6 billion yuan of capital
DEMO_POOL_BORROWINGS_FEN = 1_000_000_000 * 100


@receiver(marketplace_seeded, dispatch_uid="payments.seeded")
def on_marketplace_seeded(sender, *, first_on: dt.date, last_on: dt.date, **kwargs) -> None:
    if not FundingPool.objects.exists():
        pool = services.funding_pool_create(code="main", name=PLATFORM_POOL_NAME)
        services.funding_pool_add_capital(
            pool=pool, amount_fen=DEMO_POOL_CAPITAL_FEN, idempotency_key="demo:capital"
        )
        services.funding_pool_borrow(
            pool=pool, amount_fen=DEMO_POOL_BORROWINGS_FEN, idempotency_key="demo:borrow"
        )
    since = max(first_on, last_on - dt.timedelta(days=SEEDED_WALLET_DAYS - 1))
    bulk.settlements_credit(first_on=since, last_on=last_on)


@receiver(marketplace_day_traded, dispatch_uid="payments.day_traded")
def on_marketplace_day_traded(sender, *, on: dt.date, **kwargs) -> None:
    bulk.settlements_credit(first_on=on, last_on=on)
