"""Early-warning rules: pure functions over plain values (no database), so each is checked on
worked examples. A night's run gathers one `Facts` per merchant with exposure and asks these
functions which warnings hold, what score and level follow, and which actions the level calls for.

Thresholds live in one `Thresholds` value; `Thresholds.version` names the rule set, and every
warning, level and action stores it. Money is integer fen; shares and ratios are `Decimal`."""

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

RULES_NAME = "monitoring-1"

GREEN, YELLOW, ORANGE, RED = "green", "yellow", "orange", "red"
LEVELS = (GREEN, YELLOW, ORANGE, RED)

# Action kinds (RiskAction.Kind values)
WATCH = "watch"
CUT_UNUSED_LINE = "cut_unused_line"
FREEZE_LINE = "freeze_line"
DEMAND_REPAYMENT = "demand_repayment"
SEND_TO_COLLECTIONS = "send_to_collections"
RESTRICT_SHOP = "restrict_shop"


@dataclass(frozen=True)
class Thresholds:
    diversion_days: int = 7  # a withdrawal this soon after a drawdown counts as the loan's money
    diversion_share: Decimal = Decimal("0.80")  # withdrawn ÷ drawn at or above this: diversion
    recent_days: int = 14  # the sales cliff compares these last days …
    baseline_days: int = 60  # … with the daily average of the days before them
    cliff_drop: Decimal = Decimal("0.50")  # recent daily sales below (1 − drop) × baseline: a cliff
    baseline_min_fen_per_day: int = 10_000  # 100 yuan a day: below this a shop is too small to judge
    spike_ratio: Decimal = Decimal("2")  # recent rate at least this many times the baseline rate …
    refund_rate_min: Decimal = Decimal("0.10")  # … and at least this share of orders refunded
    complaint_rate_min: Decimal = Decimal("0.05")  # … or this share drawing a complaint
    cliff_min_orders: int = 45  # fewer baseline orders than this: too few to tell a cliff from chance
    spike_min_events: int = 5  # fewer refunds/complaints than this is noise
    quiet_days: int = 7  # no order for this many days: the shop has gone quiet …
    quiet_gap_multiple: int = 5  # … and for this many times its usual gap (chance of that < 1 %)
    cliff_z: Decimal = Decimal("2.33")  # recent orders this many standard deviations below the expected
    logistics_failure_rate_min: Decimal = Decimal("0.10")  # parcels returned/lost per recent order
    low_rating_share_min: Decimal = Decimal("0.30")  # share of recent ratings with 1 or 2 stars …
    linked_default_days: int = 180  # a neighbour's write-off this recent still warns
    sweep_days_min: int = 5  # money out of the wallet on this many of the last `diversion_days` …
    sweep_share: Decimal = Decimal("0.90")  # … and at least this share of what came in: swept
    points: dict = field(
        default_factory=lambda: {
            "fund_diversion": 10,
            "sales_cliff": 35,
            "refund_spike": 15,
            "complaint_spike": 10,
            "gone_quiet": 45,
            "pledge_refunded": 10,
            "logistics_failures": 15,
            "poor_ratings": 10,
            "verification_failed": 25,
            "shop_suspended": 40,
            "shop_closed": 60,
            "linked_default": 20,
            "cash_sweep": 25,
        }
    )
    trend_points_max: int = 20  # a falling trend adds up to this (full at zero recent sales)
    dpd_points_per_day: Decimal = Decimal("1.5")  # days past due, capped at the red threshold
    yellow_from: int = 20
    orange_from: int = 40
    red_from: int = 60
    default_dpd: int = 90  # a loan this far past due (or written off) makes a defaulter

    @property
    def version(self) -> str:
        """The rule set's name and a digest of its thresholds: changing any one changes it."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str).encode()
        return f"{RULES_NAME}:{hashlib.sha256(payload).hexdigest()[:8]}"


def thresholds_from(overrides: dict | None) -> Thresholds:
    """Settings' RISK_MONITORING overrides on the defaults (Decimal fields given as strings)."""
    base = Thresholds()
    if not overrides:
        return base
    values = {}
    for name, value in overrides.items():
        current = getattr(base, name)
        values[name] = Decimal(str(value)) if isinstance(current, Decimal) else value
    return replace(base, **values)


