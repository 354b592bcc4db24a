"""The simulated merchants as numpy arrays, read back from the database so that seeding and
later daily runs trade from exactly the same numbers."""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from demo.models import SimulatorState
from merchants.models import PartnerPlatform, SimulatedProfile

# Stands for "never" in date-ordinal arrays (cash never dries up, shop never vanishes).
NEVER = dt.date.max.toordinal()


@dataclass
class Market:
    seed: int
    started_on: dt.date
    merchant_pk: np.ndarray
    partner_pk: np.ndarray
    external_id: np.ndarray  # of str objects, for fancy indexing
    is_b2b: np.ndarray
    opened: np.ndarray  # date ordinals
    quality: np.ndarray
    orders_per_day: np.ndarray
    ticket_fen: np.ndarray
    trend_per_year: np.ndarray
    seasonality: np.ndarray
    refund_rate: np.ndarray
    complaint_rate: np.ndarray
    dry: np.ndarray  # date ordinals, NEVER when the cash never dries up
    vanish: np.ndarray  # date ordinals, NEVER when the shop stays
    ring: np.ndarray  # ring number, -1 outside rings
    # Ring members grouped by ring (merchant positions); each member's ring start, size, place.
    ring_members: np.ndarray
    ring_start: np.ndarray
    ring_size: np.ndarray
    ring_pos: np.ndarray

    @property
    def size(self) -> int:
        return len(self.merchant_pk)


def market_load() -> Market:
    """Every merchant that has a simulated profile, in primary-key order."""
    state = SimulatorState.objects.get(pk=1)
    rows = list(
        SimulatedProfile.objects.order_by("merchant_id").values_list(
            "merchant_id",
            "merchant__partner_id",
            "merchant__external_id",
            "merchant__partner__kind",
            "merchant__opened_on",
            "quality",
            "orders_per_day",
            "ticket_fen",
            "trend_per_year",
            "seasonality",
            "refund_rate",
            "complaint_rate",
            "cash_dry_on",
            "vanish_on",
            "ring",
        )
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 15

    def floats(i: int) -> np.ndarray:
        return np.array(columns[i], dtype=np.float64)

    def ordinals(i: int) -> np.ndarray:
        return np.array([NEVER if v is None else v.toordinal() for v in columns[i]], dtype=np.int64)

    ring = np.array([-1 if v is None else v for v in columns[14]], dtype=np.int64)
    members = np.flatnonzero(ring >= 0)
    members = members[np.argsort(ring[members], kind="stable")]
    ring_start = np.full(len(ring), -1, dtype=np.int64)
    ring_size = np.zeros(len(ring), dtype=np.int64)
    ring_pos = np.full(len(ring), -1, dtype=np.int64)
    if len(members):
        ids, first, sizes = np.unique(ring[members], return_index=True, return_counts=True)
        for ring_id, start, size in zip(ids, first, sizes, strict=True):
            group = members[start : start + size]
            ring_start[group] = start
            ring_size[group] = size
            ring_pos[group] = np.arange(size)
            assert (ring[group] == ring_id).all()
    return Market(
        seed=state.seed,
        started_on=state.started_on,
        merchant_pk=np.array(columns[0], dtype=np.int64),
        partner_pk=np.array(columns[1], dtype=np.int64),
        external_id=np.array(columns[2], dtype=object),
        is_b2b=np.array([kind == PartnerPlatform.Kind.B2B for kind in columns[3]], dtype=bool),
        opened=np.array([v.toordinal() for v in columns[4]], dtype=np.int64),
        quality=floats(5),
        orders_per_day=floats(6),
        ticket_fen=np.array(columns[7], dtype=np.int64),
        trend_per_year=floats(8),
        seasonality=floats(9),
        refund_rate=floats(10),
        complaint_rate=floats(11),
        dry=ordinals(12),
        vanish=ordinals(13),
        ring=ring,
        ring_members=members,
        ring_start=ring_start,
        ring_size=ring_size,
        ring_pos=ring_pos,
    )
