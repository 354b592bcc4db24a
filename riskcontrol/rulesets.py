"""The thresholds of the pre-loan checks, their defaults, and the rule sets' services: a risk
manager copies the active set into a draft, edits it, and activates it (the old set retires).
Stages read the active set at decision time (`ruleset_active`) and record its version."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.crypto import blind_index, mask
from common.errors import ApplicationError, ConflictError, NotFoundError
from riskcontrol.models import BlacklistEntry, RuleSet

VERIFICATION_KINDS = ("business_licence", "tax", "customs")


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str  # "int", "share" (a Decimal 0..1 kept as a string), "decimal", "kinds"
    default: object
    low: object = None
    high: object = None
    why: str = ""


PARAMS: tuple[Param, ...] = (
    Param(
        "identity_required_kinds_b2c",
        _("B2C: checks that must be verified"),
        "kinds",
        [],
        why=_("B2C sellers are known to their platform; none by default"),
    ),
    Param(
        "identity_required_kinds_b2b",
        _("B2B: checks that must be verified"),
        "kinds",
        [],
        why=_("the video check looks at the licence; add the business licence to require it first"),
    ),
    Param(
        "identity_decline_on_failed",
        _("Decline when this check failed"),
        "kinds",
        ["business_licence", "tax"],
        why=_("a registry that contradicts the documents"),
    ),
    Param("velocity_window_days", _("Velocity window (days)"), "int", 30, 1, 365),
    Param(
        "velocity_max_national_id",
        _("Most applications per national ID in the window"),
        "int",
        8,
        1,
        1000,
        why=_("order loans are applied for often; rings apply in bursts"),
    ),
    Param(
        "velocity_max_phone",
        _("Most applications per phone in the window"),
        "int",
        8,
        1,
        1000,
    ),
    Param(
        "velocity_max_bank_card",
        _("Most applications per bank card in the window"),
        "int",
        8,
        1,
        1000,
    ),
    Param(
        "velocity_max_device",
        _("Most applications from shops on one device in the window"),
        "int",
        8,
        1,
        1000,
        why=_("partners send the devices a shop's people use; one phone behind many shops is a ring"),
    ),
    Param("antifraud_window_days", _("Anti-fraud: orders of the last N days"), "int", 90, 7, 730),
    Param("antifraud_min_orders", _("Anti-fraud: fewest orders to judge"), "int", 20, 1, 100_000),
    Param(
        "antifraud_linked_refer",
        _("Linked-shop buyers: share to refer"),
        "share",
        "0.05",
    ),
    Param(
        "antifraud_linked_decline",
        _("Linked-shop buyers: share to decline"),
        "share",
        "0.2",
    ),
    Param(
        "antifraud_repeat_norm",
        _("Platform norm: share of orders from repeat buyers"),
        "share",
        "0.05",
        why=_("measured on the demo marketplace: genuine buyers rarely buy twice in 90 days"),
    ),
    Param(
        "antifraud_repeat_refer_multiple",
        _("Repeat buyers: multiple of the norm to refer"),
        "decimal",
        "4",
        "1",
        "100",
    ),
    Param(
        "antifraud_repeat_decline_multiple",
        _("Repeat buyers: multiple of the norm to decline"),
        "decimal",
        "10",
        "1",
        "100",
    ),
    Param(
        "antifraud_unshipped_refer",
        _("Completed but never shipped: share to refer"),
        "share",
        "0.02",
    ),
    Param(
        "antifraud_unshipped_decline",
        _("Completed but never shipped: share to decline"),
        "share",
        "0.1",
    ),
    Param(
        "antifraud_refund_hours",
        _("Refund soon after settlement: within hours"),
        "int",
        48,
        1,
        720,
    ),
    Param(
        "antifraud_quick_refund_refer",
        _("Refunded soon after settling: share to refer"),
        "share",
        "0.05",
    ),
    Param(
        "antifraud_quick_refund_decline",
        _("Refunded soon after settling: share to decline"),
        "share",
        "0.2",
    ),
    Param(
        "cluster_window_days",
        _("Linked new shops applying together: window (days)"),
        "int",
        30,
        1,
        365,
    ),
    Param(
        "cluster_new_shop_days",
        _("A shop counts as new for (days)"),
        "int",
        365,
        1,
        3650,
    ),
    Param(
        "cluster_min_shops",
        _("Linked new shops applying together, refer from"),
        "int",
        3,
        2,
        1000,
        why=_("a ring opens several shops behind one phone, address or card and applies with all of them"),
    ),
    Param(
        "group_limit_fen",
        _("Group limit (fen)"),
        "int",
        500_000_000,
        0,
        10**12,
        why=_("¥5,000,000 across shops sharing an owner's ID, phone or card"),
    ),
    Param("policy_min_shop_age_days", _("Shop open at least (days)"), "int", 90, 0, 3650),
    Param("policy_sales_window_days", _("Sales history window (days)"), "int", 180, 1, 730),
    Param(
        "policy_min_days_with_sales",
        _("Days with sales in the window, at least"),
        "int",
        20,
        0,
        730,
    ),
)
PARAMS_BY_NAME = {p.name: p for p in PARAMS}
DEFAULT_PARAMS = {p.name: p.default for p in PARAMS}


def param_clean(name: str, value) -> object:
    """One threshold checked and normalised (ints as int, shares and decimals as strings)."""
    param = PARAMS_BY_NAME.get(name)
    if param is None:
        raise ApplicationError(f"unknown threshold {name}", {"fields": {name: ["unknown threshold"]}})
    if param.kind == "kinds":
        kinds = list(value or [])
        bad = [k for k in kinds if k not in VERIFICATION_KINDS]
        if bad:
            raise ApplicationError(
                f"{name}: unknown check {', '.join(bad)}",
                {"fields": {name: [f"one of {', '.join(VERIFICATION_KINDS)}"]}},
            )
        return sorted(set(kinds))
    if param.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ApplicationError(f"{name} must be a whole number", {"fields": {name: ["a whole number"]}})
        try:
            number = int(value)
        except ValueError as exc:
            raise ApplicationError(
                f"{name} must be a whole number", {"fields": {name: ["a whole number"]}}
            ) from exc
        if not param.low <= number <= param.high:
            raise ApplicationError(
                f"{name} must be between {param.low} and {param.high}",
                {"fields": {name: [f"between {param.low} and {param.high}"]}},
            )
        return number
    if isinstance(value, float):
        raise ApplicationError(f"{name}: give a decimal, not a float", {"fields": {name: ["a decimal"]}})
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ApplicationError(
            f"{name} must be a decimal number", {"fields": {name: ["a decimal number"]}}
        ) from exc
    low, high = (
        (Decimal(0), Decimal(1)) if param.kind == "share" else (Decimal(param.low), Decimal(param.high))
    )
    if not number.is_finite() or not low <= number <= high:
        raise ApplicationError(
            f"{name} must be between {low} and {high}", {"fields": {name: [f"between {low} and {high}"]}}
        )
    return format(number.normalize(), "f")


def params_clean(params: dict) -> dict:
    """Every threshold present and valid; pairs in order (refer below decline)."""
    missing = [p.name for p in PARAMS if p.name not in params]
    if missing:
        raise ApplicationError("thresholds missing", {"fields": {name: ["required"] for name in missing}})
    clean = {name: param_clean(name, value) for name, value in params.items()}
    for signal in ("linked", "unshipped", "quick_refund"):
        refer, decline = f"antifraud_{signal}_refer", f"antifraud_{signal}_decline"
        if Decimal(clean[refer]) > Decimal(clean[decline]):
            raise ApplicationError(
                f"{decline} must not be below {refer}", {"fields": {decline: [f"at least {refer}"]}}
            )
    if Decimal(clean["antifraud_repeat_refer_multiple"]) > Decimal(
        clean["antifraud_repeat_decline_multiple"]
    ):
        raise ApplicationError(
            gettext("the decline multiple must not be below the refer multiple"),
            {"fields": {"antifraud_repeat_decline_multiple": [gettext("at least the refer multiple")]}},
        )
    return clean


def params_diff(old: dict, new: dict) -> list[dict]:
    """What changed between two sets of thresholds: [{name, label, before, after}]."""
    rows = []
    for param in PARAMS:
        before, after = old.get(param.name), new.get(param.name)
        if before != after:
            rows.append({"name": param.name, "label": param.label, "before": before, "after": after})
    return rows


def ruleset_active() -> RuleSet:
    """The active rule set; the documented defaults become version 1 if none exists yet (a fresh
    database whose data migration's rows were flushed, as tests do)."""
    # RuleSet(status active).first() (by its ordering, the newest version), in SQL: read by
    # every decision, and cheaper to send than to build.
    columns = ", ".join(field.column for field in RuleSet._meta.concrete_fields)
    found = list(
        RuleSet.objects.raw(
            f"SELECT {columns} FROM riskcontrol_ruleset WHERE status = %s ORDER BY version DESC LIMIT 1",  # noqa: S608
            [RuleSet.Status.ACTIVE],
        )
    )
    if found:
        return found[0]
    try:
        with transaction.atomic():
            if not RuleSet.objects.exists():
                return RuleSet.objects.create(
                    version=1,
                    status=RuleSet.Status.ACTIVE,
                    params=dict(DEFAULT_PARAMS),
                    note=gettext("documented defaults"),
                    activated_at=timezone.now(),
                )
    except IntegrityError:
        pass  # another request created it at the same moment
    active = RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).first()
    if active is None:
        raise NotFoundError(gettext("no active rule set"), {"fields": {"rule_set": ["none is active"]}})
    return active