@dataclass(frozen=True)
class Facts:
    """What the run knows about one merchant on one business date (all plain values)."""

    drawn_recent_fen: int = 0  # principal drawn in the last `diversion_days` days
    withdrawn_recent_fen: int = 0  # money out of the wallet in those days, other than repayments
    sales_recent_fen: int = 0  # GMV of the last `recent_days` days
    sales_baseline_fen: int = 0  # GMV of the `baseline_days` days before them
    orders_recent: int = 0
    orders_baseline: int = 0
    refunds_recent: int = 0
    refunds_baseline: int = 0
    complaints_recent: int = 0
    complaints_baseline: int = 0
    days_since_last_order: int | None = None  # None: no order seen in the whole window
    history_days: int = 0  # days the shop has been open (new shops are not judged on a cliff)
    pledges_refunded_recent: int = 0  # pledged orders refunded in the last `diversion_days` days
    days_past_due: int = 0  # the worst open loan's
    is_written_off: bool = False  # a loan written off and not repaid
    # What partners send besides orders (merchants/partner_signals.py):
    logistics_failed_recent: int = 0  # parcels returned, lost or in exception in the recent days
    ratings_recent: int = 0
    low_ratings_recent: int = 0  # of them, 1 or 2 stars
    ratings_baseline: int = 0
    low_ratings_baseline: int = 0
    verifications_failed_recent: int = 0  # third-party checks that failed in the recent days
    platform_status: str = ""  # "suspended" or "closed" by the partner platform, else ""
    # The relationship network: neighbours (one link of any kind) that defaulted.
    linked_defaults: int = 0
    linked_default_kinds: tuple = ()  # the kinds of link to them (phone, trade, …)
    # The wallet in the last `diversion_days` days, loan money in and repayments out left aside:
    income_recent_fen: int = 0  # money in (settlements, transfers)
    withdrawal_days_recent: int = 0  # days on which money left it
    has_open_loan: bool = False


@dataclass(frozen=True)
class Signal:
    kind: str
    severity: str  # low | medium | high
    code: str
    # What the text says, as plain values (stored with the code, so a page reads the reason in
    # its reader's language: `reason_text`).
    params: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        """The reason in the active language."""
        return signal_text(self.code, self.params)

    def as_dict(self) -> dict:
        return {"code": self.code, "text": self.text, "params": self.params}


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return None if denominator <= 0 else Decimal(numerator) / Decimal(denominator)


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('1'), rounding=ROUND_HALF_UP)} %"


def fund_diversion(f: Facts, t: Thresholds) -> Signal | None:
    """Loan money withdrawn from the wallet within `diversion_days` of the drawdown, share ≥ X."""
    share = _ratio(f.withdrawn_recent_fen, f.drawn_recent_fen)
    if share is None or share < t.diversion_share:
        return None
    return Signal(
        "fund_diversion",
        "high" if share >= 1 else "medium",
        "withdrawn_after_drawdown",
        {"share": _pct(share), "days": t.diversion_days},
    )


def sales_cliff(f: Facts, t: Thresholds) -> Signal | None:
    """Daily sales of the last `recent_days` below (1 − drop) × the previous `baseline_days`' average."""
    if f.history_days < t.recent_days + t.baseline_days // 2 or f.orders_baseline < t.cliff_min_orders:
        return None
    baseline_per_day = Decimal(f.sales_baseline_fen) / t.baseline_days
    if baseline_per_day < t.baseline_min_fen_per_day:
        return None
    recent_per_day = Decimal(f.sales_recent_fen) / t.recent_days
    if recent_per_day >= (1 - t.cliff_drop) * baseline_per_day:
        return None
    if f.orders_recent > orders_chance_floor(f, t):
        return None  # a small shop's quiet fortnight: fewer orders, but not unlikely by chance
    drop = 1 - recent_per_day / baseline_per_day
    return Signal(
        "sales_cliff",
        "high" if drop >= Decimal("0.8") else "medium",
        "sales_dropped",
        {"days": t.recent_days, "drop": _pct(drop), "baseline_days": t.baseline_days},
    )


def _spike(
    recent: int, recent_orders: int, baseline: int, baseline_orders: int, floor: Decimal, t: Thresholds
):
    if recent < t.spike_min_events:
        return None
    recent_rate = _ratio(recent, max(recent_orders, 1))
    baseline_rate = _ratio(baseline, baseline_orders)
    if recent_rate < floor:
        return None
    if baseline_rate is not None and baseline_rate > 0 and recent_rate < t.spike_ratio * baseline_rate:
        return None
    return recent_rate


def orders_chance_floor(f: Facts, t: Thresholds) -> Decimal:
    """The fewest recent orders still within chance of the baseline rate: expected − z·√expected
    (orders arrive as a Poisson process, whose variance is its mean)."""
    expected = Decimal(f.orders_baseline) * t.recent_days / t.baseline_days
    return expected - t.cliff_z * expected.sqrt()


