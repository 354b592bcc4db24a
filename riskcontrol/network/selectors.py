"""Reads of the relationship network for other parts of risk control: ring flags for pre-loan
stages, the identity group that shares one exposure limit, the neighbours a default warns."""

from django.db.models import OuterRef, Subquery

from riskcontrol.models import NetworkRun, RingFlag
from riskcontrol.network.graph import EDGE_KINDS, IDENTITY_KINDS, edges_load, expand


def latest_run_ids() -> list[int]:
    """Each detector's most recent finished run."""
    runs = NetworkRun.objects.filter(finished_at__isnull=False).order_by("-business_on")
    latest = (
        runs.filter(detector=detector).values_list("pk", flat=True).first()
        for detector in NetworkRun.Detector
    )
    return [pk for pk in latest if pk is not None]


def merchant_ring_flag(merchant_id: int) -> dict | None:
    """The highest-scoring flag on the merchant in each detector's latest run, or None when the
    latest runs flag it nowhere."""
    # One query: a flag counts when its run is its detector's latest finished one.
    latest = (
        NetworkRun.objects.filter(detector=OuterRef("run__detector"), finished_at__isnull=False)
        .order_by("-business_on", "-pk")
        .values("pk")[:1]
    )
    flag = (
        RingFlag.objects.filter(merchant_id=merchant_id, run_id=Subquery(latest))
        .select_related("run")
        .order_by("-score", "run_id")
        .first()
    )
    if flag is None:
        return None
    return {
        "detector": flag.run.detector,
        "version": flag.run.version,
        "business_on": flag.run.business_on,
        "run_id": flag.run_id,
        "ring": flag.ring,
        "score": flag.score,
        "members": list(flag.members),
        "reasons": list(flag.reasons),
    }


def group_of(merchant_id: int) -> set[int]:
    """The merchants linked to this one through identity (same owner, national id, phone,
    address or payout card), transitively, itself included: they share one exposure limit."""
    return set(expand(merchant_id, depth=10_000, kinds=IDENTITY_KINDS))


def neighbours(merchant_id: int, depth: int = 1) -> dict[int, int]:
    """Merchants within `depth` links of any kind (identity, trade, declared relation) → how many
    links away; the merchant itself is left out."""
    found = expand(merchant_id, depth=depth, kinds=EDGE_KINDS)
    found.pop(merchant_id, None)
    return found


def defaulted_neighbours(merchant_ids, *, defaulters: set[int]) -> dict[int, dict[int, tuple[str, ...]]]:
    """For the given merchants, the defaulters one link away (any kind) and the kinds of link:
    {merchant: {defaulter: kinds}}. Reads the edges touching the defaulters (few) in a handful of
    set-based queries, not a query per merchant; a merchant is not its own neighbour."""
    if not defaulters:
        return {}
    wanted = set(merchant_ids)
    out: dict[int, dict[int, tuple[str, ...]]] = {}
    for (a, b), kinds in edges_load(defaulters).items():
        for mine, theirs in ((a, b), (b, a)):
            if mine in wanted and theirs in defaulters:
                out.setdefault(mine, {})[theirs] = tuple(sorted(kinds))
    return out
