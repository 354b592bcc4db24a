"""Lending's part when the demo marketplace moves (see lending/demo.py)."""

from django.dispatch import receiver

from lending import demo
from merchants.signals import marketplace_day_traded, marketplace_seeded


@receiver(marketplace_seeded, dispatch_uid="lending.seeded")
def on_marketplace_seeded(sender, *, first_on, last_on, **kwargs) -> None:
    demo.on_seeded(first_on=first_on, last_on=last_on)


@receiver(marketplace_day_traded, dispatch_uid="lending.day_traded")
def on_marketplace_day_traded(sender, *, on, **kwargs) -> None:
    demo.on_day_traded(on=on)
