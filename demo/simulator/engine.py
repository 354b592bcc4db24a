"""Seeding the demo marketplace and trading it forward one day at a time.

Both paths write from the same pure timelines (trading.day_generate): seeding writes every
order of the history in its state at the end of the last day; trading day X inserts the orders
placed on X, moves on the orders of the previous LIFECYCLE_DAYS whose next steps fall on X (one
compare-and-set UPDATE per order, with an audit row per step), and writes X's refunds, ratings,
complaints and settlements. Seeding D days and then trading one more therefore leaves the same
orders as seeding D + 1 days.
"""

import datetime as dt
import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from common.locks import transaction_lock
from demo.models import SimulatorState
from demo.simulator import extras, onboarding
from demo.simulator.calendar import day_start, day_starts
from demo.simulator.market import Market, market_load
from demo.simulator.population import population_draw
from demo.simulator.rows import (
    EVENT_COLUMNS,
    STATUS_TEXT,
    SettledOrders,
    SideRows,
    order_external_ids,
    order_rows,
    orders_write,
    settlements_write,
    status_change_rows,
    status_changes_write,
    visible_events,
)
from demo.simulator.trading import LIFECYCLE_DAYS, DayOrders, day_generate, status_codes
from demo.simulator.writer import (
    IdAllocator,
    execute_many,
    instants_text,
    quote,
    sqlite_bulk_cache,
)
from merchants.models import Order
from merchants.signals import marketplace_day_traded, marketplace_seeded

# Orders buffered before each bulk insert while seeding: big batches, flat memory.
SEED_CHUNK_ORDERS = 150_000


@dataclass
class SeedReport:
    started_on: dt.date
    ended_on: dt.date
    merchants: int
    orders: int = 0
    rows: Counter = field(default_factory=Counter)
    raw_keys: dict[str, str] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    # Of which spent by other apps reacting to marketplace_seeded (crediting wallets, ...).
    listener_seconds: float = 0.0


@dataclass
class DayReport:
    on: dt.date
    orders_created: int = 0
    orders_advanced: int = 0
    orders_skipped: int = 0
    rows: Counter = field(default_factory=Counter)


def marketplace_seed(
    *, merchants: int, days: int, seed: int, ended_on: dt.date, reset: bool = False
) -> SeedReport:
    """Build the demo marketplace: `days` of trading ending on `ended_on`, after which the
    business date is the next day. Refused when demo data exists, unless `reset`."""
    if merchants < 1 or days < 1:
        raise ApplicationError("merchants and days must be at least 1")
    clock = time.monotonic()
    started_on = ended_on - dt.timedelta(days=days - 1)
    report = SeedReport(started_on=started_on, ended_on=ended_on, merchants=merchants)
    # One transaction: a seed that fails half-way leaves nothing behind, and on SQLite nobody
    # else can insert orders while ids are being handed out.
    with sqlite_bulk_cache(), transaction.atomic():
        # Two seeds at once: the second waits for the first, then finds its data (or, with
        # `reset`, replaces it) instead of failing on the partners' unique codes.
        transaction_lock("demo.marketplace_seed")
        if reset:
            onboarding.marketplace_reset()
        elif onboarding.marketplace_has_data():
            raise ApplicationError(
                "the demo marketplace already has data; pass --reset to delete it and seed again"
            )
        partners = onboarding.partners_create()
        report.raw_keys = partners.raw_keys
        population = population_draw(seed=seed, merchants=merchants, started_on=started_on, ended_on=ended_on)
        onboarding.population_write(population, partners)
        SimulatorState.objects.create(
            id=1,
            seed=seed,
            started_on=started_on,
            last_simulated_on=ended_on,
            partner_api_keys=report.raw_keys,
        )
        market = market_load()
        extras.b2b_records_write(market, ended_on)
        extras.questionnaires_write(market, ended_on)
        report.logins = onboarding.demo_users_create(market)
        _history_write(market, started_on, ended_on, report)
        business_date_set(on=ended_on + dt.timedelta(days=1), allow_backwards=True)
        # Listeners (wallets, ...) act inside the same transaction: all or nothing.
        listening = time.monotonic()
        marketplace_seeded.send(sender=SimulatorState, first_on=started_on, last_on=ended_on)
        report.listener_seconds = time.monotonic() - listening
    report.seconds = time.monotonic() - clock
    return report


