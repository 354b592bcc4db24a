"""Risk control's stages of the credit pipeline (settings.CREDIT_PIPELINE): identity, blacklist,
velocity, anti-fraud and policy before the rating, group exposure after it. Each reads its facts
from the database, with the thresholds of the active rule set, and decides by the pure rules of
riskcontrol/rules.py; its verdict carries the rule set's version ("rules-<n>"), so a decision
replays from its facts and a later change of thresholds leaves it alone."""

import datetime as dt
from functools import cache

from django.db import connection
from django.db.models import DurationField, Q
from django.utils import timezone
from django.utils.translation import gettext_noop, pgettext_lazy

from common.crypto import blind_index
from common.money import format_yuan
from common.sql import fixed_instances, fixed_rows, instance_of
from lending.models import Application, CreditLine
from lending.pipeline import DECLINE, MACHINE, PASS, REFER, Reason, Run, Verdict, run_of
from merchants.models import Merchant, MerchantDevice, OrderStatus, Owner
from riskcontrol import rules
from riskcontrol.models import BlacklistEntry, RuleSet
from riskcontrol.rulesets import DEFAULT_PARAMS, ruleset_active, since

FRAUD_QUEUE = "fraud_review"
ORDERS_NEED_A_CHECK = gettext_noop("Your orders need a check by our staff")


def _rules(names: tuple[str, ...], run: Run) -> dict:
    """The thresholds `names` of the active rule set, read once per pipeline run: the stages of
    one run decide by the same version."""
    active = run.shared("riskcontrol.ruleset", ruleset_active)
    params = {**DEFAULT_PARAMS, **active.params}
    return {"rules_version": active.version, "params": {name: params[name] for name in names}}


def _version(facts: dict) -> str:
    return f"rules-{facts['rules_version']}"


def _verdict(outcome: str, reasons: list[Reason], facts: dict, detail: dict | None = None, **kw) -> Verdict:
    return Verdict(outcome, tuple(reasons), {}, detail or {}, version=_version(facts), **kw)


def _related_where(owner: Owner) -> tuple[str, list]:
    """The condition on `merchants_owner o` of the owners `_related` reads, and its values."""
    match, values = ["o.id = %s", "o.national_id_index = %s"], [owner.pk, owner.national_id_index]
    for column in ("phone_index", "bank_card_index", "address_index"):
        if getattr(owner, column):
            match.append(f"o.{column} = %s")
            values.append(getattr(owner, column))
    return " OR ".join(match), values


# The related owners' columns, from `merchants_owner o`, its shops `m` and their lines `l`.
_RELATED_COLUMNS = (
    "o.id",
    "o.national_id_index",
    "o.phone_index",
    "o.bank_card_index",
    "o.address_index",
    "m.id",
    "l.id",
    "l.limit_fen",
    "l.status",
)
_RELATED_FROM = (
    "merchants_owner o LEFT OUTER JOIN merchants_merchant m ON m.owner_id = o.id"
    " LEFT OUTER JOIN lending_creditline l ON l.merchant_id = m.id"
)


def _related(owner: Owner, run: Run) -> list[tuple]:
    """The owners sharing any of this owner's national ID, phone, bank card or address (by their
    blind indexes), this owner included, each with its keys, its shops and their lines: one read
    per run, which anti-fraud's linked shops and the group's shops and lines are sorted out of."""

    def load() -> list[tuple]:
        # In SQL what the ORM said: Owner(pk, or any of the keys the owner has).values_list("pk",
        # the four keys, "merchants__pk", "merchants__credit_lines__" pk, limit_fen and status)
        # (outer joins: an owner without shops, a shop without lines, each a row).
        where, values = _related_where(owner)
        return fixed_rows(
            f"SELECT {', '.join(_RELATED_COLUMNS)} FROM {_RELATED_FROM} WHERE {where}",  # noqa: S608
            values,
            [None] * 9,
        )

    return run.shared("riskcontrol.owners", load)


_VERIFICATIONS_SQL = "SELECT kind, result FROM merchants_verification WHERE merchant_id = %s ORDER BY id ASC"


def _verifications(merchant_id: int) -> list[tuple]:
    # Verification(merchant).order_by("pk"): kind and result, in SQL.
    return fixed_rows(_VERIFICATIONS_SQL, [merchant_id], [None, None])