def refund_spike(f: Facts, t: Thresholds) -> Signal | None:
    """Refunds per order of the last `recent_days` at least `spike_ratio` × the baseline's and ≥ the floor."""
    rate = _spike(
        f.refunds_recent, f.orders_recent, f.refunds_baseline, f.orders_baseline, t.refund_rate_min, t
    )
    if rate is None:
        return None
    return Signal(
        "refund_spike",
        "medium",
        "refunds_up",
        {"count": f.refunds_recent, "days": t.recent_days, "rate": _pct(rate)},
    )


def complaint_spike(f: Facts, t: Thresholds) -> Signal | None:
    """Complaints per order of the last `recent_days`: `spike_ratio` × the baseline's and ≥ the floor."""
    rate = _spike(
        f.complaints_recent,
        f.orders_recent,
        f.complaints_baseline,
        f.orders_baseline,
        t.complaint_rate_min,
        t,
    )
    if rate is None:
        return None
    return Signal(
        "complaint_spike",
        "low",
        "complaints_up",
        {"count": f.complaints_recent, "days": t.recent_days, "rate": _pct(rate)},
    )


def gone_quiet(f: Facts, t: Thresholds) -> Signal | None:
    """No order for `quiet_days` days and for `quiet_gap_multiple` times the shop's usual gap
    between orders (or none in the whole window), from a shop open long enough to tell."""
    days = f.days_since_last_order
    if days is None:
        if f.history_days < t.quiet_days:
            return None
    elif days < quiet_after_days(f, t):
        return None
    shown = f"{days}" if days is not None else f"{t.recent_days + t.baseline_days}+"
    return Signal("gone_quiet", "high", "no_orders", {"days": shown})


