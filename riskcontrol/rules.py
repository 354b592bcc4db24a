"""The pre-loan rules: pure functions over plain values (no database), each tested on worked
examples. Thresholds come in as arguments, taken from the active rule set by the stages
(riskcontrol/stages.py), which also read the facts. Shares are exact fractions (Decimal), never
floats."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

PASS, REFER, DECLINE = "pass", "refer", "decline"

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Finding:
    """A rule's answer: the outcome and the codes of what it found (the stage words them)."""

    outcome: str
    codes: tuple[str, ...] = ()
    detail: Mapping = field(default_factory=dict)


def share(part: int, whole: int) -> Decimal:
    """part / whole to four places; 0 when there is nothing to divide."""
    if whole <= 0:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def national_id_valid(value: str) -> bool:
    """An 18-character PRC resident ID: 17 digits and the ISO 7064 MOD 11-2 check character."""
    value = (value or "").strip().upper()
    if len(value) != 18 or not value[:17].isdigit():
        return False
    check = "10X98765432"[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11]
    return value[17] == check


def phone_valid(value: str) -> bool:
    """A mainland mobile number: 11 digits starting with 1."""
    value = (value or "").strip()
    return len(value) == 11 and value.isdigit() and value[0] == "1"


def identity(
    *,
    owner: Mapping[str, bool],
    verifications: Sequence[Mapping[str, str]],
    required_kinds: Iterable[str],
    decline_on_failed: Iterable[str],
) -> Finding:
    """Who is behind the shop is known and its documents hold up.

    `owner` says which identity fields are present and valid (name, national_id, phone,
    bank_card); `verifications` are the shop's third-party checks [{kind, result}]. Missing or
    invalid owner fields decline; a failed check of a kind in `decline_on_failed` declines; a kind
    in `required_kinds` with no verified check declines."""
    codes = []
    for name in ("name", "national_id", "phone", "bank_card"):
        if not owner.get(name):
            codes.append(f"owner_{name}_missing")
    failed = sorted({v["kind"] for v in verifications if v["result"] == "failed"} & set(decline_on_failed))
    codes += [f"{kind}_failed" for kind in failed]
    verified = {v["kind"] for v in verifications if v["result"] == "verified"}
    codes += [f"{kind}_unverified" for kind in sorted(set(required_kinds) - verified)]
    return Finding(DECLINE if codes else PASS, tuple(codes))


def blacklist_hits(keys: Mapping[str, str], listed: Iterable[tuple[str, str]]) -> list[str]:
    """The kinds of the applicant's keys ({kind: blind index}) that are on the list of active
    (kind, blind index) entries, sorted. An empty key never matches."""
    listed = set(listed)
    return sorted(kind for kind, value in keys.items() if value and (kind, value) in listed)


def velocity(*, counts: Mapping[str, int], max_per_key: Mapping[str, int]) -> Finding:
    """Too many applications in the window behind one national ID, phone, bank card or device,
    across every shop: `counts` are the other applications per key kind, this one not included; the
    limit is on the total with this one."""
    over = sorted(kind for kind, n in counts.items() if n + 1 > max_per_key[kind])
    return Finding(DECLINE if over else PASS, tuple(f"{kind}_velocity" for kind in over))


@dataclass(frozen=True)
class OrderSignals:
    """A shop's own orders in the window, counted (see riskcontrol.stages.Antifraud.facts)."""

    orders: int
    linked_buyer_orders: int  # bought by a shop sharing the owner's ID, phone, address or card
    repeat_buyer_orders: int  # from buyers who bought at least twice in the window
    completed_orders: int  # delivered or settled
    completed_never_shipped: int  # delivered or settled with no shipping time
    settled_orders: int
    refunded_soon_after_settlement: int


