"""One day of trading on the demo marketplace, vectorised over every merchant and order.

`day_generate(market, on)` is a pure function of the seed, the day and the merchants' profiles:
it returns the orders placed that day together with their whole future (when each will be paid,
shipped, delivered, disputed, settled or refunded, rated, complained about). What the database
holds "as of" any later day is read off that timeline, so trading one day at a time and seeding
a longer history in one go write the same rows.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

from demo.simulator.calendar import (
    DAY_SECONDS,
    HOURLY_P,
    day_start,
    festival_factor,
    promotion_shape,
)
from demo.simulator.market import Market
from merchants.models import REFUND_REASONS as KNOWN_REFUND_REASONS
from merchants.models import Complaint, OrderStatus

# Events in the order an order can pass through them; column j of DayOrders.events.
EVENT_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.DISPUTED,
    OrderStatus.SETTLED,
    OrderStatus.REFUNDED,
    OrderStatus.CANCELLED,
)
PAID, SHIPPED, DELIVERED, DISPUTED, SETTLED, REFUNDED, CANCELLED = range(7)
# Status code 0 is "placed"; code j + 1 is EVENT_STATUSES[j].
STATUS_BY_CODE = (OrderStatus.PLACED, *EVENT_STATUSES)
NONE = -1

# Every event of an order placed on day D happens before the start of day D + LIFECYCLE_DAYS
# (placed ≤1 d, paid ≤30 min, shipped ≤2 d, delivered ≤4 d, confirmed ≤7 d, a dispute resolved
# ≤7 d, rated ≤3 d), so advancing day X only needs the orders of the days before it.
LIFECYCLE_DAYS = 26

# Share of a brushing-ring member's apparent volume that is fake orders with fellow members.
FAKE_SHARE = 0.7
CANCEL_RATE = 0.012
# The refund reasons the marketplace gives, by code (shown in the reader's language:
# merchants.models.REFUND_REASONS).
REFUND_REASONS = tuple(KNOWN_REFUND_REASONS)
COMPLAINT_CATEGORIES = tuple(Complaint.Category.values)
COMPLAINT_P = np.array([0.4, 0.3, 0.1, 0.2])


@dataclass
class DayOrders:
    """Orders placed on one day, sorted by merchant then time; times are epoch seconds."""

    on: dt.date
    merchant: np.ndarray  # position in the Market
    seq: np.ndarray  # 0.. within the merchant's day, in time order
    buyer_merchant: np.ndarray  # position in the Market, NONE for consumers
    buyer_no: np.ndarray
    amount_fen: np.ndarray
    placed: np.ndarray
    events: np.ndarray  # (n, 7) times, NONE where the order never gets there
    rated: np.ndarray
    stars: np.ndarray
    complained: np.ndarray
    complaint_category: np.ndarray
    complaint_upheld: np.ndarray
    refund_fen: np.ndarray
    refund_reason: np.ndarray

    def __len__(self) -> int:
        return len(self.merchant)


def day_rates(market: Market, on: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected genuine and fake orders per merchant on a day, and the refund-rate multiplier.

    Volume grows or shrinks with the shop's yearly trend, swells at 618 and Double-11 by its
    seasonality, falls at the Spring Festival, ramps up over a new shop's first two months,
    collapses once its cash dries up and stops when it vanishes."""
    ordinal = on.toordinal()
    years = (ordinal - market.started_on.toordinal()) / 365.25
    trend = np.exp(np.log1p(market.trend_per_year) * years)
    season = np.maximum(0.1, 1.0 + market.seasonality * promotion_shape(on)) * festival_factor(on)
    age = ordinal - market.opened
    ramp = np.where(age < 0, 0.0, np.clip(0.3 + 0.7 * age / 60.0, 0.0, 1.0))
    since_dry = ordinal - market.dry
    dry = np.where(since_dry >= 0, 0.08 + 0.92 * np.exp(-np.maximum(since_dry, 0) / 14.0), 1.0)
    alive = ordinal < market.vanish
    rate = market.orders_per_day * trend * season * ramp * dry * alive
    in_ring = market.ring >= 0
    fake = np.where(in_ring, rate * FAKE_SHARE, 0.0)
    genuine = rate - fake
    # A shop short of cash ships late and refunds more.
    refund_mult = np.where(since_dry >= 0, 2.0, 1.0)
    return genuine, fake, refund_mult