def ruleset_draft_create(*, user, note: str = "") -> RuleSet:
    """A risk manager's editable copy of the active set (one draft at a time)."""
    active = ruleset_active()
    with transaction.atomic():
        if RuleSet.objects.filter(status=RuleSet.Status.DRAFT).exists():
            raise ConflictError(
                gettext("a draft exists already: edit or activate it"),
                {"fields": {"rule_set": ["draft exists"]}},
            )
        last = RuleSet.objects.select_for_update().order_by("-version").first()
        try:
            with transaction.atomic():
                return RuleSet.objects.create(
                    version=last.version + 1,
                    status=RuleSet.Status.DRAFT,
                    params={**DEFAULT_PARAMS, **active.params},
                    based_on=active,
                    note=note[:500],
                    created_by=user,
                    updated_by=user,
                )
        except IntegrityError as exc:
            raise ConflictError(
                gettext("a draft exists already"), {"fields": {"rule_set": ["draft exists"]}}
            ) from exc


def ruleset_draft_update(*, rule_set: RuleSet, params: dict, note: str, user) -> RuleSet:
    """Change a draft's thresholds; an active or retired set never changes."""
    clean = params_clean({**rule_set.params, **params})
    with transaction.atomic():
        updated = RuleSet.objects.filter(pk=rule_set.pk, status=RuleSet.Status.DRAFT).update(
            params=clean, note=note[:500], updated_by=user, updated_at=timezone.now()
        )
        if not updated:
            raise ConflictError(
                gettext("only a draft can be edited"), {"fields": {"rule_set": ["not a draft"]}}
            )
    rule_set.refresh_from_db()
    return rule_set