def _history_write(market: Market, started_on: dt.date, ended_on: dt.date, report: SeedReport) -> None:
    before = day_start(ended_on + dt.timedelta(days=1))
    day_count = (ended_on - started_on).days + 1
    starts = day_starts(started_on, day_count + 1)
    ids = IdAllocator(Order._meta.db_table)
    settled = SettledOrders()
    pending_orders: list[tuple] = []
    side = SideRows()

    def flush() -> None:
        orders_write(pending_orders)
        report.rows["order"] += len(pending_orders)
        report.rows["refund"] += len(side.refunds)
        report.rows["rating"] += len(side.ratings)
        report.rows["complaint"] += len(side.complaints)
        side.write()
        pending_orders.clear()

    for offset in range(day_count):
        day = day_generate(market, started_on + dt.timedelta(days=offset))
        order_ids = ids.take(len(day))
        pending_orders.extend(order_rows(market, day, order_ids, before))
        side.add(market, day, order_ids, 0, before)
        settled.add(day, 0, before, starts, started_on.toordinal())
        if len(pending_orders) >= SEED_CHUNK_ORDERS:
            flush()
    flush()
    rows = settled.rows(market)
    settlements_write(rows)
    report.rows["settlement"] += len(rows)
    report.orders = report.rows["order"]


def marketplace_trade_day(*, on: dt.date, market: Market | None = None) -> DayReport | None:
    """Trade the day after the last simulated one and make it the business date (never moving
    the business date back). A day already traded is left alone: None. Days go in order."""
    with transaction.atomic():
        state = SimulatorState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            raise ApplicationError("no demo marketplace yet: run `manage.py seed_demo` first")
        if on <= state.last_simulated_on:
            return None
        expected = state.last_simulated_on + dt.timedelta(days=1)
        if on != expected:
            raise ApplicationError(
                f"days are traded in order: the next day to trade is {expected}, not {on}",
                {"fields": {"on": [f"expected {expected}"]}},
            )
        report = _day_write(market or market_load(), on)
        state.last_simulated_on = on
        state.save(update_fields=["last_simulated_on"])
        if on >= business_date_today():
            business_date_set(on=on)
        marketplace_day_traded.send(sender=SimulatorState, on=on)
    return report


def marketplace_trade_through(*, through: dt.date) -> list[DayReport]:
    """Trade every day not yet traded up to and including `through`, one transaction a day."""
    state = SimulatorState.objects.filter(pk=1).first()
    if state is None:
        raise ApplicationError("no demo marketplace yet: run `manage.py seed_demo` first")
    market = market_load()
    reports = []
    on = state.last_simulated_on + dt.timedelta(days=1)
    while on <= through:
        report = marketplace_trade_day(on=on, market=market)
        if report is not None:
            reports.append(report)
        on += dt.timedelta(days=1)
    return reports


def _existing_orders(market: Market, days: list[DayOrders], wanted: list[np.ndarray]) -> list[tuple]:
    """Database id and status of the given orders of earlier days (id -1 where a row is missing)."""
    by_partner: dict[int, list[str]] = {}
    keys = []
    for day, sel in zip(days, wanted, strict=True):
        external = order_external_ids(market, day, sel)
        partners = market.partner_pk[day.merchant[sel]].tolist()
        keys.append(list(zip(partners, external, strict=True)))
        for partner, ext in keys[-1]:
            by_partner.setdefault(partner, []).append(ext)
    found: dict[tuple[int, str], tuple[int, str]] = {}
    table = quote(Order._meta.db_table)
    with connection.cursor() as cursor:  # plain SQL: building the ORM's 900-value IN costs more
        for partner, externals in by_partner.items():
            for start in range(0, len(externals), 900):
                batch = externals[start : start + 900]
                cursor.execute(
                    f"SELECT external_id, id, status FROM {table} "  # noqa: S608
                    f"WHERE partner_id = %s AND external_id IN ({', '.join(['%s'] * len(batch))})",
                    [partner, *batch],
                )
                for ext, pk, status in cursor.fetchall():
                    found[(partner, ext)] = (pk, status)
    result = []
    for day_keys in keys:
        matches = [found.get(key, (-1, "")) for key in day_keys]
        result.append(
            (
                np.array([pk for pk, _ in matches], dtype=np.int64),
                np.array([status for _, status in matches], dtype=object),
            )
        )
    return result


# Each traded date regenerates the LIFECYCLE_DAYS days before it (their orders move on): the same
# pure timelines (day_generate) every time while the merchants' profiles stay the same, so the
# latest few are kept, by the profiles' fingerprint and day, read-only.
_GENERATED: dict[tuple, DayOrders] = {}


