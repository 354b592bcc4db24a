"""What the marketplace tells the rest of the platform. Apps to the right (payments, lending,
…) listen; the merchants app never imports them."""

from django.dispatch import Signal

# Sent after seed_demo built a marketplace: kwargs first_on, last_on (the trading history).
marketplace_seeded = Signal()

# Sent after the marketplace traded one more business date: kwargs on.
marketplace_day_traded = Signal()
