"""Who trades on the demo marketplace: merchants, their owners and each shop's hidden profile.

Drawn from the seed and the first day of the history, not from its last day, so a history
seeded one day longer (same first day) has the same merchants. Two things do depend on the last
day, harmlessly: the dates of future collapses and vanishings, which always fall at least a week
after it, and the opening date of a young shop, which is capped at the last day when a history
shorter than a month would otherwise end before the shop opens.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from demo.simulator import identities as ids
from merchants.services import OwnerData

B2B_SHARE = 0.25
RING_SHARE = 0.05
VANISHER_SHARE = 0.03
# Owners of a second shop: a B2B firm whose owner also runs a B2C shop.
SHARED_OWNER_SHARE = 0.04


@dataclass
class MerchantSpec:
    index: int
    is_b2b: bool
    external_id: str
    shop_name: str
    category: str
    region: str
    opened_on: dt.date
    owner: int  # position in Population.owners
    quality: float
    orders_per_day: float
    ticket_fen: int
    trend_per_year: float
    seasonality: float
    refund_rate: float
    complaint_rate: float
    cash_dry_on: dt.date | None
    vanish_on: dt.date | None
    ring: int | None


@dataclass
class Population:
    owners: list[OwnerData]
    merchants: list[MerchantSpec]


def _rings(rng: np.random.Generator, pool: np.ndarray) -> list[np.ndarray]:
    """Brushing rings of 3–6 shops covering about RING_SHARE of a platform's shops."""
    if len(pool) < 10:
        return []
    target = max(3, round(RING_SHARE * len(pool)))
    shuffled = rng.permutation(pool)
    rings, used = [], 0
    while target - used >= 3:
        size = int(min(rng.integers(3, 7), target - used))
        rings.append(np.sort(shuffled[used : used + size]))
        used += size
    return rings