def _genuine(market: Market, on: dt.date, rate: np.ndarray, refund_mult: np.ndarray) -> dict:
    """Real buyers' orders. A Poisson number per shop, amounts spread around its ticket, placed
    by the hour-of-day pattern. 1.2 % are cancelled before paying; the rest are paid within
    30 minutes, shipped within two days (better shops ship sooner), delivered 1–4 days later and
    confirmed 1–7 days after that. At the shop's refund rate an order is refunded instead: before
    shipping, in transit or after delivery. At its complaint rate the buyer complains; 40 % of
    complaints become disputes, resolved 1–7 days later by a refund or a settlement."""
    rng = np.random.default_rng([market.seed, on.toordinal(), 0])
    start = day_start(on)
    counts = rng.poisson(rate)
    m = np.repeat(np.arange(market.size), counts)
    n = len(m)
    q = market.quality[m]

    amount = np.maximum(100, np.round(market.ticket_fen[m] * rng.lognormal(0.0, 0.45, n) / 10) * 10)
    placed = start + rng.choice(24, size=n, p=HOURLY_P) * 3600 + rng.integers(0, 3600, n)
    cancel_delay = rng.integers(300, 7200, n)
    pay_delay = np.minimum(rng.exponential(180.0, n), 1800.0).astype(np.int64) + 5
    ship_hours = np.clip(rng.lognormal(np.log(4.0 + 22.0 * (1.0 - q)), 0.6, n), 0.5, 47.5)
    deliver_days = rng.uniform(1.0, 4.0, n)
    settle_days = rng.uniform(1.0, 7.0, n)
    is_cancel = rng.random(n) < CANCEL_RATE
    is_refund = rng.random(n) < market.refund_rate[m] * refund_mult[m]
    refund_stage = rng.choice(3, size=n, p=[0.35, 0.15, 0.5])
    frac = rng.uniform(0.15, 0.85, n)
    has_complaint = (rng.random(n) < market.complaint_rate[m]) & ~is_cancel
    is_dispute = has_complaint & (rng.random(n) < 0.4)
    dispute_after_delivery = rng.random(n) < 0.7
    resolve_days = rng.uniform(1.0, 7.0, n)
    dispute_refunds = is_refund | (rng.random(n) < 0.5)
    complaint_delay = rng.uniform(0.2, 5.0, n)
    complaint_category = rng.choice(len(COMPLAINT_CATEGORIES), size=n, p=COMPLAINT_P)
    complaint_upheld = rng.random(n) < 0.25 + 0.6 * (1.0 - q)
    rate_u = rng.random(n)
    rate_delay = rng.uniform(0.05, 3.0, n)
    stars_noise = rng.normal(0.0, 0.8, n)
    partial = rng.random(n) < 0.2
    partial_frac = rng.uniform(0.3, 0.8, n)
    refund_reason = rng.integers(0, len(REFUND_REASONS), n)
    buyer_no = rng.integers(0, 10**8, n)

    paid = placed + pay_delay
    shipped = paid + (ship_hours * 3600).astype(np.int64)
    delivered = shipped + (deliver_days * DAY_SECONDS).astype(np.int64)
    confirm = delivered + (settle_days * DAY_SECONDS).astype(np.int64)

    ev = np.full((n, 7), NONE, dtype=np.int64)
    live = ~is_cancel
    ev[live, PAID] = paid[live]
    ev[is_cancel, CANCELLED] = placed[is_cancel] + cancel_delay[is_cancel]

    plain_refund = live & is_refund & ~is_dispute
    normal = live & ~is_refund & ~is_dispute
    ev[normal, SHIPPED] = shipped[normal]
    ev[normal, DELIVERED] = delivered[normal]
    ev[normal, SETTLED] = confirm[normal]

    s0 = plain_refund & (refund_stage == 0)
    ev[s0, REFUNDED] = (paid + frac * (shipped - paid)).astype(np.int64)[s0]
    s1 = plain_refund & (refund_stage == 1)
    ev[s1, SHIPPED] = shipped[s1]
    ev[s1, REFUNDED] = (shipped + frac * (delivered - shipped)).astype(np.int64)[s1]
    s2 = plain_refund & (refund_stage == 2)
    ev[s2, SHIPPED] = shipped[s2]
    ev[s2, DELIVERED] = delivered[s2]
    ev[s2, REFUNDED] = (delivered + frac * (confirm - delivered)).astype(np.int64)[s2]

    late = is_dispute & dispute_after_delivery
    ev[is_dispute, SHIPPED] = shipped[is_dispute]
    ev[late, DELIVERED] = delivered[late]
    disputed = np.where(
        dispute_after_delivery,
        delivered + frac * (confirm - delivered),
        shipped + frac * (delivered - shipped),
    ).astype(np.int64)
    ev[is_dispute, DISPUTED] = disputed[is_dispute]
    resolved = disputed + (resolve_days * DAY_SECONDS).astype(np.int64)
    ev[is_dispute & dispute_refunds, REFUNDED] = resolved[is_dispute & dispute_refunds]
    ev[is_dispute & ~dispute_refunds, SETTLED] = resolved[is_dispute & ~dispute_refunds]

    refunded = ev[:, REFUNDED] >= 0
    refund_fen = np.where(refunded & s2 & partial, np.maximum(1, np.round(amount * partial_frac)), amount)
    refund_fen = np.where(refunded, refund_fen, 0)

    complained = np.full(n, NONE, dtype=np.int64)
    complained[is_dispute] = disputed[is_dispute]
    plain_complaint = has_complaint & ~is_dispute
    after = np.where(ev[:, SHIPPED] >= 0, ev[:, SHIPPED], paid)
    complained[plain_complaint] = (after + complaint_delay * DAY_SECONDS).astype(np.int64)[plain_complaint]

    settled = ev[:, SETTLED] >= 0
    is_rated = settled & (rate_u < 0.25 + 0.25 * q)
    rated = np.where(is_rated, ev[:, SETTLED] + (rate_delay * DAY_SECONDS).astype(np.int64), NONE)
    stars = np.clip(np.round(2.4 + 2.8 * q + stars_noise - 1.5 * is_dispute), 1, 5)

    return {
        "merchant": m,
        "buyer_merchant": np.full(n, NONE, dtype=np.int64),
        "buyer_no": buyer_no,
        "amount_fen": amount.astype(np.int64),
        "placed": placed,
        "events": ev,
        "rated": rated,
        "stars": stars.astype(np.int64),
        "complained": complained,
        "complaint_category": complaint_category,
        "complaint_upheld": complaint_upheld,
        "refund_fen": refund_fen.astype(np.int64),
        "refund_reason": refund_reason,
    }


