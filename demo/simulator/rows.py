"""Turning generated orders into database rows "as of" an instant: only what has happened by
then is written, in the state it has reached."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np

from demo.simulator.calendar import day_starts
from demo.simulator.market import Market
from demo.simulator.trading import (
    COMPLAINT_CATEGORIES,
    EVENT_STATUSES,
    NONE,
    REFUND_REASONS,
    REFUNDED,
    SETTLED,
    STATUS_BY_CODE,
    DayOrders,
    status_codes,
)
from demo.simulator.writer import dates_text, insert_rows, instants_text, iso_utc
from merchants.models import (
    ORDER_STATUS_TIMESTAMP,
    Complaint,
    Order,
    OrderStatusChange,
    Rating,
    Refund,
    Settlement,
)

EVENT_COLUMNS = tuple(ORDER_STATUS_TIMESTAMP[status] for status in EVENT_STATUSES)
ORDER_COLUMNS = (
    "id",
    "partner_id",
    "merchant_id",
    "external_id",
    "buyer_ref",
    "buyer_merchant_id",
    "amount_fen",
    "status",
    "placed_at",
    *EVENT_COLUMNS,
    "content_hash",
    "updated_at",
)
# The canonical JSON that merchants.services.content_hash builds for OrderData.identity_hash,
# written out directly (keys sorted, no spaces; every value here is plain ASCII).
IDENTITY_JSON = (
    '{"amount_fen":%d,"buyer_merchant":"%s","buyer_ref":"%s","external_id":"%s",'
    '"merchant":"%s","placed_at":"%s"}'
)
SIMULATOR_SOURCE = "simulator"
# Plain strings: database drivers bind str, not str subclasses such as TextChoices members.
STATUS_TEXT = np.array([status.value for status in STATUS_BY_CODE], dtype=object)


def order_external_ids(market: Market, day: DayOrders, idx: np.ndarray | slice = slice(None)) -> list[str]:
    ymd = day.on.strftime("%Y%m%d")
    merchants = market.external_id[day.merchant[idx]].tolist()
    return [f"{m}-{ymd}-{s:04d}" for m, s in zip(merchants, day.seq[idx].tolist(), strict=True)]


def _buyer_refs(market: Market, day: DayOrders) -> tuple[list[str], list[str]]:
    """The buyer's id at the partner, and the buying merchant's external id ("" for consumers)."""
    buyer = day.buyer_merchant
    buyer_ext = np.where(buyer >= 0, market.external_id[np.maximum(buyer, 0)], "").tolist()
    b2b = market.is_b2b[day.merchant].tolist()
    refs = [
        ext or (f"ali_b{no:08d}" if is_b2b else f"tb_u{no:08d}")
        for ext, no, is_b2b in zip(buyer_ext, day.buyer_no.tolist(), b2b, strict=True)
    ]
    return refs, buyer_ext


def visible_events(events: np.ndarray, before: int) -> np.ndarray:
    """Event times that have happened before `before`; the rest NONE."""
    return np.where((events >= 0) & (events < before), events, NONE)


def order_rows(market: Market, day: DayOrders, order_ids: np.ndarray, before: int) -> list[tuple]:
    """Rows for every order of the day, in its state just before `before`."""
    external_ids = order_external_ids(market, day)
    merchant_ext = market.external_id[day.merchant].tolist()
    refs, buyer_ext = _buyer_refs(market, day)
    amounts = day.amount_fen.tolist()
    hashes = [
        hashlib.sha256((IDENTITY_JSON % values).encode()).hexdigest()
        for values in zip(
            amounts, buyer_ext, refs, external_ids, merchant_ext, iso_utc(day.placed), strict=True
        )
    ]
    seen = visible_events(day.events, before)
    statuses = STATUS_TEXT[status_codes(day.events, before)].tolist()
    buyer_pk = np.where(day.buyer_merchant >= 0, market.merchant_pk[np.maximum(day.buyer_merchant, 0)], NONE)
    buyer_pk = [None if pk < 0 else pk for pk in buyer_pk.tolist()]
    columns = [
        order_ids.tolist(),
        market.partner_pk[day.merchant].tolist(),
        market.merchant_pk[day.merchant].tolist(),
        external_ids,
        refs,
        buyer_pk,
        amounts,
        statuses,
        instants_text(day.placed),
        *(instants_text(seen[:, j]) for j in range(seen.shape[1])),
        hashes,
        instants_text(np.maximum(day.placed, seen.max(axis=1))),
    ]
    return list(zip(*columns, strict=True))


@dataclass
class SideRows:
    """Refunds, ratings and complaints whose moment falls in a window, ready to insert."""

    refunds: list[tuple] = field(default_factory=list)
    ratings: list[tuple] = field(default_factory=list)
    complaints: list[tuple] = field(default_factory=list)

    def add(self, market: Market, day: DayOrders, order_ids: np.ndarray, lo: int, hi: int) -> None:
        """Order ids line up with the day's orders (unknown ones are never picked)."""
        merchant_pk = market.merchant_pk[day.merchant]
        refunded = day.events[:, REFUNDED]
        sel = np.flatnonzero((refunded >= lo) & (refunded < hi))
        reasons = np.array(REFUND_REASONS, dtype=object)[day.refund_reason[sel]].tolist()
        self.refunds.extend(
            zip(
                order_ids[sel].tolist(),
                merchant_pk[sel].tolist(),
                day.refund_fen[sel].tolist(),
                instants_text(refunded[sel]),
                reasons,
                strict=True,
            )
        )
        sel = np.flatnonzero((day.rated >= lo) & (day.rated < hi))
        self.ratings.extend(
            zip(
                merchant_pk[sel].tolist(),
                order_ids[sel].tolist(),
                day.stars[sel].tolist(),
                instants_text(day.rated[sel]),
                strict=True,
            )
        )
        sel = np.flatnonzero((day.complained >= lo) & (day.complained < hi))
        categories = np.array(COMPLAINT_CATEGORIES, dtype=object)[day.complaint_category[sel]].tolist()
        self.complaints.extend(
            zip(
                merchant_pk[sel].tolist(),
                order_ids[sel].tolist(),
                categories,
                instants_text(day.complained[sel]),
                day.complaint_upheld[sel].tolist(),
                strict=True,
            )
        )

    def write(self) -> None:
        insert_rows(
            Refund._meta.db_table,
            ("order_id", "merchant_id", "amount_fen", "refunded_at", "reason"),
            self.refunds,
        )
        insert_rows(Rating._meta.db_table, ("merchant_id", "order_id", "stars", "rated_at"), self.ratings)
        insert_rows(
            Complaint._meta.db_table,
            ("merchant_id", "order_id", "category", "filed_at", "is_upheld"),
            self.complaints,
        )
        self.refunds, self.ratings, self.complaints = [], [], []

    def __len__(self) -> int:
        return len(self.refunds) + len(self.ratings) + len(self.complaints)