def population_draw(*, seed: int, merchants: int, started_on: dt.date, ended_on: dt.date) -> Population:
    """The merchants of a marketplace whose simulated history runs from started_on to ended_on."""
    rng = np.random.default_rng([seed, 1])
    n = merchants
    is_b2b = rng.random(n) < B2B_SHARE
    ring_of = np.full(n, -1, dtype=np.int64)
    ring_count = 0
    for pool in (np.flatnonzero(~is_b2b), np.flatnonzero(is_b2b)):
        for members in _rings(rng, pool):
            ring_count += 1
            ring_of[members] = ring_count
    in_ring = ring_of >= 0
    honest = np.flatnonzero(~in_ring)
    vanisher_count = max(1, round(VANISHER_SHARE * n)) if n >= 20 else 0
    is_vanisher = np.zeros(n, dtype=bool)
    is_vanisher[rng.choice(honest, size=min(vanisher_count, len(honest)), replace=False)] = True

    quality = rng.beta(4.0, 2.5, n)
    quality = np.where(in_ring, rng.beta(1.5, 4.0, n), quality)
    quality = np.where(is_vanisher, rng.beta(2.0, 4.0, n), quality)
    # Vanishers trade like decent shops until they disappear: their visible behaviour follows
    # a borrowed quality, not their true one.
    visible = np.where(is_vanisher, 0.55 + 0.35 * rng.random(n), quality)

    rate = np.where(
        is_b2b,
        rng.lognormal(np.log(0.45) + 1.0 * (visible - 0.6), 0.7, n),
        rng.lognormal(np.log(1.1) + 1.2 * (visible - 0.6), 0.85, n),
    )
    rate = np.where(in_ring, rng.lognormal(np.log(4.0), 0.4, n), rate)
    rate = np.clip(rate, 0.05, 80.0)
    ticket_noise = rng.lognormal(0.0, 0.35, n)
    trend = np.clip(0.9 * (visible - 0.55) + rng.normal(0.0, 0.12, n), -0.5, 0.8)
    seasonality = np.clip(0.15 + 0.35 * rng.random(n), 0.05, 0.7)
    refund_rate = np.clip(0.01 + 0.14 * (1.0 - visible) ** 1.6 * rng.uniform(0.8, 1.2, n), 0.005, 0.2)
    complaint_rate = np.clip(0.002 + 0.05 * (1.0 - visible) ** 2 * rng.uniform(0.8, 1.2, n), 0.001, 0.1)
    is_young = rng.random(n) < 0.18
    opened_offset = np.where(is_young, rng.integers(-180, 31, n), -rng.integers(180, 8 * 365, n))
    opened_offset = np.where(in_ring | is_vanisher, -rng.integers(200, 3 * 365, n), opened_offset)
    will_dry = rng.random(n) < 0.03 + 0.45 * (1.0 - quality) ** 2.5
    share_owner = is_b2b & ~in_ring & (rng.random(n) < SHARED_OWNER_SHARE)

    # Dates after the history come from their own stream: a longer history moves them, and
    # only them.
    future = np.random.default_rng([seed, 3])
    dry_after = future.integers(7, 271, n)
    vanish_after = future.integers(20, 121, n)

    people = np.random.default_rng([seed, 2])
    regions = people.choice(len(ids.REGION_NAMES), size=n, p=ids.REGION_P)
    b2c_categories = people.choice(len(ids.CATEGORIES_B2C), size=n, p=ids.CATEGORIES_B2C_P)
    b2b_categories = people.choice(len(ids.CATEGORIES_B2B), size=n, p=ids.CATEGORIES_B2B_P)

    owners: list[OwnerData] = []
    owner_of = np.full(n, -1, dtype=np.int64)
    taken: set[str] = set()
    ring_identity: dict[int, dict[str, str]] = {}
    specs: list[MerchantSpec] = []
    b2c_by_region: dict[str, list[int]] = {}
    for i in range(n):
        region = ids.REGION_NAMES[int(regions[i])]
        if is_b2b[i]:
            category = ids.CATEGORIES_B2B[int(b2b_categories[i])]
            ticket = ids.TICKET_B2B_FEN[category]
        else:
            category = ids.CATEGORIES_B2C[int(b2c_categories[i])]
            ticket = ids.TICKET_B2C_FEN[category]
        candidates = b2c_by_region.get(region, [])
        if share_owner[i] and candidates:
            owner_of[i] = owner_of[candidates[int(people.integers(len(candidates)))]]
        else:
            owner_of[i] = len(owners)
            owners.append(_owner(people, region, started_on, taken))
            if not is_b2b[i] and not in_ring[i]:
                b2c_by_region.setdefault(region, []).append(i)
        if in_ring[i]:
            owners[owner_of[i]] = _ring_owner(
                people, owners[owner_of[i]], ring_identity.setdefault(int(ring_of[i]), {})
            )
        owner_name = owners[owner_of[i]].name
        opened_on = min(started_on + dt.timedelta(days=int(opened_offset[i])), ended_on)
        specs.append(
            MerchantSpec(
                index=i + 1,
                is_b2b=bool(is_b2b[i]),
                external_id=f"{'AL' if is_b2b[i] else 'TB'}{i + 1:06d}",
                shop_name=ids.shop_name(people, category, owner_name, bool(is_b2b[i]), region),
                category=category,
                region=region,
                opened_on=opened_on,
                owner=int(owner_of[i]),
                quality=float(quality[i]),
                orders_per_day=float(rate[i]),
                ticket_fen=max(100, round(float(ticket * ticket_noise[i]) / 100) * 100),
                trend_per_year=float(trend[i]),
                seasonality=float(seasonality[i]),
                refund_rate=float(refund_rate[i]),
                complaint_rate=float(complaint_rate[i]),
                cash_dry_on=ended_on + dt.timedelta(days=int(dry_after[i])) if will_dry[i] else None,
                vanish_on=ended_on + dt.timedelta(days=int(vanish_after[i])) if is_vanisher[i] else None,
                ring=int(ring_of[i]) if in_ring[i] else None,
            )
        )
    return Population(owners=owners, merchants=specs)


def _owner(rng: np.random.Generator, region: str, started_on: dt.date, taken: set[str]) -> OwnerData:
    # Most owners were born where they trade; the rest moved there.
    home = region if rng.random() < 0.8 else ids.REGION_NAMES[int(rng.integers(len(ids.REGION_NAMES)))]
    _, _, _, county = ids.place(rng, home)
    born_on = started_on - dt.timedelta(days=int(rng.integers(22 * 365, 58 * 365)))
    return OwnerData(
        name=ids.person_name(rng),
        national_id=ids.national_id(rng, county, born_on, taken),
        phone=ids.phone(rng),
        address=ids.address(rng, region),
        bank_card=ids.bank_card(rng),
    )


def _ring_owner(rng: np.random.Generator, owner: OwnerData, shared: dict[str, str]) -> OwnerData:
    """Ring members are different people who give the same phone, address or payout card: one
    of them, chosen per ring, is common to every member, and sometimes a second one is too."""
    if not shared:
        kinds = ["phone", "address", "bank_card"]
        first = kinds.pop(int(rng.integers(3)))
        shared[first] = getattr(owner, first)
        if rng.random() < 0.3:
            second = kinds[int(rng.integers(2))]
            shared[second] = getattr(owner, second)
        return owner
    return OwnerData(
        name=owner.name,
        national_id=owner.national_id,
        phone=shared.get("phone", owner.phone),
        address=shared.get("address", owner.address),
        bank_card=shared.get("bank_card", owner.bank_card),
    )