def ruleset_activate(*, rule_set: RuleSet, user) -> RuleSet:
    """The draft becomes the active set and the active one retires, together; decisions from now
    on record the new version."""
    params_clean(rule_set.params)
    now = timezone.now()
    with transaction.atomic():
        draft = RuleSet.objects.select_for_update().filter(pk=rule_set.pk).first()
        if draft is None or draft.status != RuleSet.Status.DRAFT:
            raise ConflictError(
                gettext("only a draft can be activated"), {"fields": {"rule_set": ["not a draft"]}}
            )
        RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).update(
            status=RuleSet.Status.RETIRED, retired_at=now
        )
        RuleSet.objects.filter(pk=draft.pk, status=RuleSet.Status.DRAFT).update(
            status=RuleSet.Status.ACTIVE, activated_by=user, activated_at=now
        )
    rule_set.refresh_from_db()
    return rule_set


def blacklist_add(*, kind: str, value: str, reason: str, user=None) -> BlacklistEntry:
    """List a national ID, phone, bank card or device; only its blind index and a masked hint are
    kept."""
    if kind not in BlacklistEntry.Kind.values:
        raise ApplicationError(
            gettext("choose what kind of value is listed"),
            {"fields": {"kind": [f"one of {', '.join(BlacklistEntry.Kind.values)}"]}},
        )
    value = "".join((value or "").split())
    if not value:
        raise ApplicationError(gettext("the value is required"), {"fields": {"value": ["required"]}})
    if not (reason or "").strip():
        raise ApplicationError(gettext("say why it is listed"), {"fields": {"reason": ["required"]}})
    index = blind_index(value)
    try:
        with transaction.atomic():
            return BlacklistEntry.objects.create(
                kind=kind,
                value_index=index,
                value_hint=mask(value, 3, 2),
                reason=reason.strip()[:200],
                added_by=user,
            )
    except IntegrityError as exc:
        raise ConflictError(gettext("already listed"), {"fields": {"value": ["already listed"]}}) from exc


def since(on: dt.date, days: int) -> dt.date:
    """The first day of a window of `days` days ending on `on`."""
    return on - dt.timedelta(days=days - 1)