@cache  # one per shape of the owner's keys (`_related_where`): a few per process
def _first_reads_sql(where: str) -> str:
    """The statement of `_first_reads` (PostgreSQL): the active rule set's columns as
    `ruleset_active` reads them (NULL when there is none), then the shop's verifications as two
    arrays (kinds and results, by id) and the related owners' rows as one array per column of
    `_related` (one aggregate over the same rows, so the arrays line up)."""
    columns = ", ".join(f"rs.{field.column}" for field in RuleSet._meta.concrete_fields)
    related = ", ".join(f"array_agg({column})" for column in _RELATED_COLUMNS)
    return f"""
        SELECT {columns}, v.kinds, v.results, r.*
        FROM (SELECT array_agg(kind ORDER BY id) AS kinds, array_agg(result ORDER BY id) AS results
            FROM merchants_verification WHERE merchant_id = %s) v
        CROSS JOIN (SELECT {related} FROM {_RELATED_FROM} WHERE {where}) r
        LEFT JOIN (SELECT * FROM riskcontrol_ruleset WHERE status = %s ORDER BY version DESC LIMIT 1) rs
            ON TRUE
    """  # noqa: S608 - table and column names from this module and the models, values bound


_FIRST_READS = "riskcontrol.first_reads"


def _first_reads_wanted(run: Run) -> bool:
    """Whether `_first_reads` reads in one statement (PostgreSQL, the rule set and the related
    owners not read yet in this run)."""
    return (
        connection.vendor == "postgresql"
        and not run.holds("riskcontrol.ruleset")
        and not run.holds("riskcontrol.owners")
    )


def _first_reads_statement(application: Application) -> tuple[str, list]:
    merchant = application.merchant
    where, values = _related_where(merchant.owner)
    return _first_reads_sql(where), [merchant.pk, *values, RuleSet.Status.ACTIVE]


def _first_reads_decoded(values: tuple) -> tuple:
    """`_first_reads_sql`'s row (its columns as the driver gave them) as `fixed_instances` gives
    it: the rule set (None for none), then the other columns."""
    width = len(RuleSet._meta.concrete_fields)
    return (instance_of(RuleSet, values[:width]), *values[width:])


def _first_reads_ahead(application: Application, run: Run) -> None:
    """`_first_reads`' statement, made ahead with an earlier stage's read (the books' read of
    eligibility, the pipeline's first): one round trip fewer (lending.pipeline.Run.ahead)."""
    if _first_reads_wanted(run):
        sql, values = _first_reads_statement(application)
        width = len(RuleSet._meta.concrete_fields) + 2 + len(_RELATED_COLUMNS)
        run.ahead(_FIRST_READS, sql, values, width, _first_reads_decoded)


def _first_reads(application: Application, run: Run) -> list[tuple]:
    """The shop's verifications; on PostgreSQL read in one statement with the two reads every
    later risk stage shares, the active rule set and the related owners (`_first_reads_sql`),
    which the run keeps: three round trips in one (none when the run read it ahead:
    `_first_reads_ahead`). The values are those of the reads made one by one (`_verifications`,
    `ruleset_active`, `_related`)."""
    merchant = application.merchant
    if not _first_reads_wanted(run):
        return _verifications(merchant.pk)
    if run.holds(_FIRST_READS):
        found, kinds, results, *related = run.shared(_FIRST_READS, None)
    else:
        sql, values = _first_reads_statement(application)
        found, kinds, results, *related = fixed_instances(sql, values, [RuleSet])[0]
    # No active rule set: ruleset_active writes the documented defaults as version 1.
    run.keep("riskcontrol.ruleset", found if found is not None else ruleset_active())
    run.keep("riskcontrol.owners", list(zip(*related, strict=True)) if related[0] is not None else [])
    return list(zip(kinds, results, strict=True)) if kinds is not None else []


def _is_linked(owner: Owner, row: tuple, *, with_address: bool) -> bool:
    pk, national_id_index, phone_index, bank_card_index, address_index = row[:5]
    return (
        pk == owner.pk
        or national_id_index == owner.national_id_index
        or (owner.phone_index and phone_index == owner.phone_index)
        or (owner.bank_card_index and bank_card_index == owner.bank_card_index)
        or (with_address and owner.address_index and address_index == owner.address_index)
    )


def _linked_owner_ids(owner: Owner, *, with_address: bool, run: Run) -> list[int]:
    """Owners sharing this owner's national ID, phone or bank card (and address, when asked),
    this owner included."""
    linked = {}
    for row in _related(owner, run):
        if _is_linked(owner, row, with_address=with_address):
            linked[row[0]] = True
    return list(linked)


