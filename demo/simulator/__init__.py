"""The deterministic demo marketplace: partner platforms, merchants and their owners, and day
after day of orders, refunds, complaints, ratings and settlements, all derived from one seed.

Public surface: `marketplace_seed`, `marketplace_trade_day`, `marketplace_trade_through`.
"""

from demo.simulator.engine import (
    DayReport,
    SeedReport,
    marketplace_seed,
    marketplace_trade_day,
    marketplace_trade_through,
)

__all__ = [
    "DayReport",
    "SeedReport",
    "marketplace_seed",
    "marketplace_trade_day",
    "marketplace_trade_through",
]