@dataclass
class SettledOrders:
    """Settled orders gathered as (merchant position, local settlement day, amount) so that they
    can be paid out as one Settlement per merchant and day."""

    merchant: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    amount: list[np.ndarray] = field(default_factory=list)

    def add(self, day: DayOrders, lo: int, hi: int, starts: np.ndarray, first_ordinal: int) -> None:
        """`starts` are the day starts from the day of `first_ordinal` on, covering [lo, hi)."""
        settled = day.events[:, SETTLED]
        sel = np.flatnonzero((settled >= lo) & (settled < hi))
        self.merchant.append(day.merchant[sel])
        self.day.append(first_ordinal + np.searchsorted(starts, settled[sel], side="right") - 1)
        self.amount.append(day.amount_fen[sel])

    def rows(self, market: Market) -> list[tuple]:
        """One row per merchant and day, by day then merchant."""
        if not self.merchant:
            return []
        merchant = np.concatenate(self.merchant)
        ordinal = np.concatenate(self.day)
        amount = np.concatenate(self.amount)
        if len(merchant) == 0:
            return []
        key = ordinal * market.size + merchant
        keys, inverse = np.unique(key, return_inverse=True)
        totals = np.zeros(len(keys), dtype=np.int64)
        np.add.at(totals, inverse, amount)
        counts = np.bincount(inverse, minlength=len(keys))
        days, merchants = keys // market.size, keys % market.size
        # Paid out in the platform's end-of-day batch, a second before local midnight.
        first = int(days.min())
        ends = day_starts(dt.date.fromordinal(first + 1), int(days.max()) - first + 1) - 1
        created = ends[days - first]
        external = [
            f"S{ext}-{dt.date.fromordinal(int(d)):%Y%m%d}"
            for ext, d in zip(market.external_id[merchants].tolist(), days.tolist(), strict=True)
        ]
        return list(
            zip(
                market.partner_pk[merchants].tolist(),
                market.merchant_pk[merchants].tolist(),
                external,
                dates_text(days),
                totals.tolist(),
                counts.tolist(),
                instants_text(created),
                strict=True,
            )
        )


def settlements_write(rows: list[tuple]) -> None:
    insert_rows(
        Settlement._meta.db_table,
        (
            "partner_id",
            "merchant_id",
            "external_id",
            "settled_on",
            "amount_fen",
            "order_count",
            "created_at",
        ),
        rows,
    )


def orders_write(rows: list[tuple]) -> None:
    insert_rows(Order._meta.db_table, ORDER_COLUMNS, rows)


def status_change_rows(day: DayOrders, order_ids: np.ndarray, lo: int, hi: int) -> list[tuple]:
    """One audit row per status an order entered within [lo, hi): (order, from, to, when)."""
    rows = []
    for j in range(day.events.shape[1]):
        at = day.events[:, j]
        sel = np.flatnonzero((at >= lo) & (at < hi))
        if len(sel) == 0:
            continue
        before = status_codes(day.events[sel], at[sel])
        from_status = STATUS_TEXT[before].tolist()
        rows.extend(
            zip(
                at[sel].tolist(),
                order_ids[sel].tolist(),
                from_status,
                [STATUS_TEXT[j + 1]] * len(sel),
                strict=True,
            )
        )
    return rows


def status_changes_write(rows: list[tuple], recorded_at: int) -> None:
    rows = sorted(rows, key=lambda row: (row[0], row[1]))
    recorded = instants_text(np.array([recorded_at], dtype=np.int64))[0]
    occurred = instants_text(np.array([row[0] for row in rows], dtype=np.int64))
    insert_rows(
        OrderStatusChange._meta.db_table,
        ("order_id", "from_status", "to_status", "occurred_at", "recorded_at", "source"),
        [
            (row[1], row[2], row[3], at, recorded, SIMULATOR_SOURCE)
            for row, at in zip(rows, occurred, strict=True)
        ],
    )