def _group_shops_and_lines(owner: Owner, run: Run) -> tuple[set[int], dict[int, int]]:
    """The shops of the owners linked by national ID, phone or bank card, and their lines' limits
    by line (closed lines hold no limit)."""
    shops, lines = set(), {}
    for row in _related(owner, run):
        shop_id, line_id, limit_fen, status = row[5:]
        if shop_id is None or not _is_linked(owner, row, with_address=False):
            continue
        shops.add(shop_id)
        if line_id is not None and status != CreditLine.Status.CLOSED:
            lines[line_id] = limit_fen
    return shops, lines


def _blacklist_keys(owner: Owner) -> dict[str, str]:
    return {
        "national_id": owner.national_id_index,
        "phone": blind_index(owner.phone) if owner.phone else "",
        "bank_card": owner.bank_card_index,
    }


def _run_blacklist_keys(owner: Owner, run: Run) -> dict[str, str]:
    """`_blacklist_keys(owner)` worked out once per run (the phone's blind index is a keyed hash;
    blacklist and the checks' statement both need them), each caller given its own copy."""
    return dict(run.shared("riskcontrol.blacklist_keys", lambda: _blacklist_keys(owner)))


def _blacklist_rows(merchant: Merchant, keys: dict[str, str]):
    """Active entries on the owner's keys, and device entries on the devices the shop was seen
    on (sent by its platform), in the same query."""
    devices = MerchantDevice.objects.filter(merchant=merchant).values("device_index")
    return BlacklistEntry.objects.filter(is_active=True).filter(
        Q(value_index__in=[v for v in keys.values() if v])
        | Q(kind=BlacklistEntry.Kind.DEVICE, value_index__in=devices)
    )


def _checks_sql(*, placed_on: str, keys: int, phone: bool, bank_card: bool, this_one: bool) -> str:
    """The statement of `_checks` for a given shape of the owner's keys. It says in SQL what these
    ORM reads said (tests/riskcontrol/test_stage_reads.py runs both on one world):
    - blacklist: BlacklistEntry(is_active, value_index in the owner's keys, or kind device and
      value_index among the shop's devices) exists;
    - velocity: Application(submitted_on in the window, not this one) per key: by the owner's
      national ID, phone and bank card (through its merchant's owner), and by the shops seen on
      a device this shop was seen on;
    - policy: Order(merchant, placed_at's date ≤ on, not cancelled) exists, and the distinct
      dates of placed_at within the policy's window;
    - ring flag: riskcontrol.network.selectors.merchant_ring_flag's flag: its detector and date.
    `placed_on` is the database's expression for the date of s.placed_at (Django's own)."""
    not_this = "AND a.id <> %s" if this_one else ""
    window = f"a.submitted_on >= %s AND a.submitted_on <= %s {not_this}"
    # The owner's three counts in one pass over the window's applications of the owner's keys.
    owner_keys = [
        "national_id_index",
        *(["phone_index"] if phone else []),
        *(["bank_card_index"] if bank_card else []),
    ]
    by_owner = {column: f"COUNT(CASE WHEN o.{column} = %s THEN 1 END)" for column in owner_keys}
    devices = "SELECT d.device_index FROM merchants_merchantdevice d WHERE d.merchant_id = %s"
    return f"""
        SELECT
            EXISTS(SELECT 1 FROM riskcontrol_blacklistentry b WHERE b.is_active AND (
                b.value_index IN ({", ".join(["%s"] * keys) or "NULL"})
                OR (b.kind = %s AND b.value_index IN ({devices})))),
            owners.by_national_id, owners.by_phone, owners.by_bank_card,
            (SELECT COUNT(*) FROM lending_application a WHERE {window} AND a.merchant_id IN (
                SELECT e.merchant_id FROM merchants_merchantdevice e WHERE e.device_index IN ({devices}))),
            EXISTS(SELECT 1 FROM merchants_order s
                WHERE s.merchant_id = %s AND {placed_on} <= %s AND s.status <> %s),
            (SELECT COUNT(DISTINCT {placed_on}) FROM merchants_order s
                WHERE s.merchant_id = %s AND {placed_on} <= %s AND {placed_on} >= %s AND s.status <> %s),
            ring.detector, ring.business_on
        FROM (
            SELECT {by_owner["national_id_index"]} AS by_national_id,
                {by_owner.get("phone_index", "NULL")} AS by_phone,
                {by_owner.get("bank_card_index", "NULL")} AS by_bank_card
            FROM lending_application a JOIN merchants_merchant m ON m.id = a.merchant_id
            JOIN merchants_owner o ON o.id = m.owner_id
            WHERE {window} AND ({" OR ".join(f"o.{column} = %s" for column in owner_keys)})
        ) owners
        LEFT JOIN (
            SELECT r.detector, r.business_on FROM riskcontrol_ringflag f
            JOIN riskcontrol_networkrun r ON r.id = f.run_id
            WHERE f.merchant_id = %s AND f.run_id = (SELECT n.id FROM riskcontrol_networkrun n
                WHERE n.detector = r.detector AND n.finished_at IS NOT NULL
                ORDER BY n.business_on DESC, n.id DESC LIMIT 1)
            ORDER BY f.score DESC, f.run_id ASC LIMIT 1
        ) ring ON 1 = 1
    """  # noqa: S608 - table and column names from this module, values bound