def _fake(market: Market, on: dt.date, rate: np.ndarray) -> dict:
    """Brushing (刷单): ring members buy from each other in round amounts, pay, ship and confirm
    at once, never refund or complain, and leave five stars."""
    rng = np.random.default_rng([market.seed, on.toordinal(), 1])
    start = day_start(on)
    counts = rng.poisson(rate)
    m = np.repeat(np.arange(market.size), counts)
    n = len(m)
    offset = rng.integers(1, np.maximum(market.ring_size[m], 2))
    buyer = market.ring_members[market.ring_start[m] + (market.ring_pos[m] + offset) % market.ring_size[m]]
    amount = np.maximum(1, np.round(market.ticket_fen[m] * rng.lognormal(0.0, 0.3, n) / 5000)) * 5000
    placed = start + rng.integers(8 * 3600, 23 * 3600, n)
    paid = placed + rng.integers(30, 180, n)
    shipped = paid + rng.integers(1800, 4 * 3600, n)
    delivered = shipped + rng.integers(DAY_SECONDS, 2 * DAY_SECONDS, n)
    settled = delivered + rng.integers(3600, DAY_SECONDS, n)
    rated = settled + rng.integers(600, 12 * 3600, n)
    is_rated = rng.random(n) < 0.9

    ev = np.full((n, 7), NONE, dtype=np.int64)
    ev[:, PAID] = paid
    ev[:, SHIPPED] = shipped
    ev[:, DELIVERED] = delivered
    ev[:, SETTLED] = settled
    none = np.full(n, NONE, dtype=np.int64)
    return {
        "merchant": m,
        "buyer_merchant": buyer,
        "buyer_no": np.zeros(n, dtype=np.int64),
        "amount_fen": amount.astype(np.int64),
        "placed": placed,
        "events": ev,
        "rated": np.where(is_rated, rated, NONE),
        "stars": np.full(n, 5, dtype=np.int64),
        "complained": none,
        "complaint_category": np.zeros(n, dtype=np.int64),
        "complaint_upheld": np.zeros(n, dtype=bool),
        "refund_fen": np.zeros(n, dtype=np.int64),
        "refund_reason": np.zeros(n, dtype=np.int64),
    }


def day_generate(market: Market, on: dt.date) -> DayOrders:
    """Every order placed on `on`, with its full future, as a pure function of seed and day."""
    genuine_rate, fake_rate, refund_mult = day_rates(market, on)
    parts = [_genuine(market, on, genuine_rate, refund_mult), _fake(market, on, fake_rate)]
    joined = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.lexsort((np.arange(len(joined["merchant"])), joined["placed"], joined["merchant"]))
    joined = {key: value[order] for key, value in joined.items()}
    horizon = day_start(on + dt.timedelta(days=LIFECYCLE_DAYS))
    latest = max(
        joined["events"].max(initial=NONE),
        joined["rated"].max(initial=NONE),
        joined["complained"].max(initial=NONE),
    )
    assert latest < horizon, "an order's lifecycle outlasts LIFECYCLE_DAYS; daily trading would miss it"
    merchant = joined["merchant"]
    first_of_merchant = np.searchsorted(merchant, merchant, side="left")
    seq = np.arange(len(merchant)) - first_of_merchant
    return DayOrders(on=on, seq=seq, **joined)


def status_codes(events: np.ndarray, cutoff: int | np.ndarray) -> np.ndarray:
    """Each order's status code (index into STATUS_BY_CODE) as of just before `cutoff`: the
    latest event that happened before it, or "placed" if none has."""
    cut = cutoff if np.ndim(cutoff) == 0 else np.asarray(cutoff)[:, None]
    happened = np.where((events >= 0) & (events < cut), events, NONE)
    latest = happened.argmax(axis=1)
    return np.where(happened.max(axis=1) >= 0, latest + 1, 0)