def quiet_after_days(f: Facts, t: Thresholds) -> int:
    """Days without an order that make this shop quiet: a shop with one order a week is not
    quiet after seven days. The usual gap is the baseline days over its orders, rounded up."""
    if f.orders_baseline <= 0:
        return t.quiet_days
    gap = -(-t.baseline_days // f.orders_baseline)
    return max(t.quiet_days, t.quiet_gap_multiple * gap)


def pledge_refunded(f: Facts, t: Thresholds) -> Signal | None:
    """A pledged order (an order loan's security) was refunded."""
    if f.pledges_refunded_recent <= 0:
        return None
    return Signal(
        "pledge_refunded",
        "medium",
        "pledge_refunded",
        {"count": f.pledges_refunded_recent},
    )


def logistics_failures(f: Facts, t: Thresholds) -> Signal | None:
    """Parcels returned, lost or stuck: at least `spike_min_events` in the recent days and at
    least `logistics_failure_rate_min` of the recent orders."""
    if f.logistics_failed_recent < t.spike_min_events:
        return None
    rate = Decimal(f.logistics_failed_recent) / max(f.orders_recent, 1)
    if rate < t.logistics_failure_rate_min:
        return None
    return Signal(
        "logistics_failures",
        "medium",
        "parcels_failed",
        {"count": f.logistics_failed_recent, "days": t.recent_days, "rate": _pct(rate)},
    )


def poor_ratings(f: Facts, t: Thresholds) -> Signal | None:
    """Buyers' 1–2 star ratings: at least `spike_min_events` recently, a share of the recent
    ratings ≥ `low_rating_share_min` and ≥ `spike_ratio` × the baseline's share."""
    if f.low_ratings_recent < t.spike_min_events:
        return None
    share = Decimal(f.low_ratings_recent) / max(f.ratings_recent, 1)
    if share < t.low_rating_share_min:
        return None
    before = _ratio(f.low_ratings_baseline, f.ratings_baseline)
    if before is not None and before > 0 and share < t.spike_ratio * before:
        return None
    return Signal(
        "poor_ratings",
        "low",
        "ratings_down",
        {"share": _pct(share), "days": t.recent_days},
    )


def verification_failed(f: Facts, t: Thresholds) -> Signal | None:
    """A third party found a document of the shop (licence, tax, customs) not as declared."""
    if f.verifications_failed_recent <= 0:
        return None
    return Signal(
        "verification_failed",
        "high",
        "verification_failed",
        {"count": f.verifications_failed_recent},
    )


def platform_status(f: Facts, t: Thresholds) -> Signal | None:
    """The partner platform suspended or closed the shop: its sales, and its repayments, stop."""
    if f.platform_status == "closed":
        return Signal("shop_closed", "high", "shop_closed")
    if f.platform_status == "suspended":
        return Signal("shop_suspended", "high", "shop_suspended")
    return None


_LINK_WORDS = {
    "owner": _("same owner"),
    "national_id": _("same ID number"),
    "phone": _("same phone"),
    "address": _("same address"),
    "bank_card": _("same bank card"),
    "device": _("same device"),
    "trade": _("trading partner"),
    "relation": _("declared supplier/buyer"),
    "guarantee": _("guarantee"),
}


def linked_default(f: Facts, t: Thresholds) -> Signal | None:
    """A shop one link away (shared identity, device, trade, declared relation, guarantee)
    defaulted: risk spreads along the network. The other shop is never named."""
    if f.linked_defaults <= 0:
        return None
    return Signal(
        "linked_default",
        "medium",
        "linked_default",
        {"count": f.linked_defaults, "kinds": list(f.linked_default_kinds)},
    )


def cash_sweep(f: Facts, t: Thresholds) -> Signal | None:
    """While a loan is open, money leaves the wallet on most days, as fast as it comes in: nothing
    is kept back for the next deduction. A shop short of cash lives out of its wallet; a sound
    one takes its money out on its usual day and leaves what the repayments need."""
    if not f.has_open_loan or f.withdrawal_days_recent < t.sweep_days_min:
        return None
    share = _ratio(f.withdrawn_recent_fen, f.income_recent_fen)
    if share is None or share < t.sweep_share:
        return None
    return Signal(
        "cash_sweep",
        "medium",
        "wallet_swept",
        {"count": f.withdrawal_days_recent, "days": t.diversion_days, "share": _pct(share)},
    )


RULES = (
    fund_diversion,
    sales_cliff,
    refund_spike,
    complaint_spike,
    gone_quiet,
    pledge_refunded,
    logistics_failures,
    poor_ratings,
    verification_failed,
    platform_status,
    linked_default,
    cash_sweep,
)


def signals(f: Facts, t: Thresholds) -> list[Signal]:
    """Every warning that holds for these facts, in a fixed order."""
    return [s for s in (rule(f, t) for rule in RULES) if s is not None]


def trend_points(f: Facts, t: Thresholds) -> int:
    """A falling trading trend adds points in proportion to the fall (none for a rising one)."""
    if f.history_days < t.recent_days + t.baseline_days // 2 or f.sales_baseline_fen <= 0:
        return 0
    baseline_per_day = Decimal(f.sales_baseline_fen) / t.baseline_days
    recent_per_day = Decimal(f.sales_recent_fen) / t.recent_days
    fall = max(Decimal(0), 1 - recent_per_day / baseline_per_day)
    return int((fall * t.trend_points_max).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def is_defaulter(f: Facts, t: Thresholds) -> bool:
    return f.is_written_off or f.days_past_due >= t.default_dpd


def score(f: Facts, found: list[Signal], t: Thresholds) -> int:
    """The early-warning score, 0 … 100: the warnings' points, the trend, the days past due."""
    if is_defaulter(f, t):
        return 100
    total = sum(t.points.get(s.kind, 0) for s in found) + trend_points(f, t)
    dpd = (t.dpd_points_per_day * f.days_past_due).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    total += min(int(dpd), t.red_from)
    return min(total, 100)


def level(points: int, t: Thresholds) -> str:
    if points >= t.red_from:
        return RED
    if points >= t.orange_from:
        return ORANGE
    if points >= t.yellow_from:
        return YELLOW
    return GREEN


def level_rank(name: str) -> int:
    return LEVELS.index(name)


def actions_for(name: str, *, defaulter: bool = False) -> list[str]:
    """What a level calls for. green: nothing; yellow: watch; orange: cut the unused line and
    watch; red: freeze the line, demand repayment, send to collections; a defaulter also has its
    shop restricted."""
    if name == GREEN:
        return []
    if name == YELLOW:
        return [WATCH]
    if name == ORANGE:
        return [CUT_UNUSED_LINE, WATCH]
    found = [FREEZE_LINE, DEMAND_REPAYMENT, SEND_TO_COLLECTIONS]
    return [*found, RESTRICT_SHOP] if defaulter else found


def reasons(found: list[Signal], f: Facts, t: Thresholds) -> list[dict]:
    """The level's reasons, [{code, text}], the warnings first."""
    out = [s.as_dict() for s in found]
    if f.is_written_off:
        out.append(_reason("written_off", {}))
    elif f.days_past_due > 0:
        out.append(_reason("past_due", {"days": f.days_past_due}))
    return out


def _reason(code: str, params: dict) -> dict:
    return {"code": code, "text": signal_text(code, params), "params": params}


# The reasons' words by code, English msgids with the names of their parameters.
SIGNAL_TEXTS = {
    "withdrawn_after_drawdown": _(
        "%(share)s of the money drawn in the last %(days)s days left the wallet at once"
    ),
    "sales_dropped": _(
        "daily sales of the last %(days)s days are %(drop)s below the %(baseline_days)s-day "
        "average before them"
    ),
    "refunds_up": _("%(count)s refunds in %(days)s days (%(rate)s of orders)"),
    "complaints_up": _("%(count)s complaints in %(days)s days (%(rate)s of orders)"),
    "no_orders": _("no order for %(days)s days"),
    "pledge_refunded": _("%(count)s pledged order(s) refunded"),
    "parcels_failed": _("%(count)s parcels returned or lost in %(days)s days (%(rate)s of orders)"),
    "ratings_down": _("%(share)s of the last %(days)s days' ratings are 1 or 2 stars"),
    "verification_failed": _("%(count)s third-party check(s) failed"),
    "shop_closed": _("the platform closed the shop"),
    "shop_suspended": _("the platform suspended the shop"),
    "linked_default": _("%(count)s linked shop(s) defaulted (%(how)s)"),
    "wallet_swept": _(
        "money left the wallet on %(count)s of the last %(days)s days, %(share)s of what came in"
    ),
    "written_off": _("a loan was written off"),
    "past_due": _("%(days)s days past due"),
}


def _values(params: dict) -> dict:
    """A reason's parameters as its text reads them, in the active language."""
    values = dict(params)
    if "kinds" in values:
        values["how"] = pgettext("list separator", ", ").join(
            str(_LINK_WORDS.get(kind, kind)) for kind in values["kinds"]
        )
    return values


def signal_text(code: str, params: dict) -> str:
    """A warning's reason in the active language, from its code and parameters."""
    values = _values(params)
    text = SIGNAL_TEXTS[code]
    return str(text) % values if values else str(text)


def stored(reason: dict) -> dict:
    """A reason as common.texts keeps one (code, English text, msgid, parameters), for the rows
    of the apps below risk control (a line's freeze, a collections case, a shop's restriction),
    which render it in their reader's language without knowing risk control's codes. A reason
    this version cannot word keeps its code and its stored text."""
    code, params = reason.get("code"), reason.get("params")
    if code not in SIGNAL_TEXTS or params is None:
        return {"code": str(code or ""), "text": str(reason.get("text", ""))}
    with translation.override("en"):
        values = _values(params)  # the link words, if any, stay English
        text = signal_text(code, params)
    with translation.override(None):
        msgid = str(SIGNAL_TEXTS[code])
    return {"code": code, "text": text, "msgid": msgid, **({"params": values} if values else {})}


def in_english(reason: dict) -> dict:
    """A reason as a partner reads it: its code, the text in English and the parameters."""
    with translation.override("en"):
        return {**reason, "text": reason_text(reason)}


def reason_text(reason: dict) -> str:
    """A stored reason ({code, text, params}) in the active language; a reason stored before its
    parameters were (or with a code this version does not know) keeps its stored text."""
    if not isinstance(reason, dict):
        return str(reason)
    code, params = reason.get("code"), reason.get("params")
    if code in SIGNAL_TEXTS and (params is not None):
        try:
            return signal_text(code, params)
        except (KeyError, TypeError, ValueError):
            pass
    return str(reason.get("text", ""))


@dataclass(frozen=True)
class Assessment:
    signals: list[Signal]
    score: int
    level: str
    is_defaulter: bool
    reasons: list[dict]


def assess(f: Facts, t: Thresholds) -> Assessment:
    found = signals(f, t)
    points = score(f, found, t)
    return Assessment(found, points, level(points, t), is_defaulter(f, t), reasons(found, f, t))


def line_cut_to_fen(*, used_fen: int, product_min_fen: int) -> int:
    """Cutting the unused line leaves what is drawn (never below the product's smallest line)."""
    return max(used_fen, product_min_fen)


def line_raise_to_fen(*, limit_fen: int, product_max_fen: int, share: Decimal = Decimal("0.20")) -> int:
    """A good record raises the line by `share`, rounded down to the yuan, within the product's maximum."""
    raised = int(Decimal(limit_fen) * (1 + share)) // 100 * 100
    return min(raised, product_max_fen)