def _checks(application: Application, on: dt.date, run: Run) -> dict:
    """What blacklist, velocity, policy and the network's ring flag read, in one statement per
    run (each a column of it; `_checks_sql`): whether any blacklist entry is on the owner's keys
    or the shop's devices, the applications in the velocity window per key, whether the shop has
    sold at all and on how many days of the policy's window, and the ring flag's detector and
    date. The blacklist's entries themselves are read only when there is one. Written in SQL:
    built by the ORM, this one statement cost more of a decision's time than its round trip."""

    def load() -> dict:
        active = run.shared("riskcontrol.ruleset", ruleset_active)
        params = {**DEFAULT_PARAMS, **active.params}
        merchant, owner = application.merchant, application.merchant.owner
        ops = connection.ops
        placed_on, tz = ops.datetime_cast_date_sql("s.placed_at", (), timezone.get_current_timezone_name())
        tz = list(tz)  # the time zone's parameters, taken by each use of the date expression
        day = ops.adapt_datefield_value
        keys = [value for value in _run_blacklist_keys(owner, run).values() if value]
        this_one = bool(application.pk)
        to = day(on)
        window = [day(since(on, params["velocity_window_days"])), to, *([application.pk] if this_one else [])]
        owner_keys = [
            owner.national_id_index,
            *([owner.phone_index] if owner.phone_index else []),
            *([owner.bank_card_index] if owner.bank_card_index else []),
        ]
        values = [*keys, BlacklistEntry.Kind.DEVICE, merchant.pk]
        values += [*window, merchant.pk]
        values += [merchant.pk, *tz, to, OrderStatus.CANCELLED]
        policy_from = day(since(on, params["policy_sales_window_days"]))
        values += [*tz, merchant.pk, *tz, to, *tz, policy_from, OrderStatus.CANCELLED]
        values += [*owner_keys, *window, *owner_keys]
        values += [merchant.pk]
        sql = _checks_sql(
            placed_on=placed_on,
            keys=len(keys),
            phone=bool(owner.phone_index),
            bank_card=bool(owner.bank_card_index),
            this_one=this_one,
        )
        # Anti-fraud's counts (`_brushing`) in the same statement: its one-row result joined to
        # the checks' one row. Its linked owners come from the run's related owners' read.
        linked = _linked_owner_ids(owner, with_address=True, run=run)
        brushing_sql, brushing_values = _brushing_statement(merchant.pk, linked, params, on)
        sql = f"SELECT * FROM ({sql}) c CROSS JOIN ({brushing_sql}) b"  # noqa: S608 - this module's
        # And the reads later stages make ahead of them (the rating: lending.pipeline.Run.ahead).
        sql, values, take = run.with_ahead(sql, [*values, *brushing_values])
        # A prepared statement of the connection (common.sql): its plan took the server several
        # times as long as its run, every decision.
        (row,) = fixed_rows(sql, values, ())
        row = take(row)
        blacklisted, by_id, by_phone, by_card, by_device, has_sold, days, detector, ring_on = row[:9]
        run.keep("riskcontrol.brushing", dict(zip(_BRUSHING_NAMES, row[9:], strict=True)))
        return {
            "blacklisted": bool(blacklisted),
            "velocity": {
                "national_id": by_id or 0,
                "phone": by_phone or 0,
                "bank_card": by_card or 0,
                "device": by_device or 0,
            },
            "days_with_sales": (days or 0) if has_sold else None,
            "ring_flag": None
            if detector is None
            else {"detector": detector, "business_on": str(ring_on)[:10]},
        }

    return run.shared("riskcontrol.checks", load)