def _fingerprint(market: Market) -> str:
    digest = hashlib.sha256()
    for name, value in sorted(vars(market).items()):
        digest.update(name.encode())
        if isinstance(value, np.ndarray) and value.dtype != object:
            digest.update(f"{value.dtype}{value.shape}".encode() + value.tobytes())
        else:
            digest.update(repr(value.tolist() if isinstance(value, np.ndarray) else value).encode())
    return digest.hexdigest()


def _day_generated(market: Market, fingerprint: str, on: dt.date) -> DayOrders:
    day = _GENERATED.get((fingerprint, on))
    if day is None:
        day = day_generate(market, on)
        for value in vars(day).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        _GENERATED[(fingerprint, on)] = day
        while len(_GENERATED) > 2 * LIFECYCLE_DAYS:
            del _GENERATED[next(iter(_GENERATED))]
    return day


def _day_write(market: Market, on: dt.date) -> DayReport:
    report = DayReport(on=on)
    fingerprint = _fingerprint(market)
    lo, hi = day_start(on), day_start(on + dt.timedelta(days=1))
    first = max(market.started_on, on - dt.timedelta(days=LIFECYCLE_DAYS - 1))
    earlier = []
    moving = []
    d = first
    while d < on:
        day = _day_generated(market, fingerprint, d)
        touched = ((day.events >= lo) & (day.events < hi)).any(axis=1)
        touched |= (day.rated >= lo) & (day.rated < hi)
        touched |= (day.complained >= lo) & (day.complained < hi)
        earlier.append(day)
        moving.append(np.flatnonzero(touched))
        d += dt.timedelta(days=1)
    known = _existing_orders(market, earlier, moving)

    side = SideRows()
    settled = SettledOrders()
    changes: list[tuple] = []
    updates: list[tuple] = []
    for day, sel, (pks, stored) in zip(earlier, moving, known, strict=True):
        # Only orders still as the simulator left them move on; one a partner changed through
        # the API (or that is missing) is left alone, with no audit or side rows of ours.
        was = status_codes(day.events[sel], lo)
        as_left = (pks >= 0) & (stored == STATUS_TEXT[was])
        report.orders_skipped += int((~as_left).sum())
        sel, pks, was = sel[as_left], pks[as_left], was[as_left]
        events = day.events[sel]
        now = status_codes(events, hi)
        seen = visible_events(events, hi)
        columns = [instants_text(seen[:, j]) for j in range(seen.shape[1])]
        stamp = instants_text(np.maximum(day.placed[sel], seen.max(axis=1)))
        for k in np.flatnonzero(now != was).tolist():
            updates.append(
                (
                    STATUS_TEXT[now[k]],
                    *(column[k] for column in columns),
                    stamp[k],
                    int(pks[k]),
                    STATUS_TEXT[was[k]],
                )
            )
        changes.extend(status_change_rows(_subset(day, sel), pks, lo, hi))
        side.add(market, _subset(day, sel), pks, lo, hi)
        settled.add(_subset(day, sel), lo, hi, np.array([lo, hi]), on.toordinal())

    today = _day_generated(market, fingerprint, on)
    new_ids = IdAllocator(Order._meta.db_table).take(len(today))
    rows = order_rows(market, today, new_ids, hi)
    orders_write(rows)
    report.orders_created = len(rows)
    side.add(market, today, new_ids, lo, hi)
    settled.add(today, lo, hi, np.array([lo, hi]), on.toordinal())

    assignments = ", ".join(f"{quote(c)} = %s" for c in ("status", *EVENT_COLUMNS, "updated_at"))
    report.orders_advanced = execute_many(
        f"UPDATE {quote(Order._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote('id')} = %s AND {quote('status')} = %s",
        updates,
    )
    report.orders_skipped += len(updates) - report.orders_advanced
    status_changes_write(changes, hi - 1)
    report.rows.update(
        order=len(rows),
        refund=len(side.refunds),
        rating=len(side.ratings),
        complaint=len(side.complaints),
        order_status_change=len(changes),
    )
    side.write()
    settlement_rows = settled.rows(market)
    settlements_write(settlement_rows)
    report.rows["settlement"] = len(settlement_rows)
    return report


def _subset(day: DayOrders, sel: np.ndarray) -> DayOrders:
    """The day's orders restricted to `sel`, in the same order."""
    return DayOrders(
        on=day.on,
        **{name: getattr(day, name)[sel] for name in DayOrders.__dataclass_fields__ if name != "on"},
    )
