"""Scoring's part when the marketplace moves: daily aggregates follow the closed dates, so a
decision never waits for a year of orders to be read."""

import datetime as dt

from django.dispatch import receiver

from merchants.signals import marketplace_day_traded, marketplace_seeded
from scoring.demo import permissions_grant
from scoring.features import merchant_days_catch_up, snapshots_refresh


@receiver(marketplace_seeded, dispatch_uid="scoring.seeded")
def on_marketplace_seeded(sender, *, first_on: dt.date, last_on: dt.date, **kwargs) -> None:
    # The seeded history is closed (the business date is the day after it): build it final and
    # give every merchant features for the first business date.
    merchant_days_catch_up(through=last_on)
    snapshots_refresh(as_of=last_on + dt.timedelta(days=1))


@receiver(marketplace_day_traded, dispatch_uid="scoring.day_traded")
def on_marketplace_day_traded(sender, *, on: dt.date, **kwargs) -> None:
    # Trading `on` opens that date's close of business, so the day before has fully closed
    # (wallet deductions included): build it. `on` itself is built once it has closed too.
    merchant_days_catch_up(through=on - dt.timedelta(days=1))


@receiver(marketplace_seeded, dispatch_uid="scoring.seeded.permissions")
def on_marketplace_seeded_grant_permissions(sender, **kwargs) -> None:
    # The demo's risk managers and loan officers are created by the seed; give them scoring's
    # screens (policy, adjustments, findings, promotion) as well.
    permissions_grant()