def _brushing_sql(*, placed_on: str, owners: int, refund_until: str) -> str:
    """The statement of `_brushing`. It says in SQL what this ORM aggregate said
    (tests/riskcontrol/test_stage_reads.py runs both on one world), with `orders` the shop's
    orders placed (by date) in the window and not cancelled:
        orders.aggregate(
            orders=Count("pk"),
            linked=Count("pk", filter=Q(buyer_merchant__in=Merchant(owner_id in the linked
                owners, not this shop))),
            repeat=Count("pk", filter=Q(buyer_ref__in=orders' buyer_ref with 2 or more)),
            completed=Count("pk", filter=Q(status__in=(delivered, settled))),
            unshipped=Count("pk", filter=Q(status__in=(delivered, settled), shipped_at=None)),
            settled=Count("pk", filter=Q(settled_at__isnull=False)),
            quick=Count("pk", filter=Q(Exists(Refund(order, refunded_at between settled_at and
                settled_at + antifraud_refund_hours)), settled_at__isnull=False)),
        )
    `placed_on` is the database's expression for the date of placed_at, `refund_until` its
    expression for settled_at plus an interval (Django's own for each)."""
    in_window = "{t}.merchant_id = %s AND {on} >= %s AND {on} <= %s AND {t}.status <> %s"
    mine = in_window.format(t="s", on=placed_on.format(t="s"))
    again = in_window.format(t="r", on=placed_on.format(t="r"))
    return f"""
        SELECT
            COUNT(s.id),
            COUNT(CASE WHEN s.buyer_merchant_id IN (SELECT m.id FROM merchants_merchant m
                WHERE m.owner_id IN ({", ".join(["%s"] * owners) or "NULL"}) AND m.id <> %s)
                THEN s.id END),
            COUNT(CASE WHEN s.buyer_ref IN (SELECT r.buyer_ref FROM merchants_order r
                WHERE {again} GROUP BY r.buyer_ref HAVING COUNT(r.id) >= 2) THEN s.id END),
            COUNT(CASE WHEN s.status IN (%s, %s) THEN s.id END),
            COUNT(CASE WHEN s.status IN (%s, %s) AND s.shipped_at IS NULL THEN s.id END),
            COUNT(CASE WHEN s.settled_at IS NOT NULL THEN s.id END),
            COUNT(CASE WHEN s.settled_at IS NOT NULL AND EXISTS(SELECT 1 FROM merchants_refund f
                WHERE f.order_id = s.id AND f.refunded_at >= s.settled_at
                AND f.refunded_at <= {refund_until}) THEN s.id END)
        FROM merchants_order s WHERE {mine}
    """  # noqa: S608 - table and column names from this module, values bound


def _brushing_statement(
    merchant_id: int, linked_owners: list[int], params: dict, on: dt.date
) -> tuple[str, list]:
    """`_brushing`'s statement and its values."""
    ops = connection.ops
    placed_on, tz = ops.datetime_cast_date_sql("{t}.placed_at", (), timezone.get_current_timezone_name())
    tz = list(tz)
    refund_until = f"({ops.combine_duration_expression('+', ['s.settled_at', '%s'])})"
    hours = _DURATION.get_db_prep_value(dt.timedelta(hours=params["antifraud_refund_hours"]), connection)
    day = ops.adapt_datefield_value
    window = [*tz, day(since(on, params["antifraud_window_days"])), *tz, day(on), OrderStatus.CANCELLED]
    completed = [OrderStatus.DELIVERED, OrderStatus.SETTLED]
    values = [*linked_owners, merchant_id, merchant_id, *window, *completed, *completed, hours]
    values += [merchant_id, *window]
    sql = _brushing_sql(placed_on=placed_on, owners=len(linked_owners), refund_until=refund_until)
    return sql, values


# The refund window's interval as a DurationField gives it to the database (made once, not a
# field instance per decision).
_DURATION = DurationField()

_BRUSHING_NAMES = ("orders", "linked", "repeat", "completed", "unshipped", "settled", "quick")


def _brushing(merchant_id: int, linked_owners: list[int], params: dict, on: dt.date) -> dict:
    """Anti-fraud's counts over the shop's orders placed in the window and not cancelled: all,
    bought by a shop of a linked owner (not this one), by a buyer who bought twice or more in
    the window, completed, completed but never shipped, settled, and settled and refunded within
    `antifraud_refund_hours` of settling (once however many refunds). One statement
    (`_brushing_sql`); written in SQL, as the ORM spent more time building it than the
    database answering it. In a pipeline run it is read with `_checks`' statement."""
    sql, values = _brushing_statement(merchant_id, linked_owners, params, on)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return dict(zip(_BRUSHING_NAMES, row, strict=True))