def brushing(signals: OrderSignals, params: Mapping) -> Finding:
    """Brushing (fake orders) signals from a shop's own orders, each a share compared with a moderate and
    a strong level from the rule set:

    - linked: share of orders bought by shops linked to the owner (cycling among linked shops);
    - repeat: share of orders from repeat buyers, against the platform's norm times a multiple;
    - unshipped: share of completed orders that never shipped;
    - quick_refund: share of settled orders refunded soon after settling.

    Fewer orders than `antifraud_min_orders` are too few to judge: pass. Decline when the linked
    share is strong or two signals are strong; refer (a person looks) when any is moderate."""
    if signals.orders < int(params["antifraud_min_orders"]):
        return Finding(PASS, ("too_few_orders",))
    norm = Decimal(params["antifraud_repeat_norm"])
    measured = {
        "linked": share(signals.linked_buyer_orders, signals.orders),
        "repeat": share(signals.repeat_buyer_orders, signals.orders),
        "unshipped": share(signals.completed_never_shipped, signals.completed_orders),
        "quick_refund": share(signals.refunded_soon_after_settlement, signals.settled_orders),
    }
    levels = {
        "linked": (Decimal(params["antifraud_linked_refer"]), Decimal(params["antifraud_linked_decline"])),
        "repeat": (
            norm * Decimal(params["antifraud_repeat_refer_multiple"]),
            norm * Decimal(params["antifraud_repeat_decline_multiple"]),
        ),
        "unshipped": (
            Decimal(params["antifraud_unshipped_refer"]),
            Decimal(params["antifraud_unshipped_decline"]),
        ),
        "quick_refund": (
            Decimal(params["antifraud_quick_refund_refer"]),
            Decimal(params["antifraud_quick_refund_decline"]),
        ),
    }
    strong = [name for name, value in measured.items() if value >= levels[name][1]]
    moderate = [name for name, value in measured.items() if value >= levels[name][0] and name not in strong]
    detail = {
        "shares": {name: str(value) for name, value in measured.items()},
        "strong": strong,
        "moderate": moderate,
    }
    if "linked" in strong or len(strong) >= 2:
        return Finding(DECLINE, tuple(strong), detail)
    if strong or moderate:
        return Finding(REFER, tuple(strong + moderate), detail)
    return Finding(PASS, (), detail)


def application_cluster(*, new_shops_applying: int, min_shops: int, ring_flagged: bool) -> Finding:
    """Likely rings before they have a trading record to judge: `new_shops_applying` linked shops
    (sharing an owner's ID, phone, address, card or a device with this one, this one included)
    that are new and applied in the window, at least `min_shops` of them; or the relationship
    network's latest runs flag the shop. Either refers the case to a fraud reviewer."""
    codes = []
    if new_shops_applying >= min_shops:
        codes.append("new_shops_applying_together")
    if ring_flagged:
        codes.append("network_ring_flag")
    return Finding(REFER if codes else PASS, tuple(codes), {"new_shops_applying": new_shops_applying})


def group_exposure(*, group_limits_fen: Sequence[int], requested_fen: int, group_limit_fen: int) -> Finding:
    """Related parties (shops sharing the owner's national ID, phone or bank card, this one
    included) may together hold lines up to the group limit: their open lines' limits plus what
    this application asks for."""
    total = sum(group_limits_fen) + requested_fen
    detail = {"group_total_fen": total, "group_limit_fen": group_limit_fen}
    if total > group_limit_fen:
        return Finding(DECLINE, ("group_limit",), detail)
    return Finding(PASS, (), detail)


def policy(
    *,
    status: str,
    shop_age_days: int,
    days_with_sales: int | None,
    min_shop_age_days: int,
    min_days_with_sales: int,
) -> Finding:
    """The lending policy: an active shop, open long enough, with enough days of sales in the
    window. `days_with_sales` None means the platform has no order of the shop at all: the rating
    judges a shop without sales, so this rule does not."""
    codes = []
    if status != "active":
        codes.append(f"shop_{status}")
    if shop_age_days < min_shop_age_days:
        codes.append("shop_too_young")
    if days_with_sales is not None and days_with_sales < min_days_with_sales:
        codes.append("trading_too_short")
    return Finding(DECLINE if codes else PASS, tuple(codes))