# A reason is stored as its English msgid and parameters (lending.pipeline.Reason): each page
# renders it in its reader's language (common.texts.stored_text), whatever was active when the
# stage decided.
_IDENTITY_WORDS = {
    "owner_name_missing": gettext_noop("The owner's name is missing"),
    "owner_national_id_missing": gettext_noop("The owner's national ID is missing or not valid"),
    "owner_phone_missing": gettext_noop("The owner's phone number is missing or not valid"),
    "owner_bank_card_missing": gettext_noop("No payout bank card is registered"),
}
# A third party's check of a document: (did not match, not verified yet), by kind.
_VERIFICATION_WORDS = {
    "business_licence": (
        gettext_noop("The business licence did not match the registry"),
        gettext_noop("The business licence is not verified yet"),
    ),
    "tax": (
        gettext_noop("The tax records did not match the registry"),
        gettext_noop("The tax records are not verified yet"),
    ),
    "customs": (
        gettext_noop("The customs records did not match the registry"),
        gettext_noop("The customs records are not verified yet"),
    ),
}


class Identity:
    """Who is behind the shop is known (owner's name, a valid national ID and phone, a payout
    card) and the third parties' checks of its documents hold up."""

    version = "identity"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Identity")
    PARAMS = ("identity_required_kinds_b2c", "identity_required_kinds_b2b", "identity_decline_on_failed")

    def ahead(self, application: Application, *, on: dt.date, run: Run) -> None:
        """This stage's reads, made ahead with an earlier stage's (`_first_reads_ahead`)."""
        _first_reads_ahead(application, run)

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        run = run_of(application, on, run)
        merchant = application.merchant
        owner = merchant.owner
        verifications = _first_reads(application, run)
        return {
            **_rules(self.PARAMS, run),
            "segment": merchant.partner.kind,
            # Whether each field is there and well-formed; never the values themselves.
            "owner": {
                "name": bool((owner.name or "").strip()),
                "national_id": bool(owner.national_id_index)
                and rules.national_id_valid(owner.national_id or ""),
                "phone": rules.phone_valid(owner.phone),
                "bank_card": bool(owner.bank_card_index),
            },
            "verifications": [{"kind": kind, "result": result} for kind, result in verifications],
        }

    def decide(self, facts: dict) -> Verdict:
        params = facts["params"]
        finding = rules.identity(
            owner=facts["owner"],
            verifications=facts["verifications"],
            required_kinds=params[f"identity_required_kinds_{facts['segment']}"],
            decline_on_failed=params["identity_decline_on_failed"],
        )
        if finding.outcome == PASS:
            return _verdict(PASS, [], facts)
        reasons = []
        for code in finding.codes:
            if code in _IDENTITY_WORDS:
                reasons.append(Reason(code, _IDENTITY_WORDS[code]))
            else:
                kind, _sep, problem = code.rpartition("_")
                failed, unverified = _VERIFICATION_WORDS.get(kind, (kind, kind))
                reasons.append(Reason(code, failed if problem == "failed" else unverified))
        return _verdict(DECLINE, reasons, facts)


class Blacklist:
    """The owner's national ID, phone and payout card, and the devices the shop was seen on,
    against the blacklist (by blind index)."""

    version = "blacklist"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Blacklist")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        run = run_of(application, on, run)
        keys = _run_blacklist_keys(application.merchant.owner, run)
        rows = []
        if _checks(application, on, run)["blacklisted"]:
            rows = list(
                _blacklist_rows(application.merchant, keys)
                .order_by("pk")
                .values_list("pk", "kind", "value_index")
            )
        keys["device"] = next((value for _, kind, value in rows if kind == BlacklistEntry.Kind.DEVICE), "")
        hits = rules.blacklist_hits(keys, [(kind, value) for _, kind, value in rows])
        return {
            **_rules((), run),
            "hits": hits,
            "entry_ids": sorted(pk for pk, kind, value in rows if kind in hits and keys.get(kind) == value),
        }

    def decide(self, facts: dict) -> Verdict:
        if not facts["hits"]:
            return _verdict(PASS, [], facts)
        return _verdict(
            DECLINE,
            [Reason("blacklisted", gettext_noop("Your details did not pass our risk checks"))],
            facts,
            reapply_after_days=365,
        )


class Velocity:
    """How many applications arrived in the window behind the same national ID, phone or bank
    card, or from shops seen on a device this shop was seen on (devices partners send), across
    every shop: a burst is how rings and stolen identities apply."""

    version = "velocity"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Velocity")
    PARAMS = (
        "velocity_window_days",
        "velocity_max_national_id",
        "velocity_max_phone",
        "velocity_max_bank_card",
        "velocity_max_device",
    )

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        run = run_of(application, on, run)
        facts = _rules(self.PARAMS, run)
        facts["counts"] = dict(_checks(application, on, run)["velocity"])
        return facts

    def decide(self, facts: dict) -> Verdict:
        params = facts["params"]
        finding = rules.velocity(
            counts=facts["counts"], max_per_key={k: params[f"velocity_max_{k}"] for k in facts["counts"]}
        )
        if finding.outcome == PASS:
            return _verdict(PASS, [], facts)
        days = params["velocity_window_days"]
        return _verdict(
            DECLINE,
            [
                Reason(
                    "too_many_applications",
                    gettext_noop("Too many applications in the last %(days)s days: please apply again later"),
                    {"days": days},
                )
            ],
            facts,
            detail={"over": list(finding.codes)},
            reapply_after_days=days,
        )


class Antifraud:
    """Brushing (fake orders placed to inflate sales) signals in the shop's own orders: bought by
    shops linked to its owner, bought again and again by the same buyers, completed without
    shipping, refunded soon after settling. Strong evidence declines; moderate evidence refers the
    case to a fraud reviewer."""

    version = "antifraud"
    kind = MACHINE
    queue = FRAUD_QUEUE
    title = pgettext_lazy("pipeline stage", "Anti-fraud")
    PARAMS = tuple(name for name in DEFAULT_PARAMS if name.startswith(("antifraud_", "cluster_")))

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        run = run_of(application, on, run)
        facts = _rules(self.PARAMS, run)
        params = facts["params"]
        merchant = application.merchant
        linked_owners = _linked_owner_ids(merchant.owner, with_address=True, run=run)
        # Read with the checks' statement (`_checks`), with the same rule set's thresholds.
        counted = run.shared(
            "riskcontrol.brushing", lambda: _brushing(merchant.pk, linked_owners, params, on)
        )
        quick = counted["quick"]
        facts["signals"] = {
            "orders": counted["orders"],
            "linked_buyer_orders": counted["linked"],
            "repeat_buyer_orders": counted["repeat"],
            "completed_orders": counted["completed"],
            "completed_never_shipped": counted["unshipped"],
            "settled_orders": counted["settled"],
            "refunded_soon_after_settlement": quick,
        }
        facts["cluster"] = _cluster_facts(application, linked_owners, params, on, run)
        return facts

    def decide(self, facts: dict) -> Verdict:
        finding = rules.brushing(rules.OrderSignals(**facts["signals"]), facts["params"])
        cluster = facts.get("cluster")  # absent from decisions made before the cluster rule
        ring = (
            rules.application_cluster(
                new_shops_applying=cluster["new_shops_applying"],
                min_shops=int(facts["params"]["cluster_min_shops"]),
                ring_flagged=cluster["ring_flag"] is not None,
            )
            if cluster is not None
            else rules.Finding(PASS)
        )
        detail = {"finding": dict(finding.detail), "cluster": list(ring.codes)}
        if finding.outcome == PASS and ring.outcome == PASS:
            return _verdict(PASS, [], facts, detail=detail)
        if finding.outcome != DECLINE:
            found = []
            if finding.outcome == REFER:
                found.append(Reason("fraud_review", ORDERS_NEED_A_CHECK))
            if ring.outcome == REFER:
                found.append(
                    Reason(
                        "likely_ring",
                        gettext_noop("Your shop's links to other shops need a check by our staff"),
                    )
                )
            return _verdict(REFER, found, facts, detail=detail)
        return _verdict(
            DECLINE,
            [
                Reason(
                    "orders_not_genuine",
                    gettext_noop(
                        "Your shop's orders look arranged (for example bought by linked shops): "
                        "we cannot lend now"
                    ),
                )
            ],
            facts,
            detail=detail,
            reapply_after_days=180,
        )


def _cluster_facts(
    application: Application, linked_owners: list[int], params: dict, on: dt.date, run: Run
) -> dict:
    """Linked shops (identity or a shared device, this one included) that are new and applied in
    the window, and the network's latest flag on the shop (its detector and date only: the members
    stay out of a decision's facts, which the merchant's appeal may show)."""
    merchant = application.merchant
    new_since = on - dt.timedelta(days=int(params["cluster_new_shop_days"]))
    shops = 0
    # Only a new shop is judged a member of a new-shop cluster (an established one has a record):
    # for the others the query is not even built (building it cost more than the rest of the stage).
    if merchant.opened_on >= new_since:
        applied = Application.objects.filter(
            submitted_on__gte=since(on, params["cluster_window_days"]), submitted_on__lte=on
        )
        linked = Merchant.objects.filter(owner_id__in=linked_owners).exclude(pk=merchant.pk)
        devices = MerchantDevice.objects.filter(merchant=merchant).values("device_index")
        on_devices = MerchantDevice.objects.filter(device_index__in=devices).exclude(merchant=merchant)
        others = (
            applied.filter(
                Q(merchant__in=linked) | Q(merchant__in=on_devices.values("merchant_id")),
                merchant__opened_on__gte=new_since,
            )
            .exclude(merchant=merchant)
            .order_by()
            .values("merchant_id")
            .distinct()
            .count()
        )
        shops = others + 1
    return {"new_shops_applying": shops, "ring_flag": _checks(application, on, run)["ring_flag"]}


_POLICY_WORDS = {
    "shop_too_young": gettext_noop("The shop has been open less than %(days)s days"),
    "trading_too_short": gettext_noop("Fewer than %(days)s days with sales in the last %(window)s days"),
    "shop_restricted": gettext_noop("The shop is restricted: it cannot borrow now"),
    "shop_closed": gettext_noop("The shop is closed: it cannot borrow now"),
}
_SHOP_IS = gettext_noop("The shop is %(status)s: it cannot borrow now")


class Policy:
    """The lending policy: the shop is active (not restricted or closed), has been open long
    enough and has sold on enough days of the recent window."""

    version = "policy"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Policy")
    PARAMS = ("policy_min_shop_age_days", "policy_sales_window_days", "policy_min_days_with_sales")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        run = run_of(application, on, run)
        facts = _rules(self.PARAMS, run)
        merchant = application.merchant
        facts.update(
            {
                "status": merchant.status,
                "shop_age_days": (on - merchant.opened_on).days,
                "days_with_sales": _checks(application, on, run)["days_with_sales"],
            }
        )
        return facts

    def decide(self, facts: dict) -> Verdict:
        params = facts["params"]
        finding = rules.policy(
            status=facts["status"],
            shop_age_days=facts["shop_age_days"],
            days_with_sales=facts["days_with_sales"],
            min_shop_age_days=params["policy_min_shop_age_days"],
            min_days_with_sales=params["policy_min_days_with_sales"],
        )
        if finding.outcome == PASS:
            return _verdict(PASS, [], facts)
        values = {
            "shop_too_young": {"days": params["policy_min_shop_age_days"]},
            "trading_too_short": {
                "days": params["policy_min_days_with_sales"],
                "window": params["policy_sales_window_days"],
            },
        }
        reasons = []
        for code in finding.codes:
            if code in _POLICY_WORDS:
                reasons.append(Reason(code, _POLICY_WORDS[code], values.get(code, {})))
            else:  # a status this version has no sentence for: named as stored
                reasons.append(Reason(code, _SHOP_IS, {"status": facts["status"]}))
        return _verdict(DECLINE, reasons, facts)


class GroupExposure:
    """Related parties share one limit: shops whose owners share a national ID, phone or bank
    card hold, all together, no more open lines than the group limit."""

    version = "group"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Group exposure")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        run = run_of(application, on, run)
        facts = _rules(("group_limit_fen",), run)
        # The group's shops and their lines come with the related owners' read.
        shops, lines = _group_shops_and_lines(application.merchant.owner, run)
        facts.update(
            {
                "group_merchant_ids": sorted(shops),
                "group_limits_fen": [lines[pk] for pk in sorted(lines)],
                "requested_fen": application.amount_fen,
            }
        )
        return facts

    def decide(self, facts: dict) -> Verdict:
        finding = rules.group_exposure(
            group_limits_fen=facts["group_limits_fen"],
            requested_fen=facts["requested_fen"],
            group_limit_fen=facts["params"]["group_limit_fen"],
        )
        detail = dict(finding.detail)
        if finding.outcome == PASS:
            return _verdict(PASS, [], facts, detail=detail)
        limit = f"¥{format_yuan(facts['params']['group_limit_fen'])}"
        return _verdict(
            DECLINE,
            [
                Reason(
                    "group_limit",
                    gettext_noop("Together with related shops your credit would exceed %(limit)s"),
                    {"limit": limit},
                )
            ],
            facts,
            detail=detail,
            reapply_after_days=0,
        )


identity = Identity()
blacklist = Blacklist()
velocity = Velocity()
antifraud = Antifraud()
policy = Policy()
group_exposure = GroupExposure()
