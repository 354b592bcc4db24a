"""The merchant graph read from the database in a few set-based queries (never one per
merchant): identity links (same owner, national id, phone, address, payout card), a device seen
at two shops, trade (orders whose buyer is a merchant here), declared trading relations and
guarantees (one member standing surety for another)."""

from collections import defaultdict
from collections.abc import Iterable

import networkx as nx
from django.db.models import Count, Q, Sum

from merchants.models import Guarantee, Merchant, MerchantDevice, Order, TradingRelation
from riskcontrol.network.rings import CLIQUE_MAX, IDENTITY_KINDS, identity_pairs

TRADE = "trade"
RELATION = "relation"
DEVICE = "device"
GUARANTEE = "guarantee"
EDGE_KINDS = (*IDENTITY_KINDS, DEVICE, TRADE, RELATION, GUARANTEE)
_ATTRIBUTES = (
    "id",
    "owner_id",
    "owner__national_id_index",
    "owner__phone_index",
    "owner__address_index",
    "owner__bank_card_index",
)


def attribute_rows(merchant_ids: Iterable[int] | None = None) -> list[tuple]:
    """(merchant, owner, and the blind indexes of national id, phone, address and card) of every
    merchant, or of the given ones and every merchant sharing any of those values with them."""
    query = Merchant.objects.all()
    if merchant_ids is not None:
        seeds = list(Merchant.objects.filter(id__in=list(merchant_ids)).values_list(*_ATTRIBUTES))
        if not seeds:
            return []
        owners, nids, phones, addresses, cards = (
            {row[i] for row in seeds if row[i] not in (None, "")} for i in range(1, 6)
        )
        query = query.filter(
            Q(owner_id__in=owners)
            | Q(owner__national_id_index__in=nids)
            | Q(owner__phone_index__in=phones)
            | Q(owner__address_index__in=addresses)
            | Q(owner__bank_card_index__in=cards)
        )
    return list(query.values_list(*_ATTRIBUTES))


def trade_counts(merchant_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """(seller, buying merchant) → orders between them."""
    query = Order.objects.filter(buyer_merchant__isnull=False)
    if merchant_ids is not None:
        ids = list(merchant_ids)
        query = query.filter(Q(merchant_id__in=ids) | Q(buyer_merchant_id__in=ids))
    rows = query.values("merchant_id", "buyer_merchant_id").annotate(
        orders=Count("id"), amount_fen=Sum("amount_fen")
    )
    return {
        (r["merchant_id"], r["buyer_merchant_id"]): r["orders"]
        for r in rows
        if r["merchant_id"] != r["buyer_merchant_id"]
    }


def relation_pairs(merchant_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    query = TradingRelation.objects.all()
    if merchant_ids is not None:
        ids = list(merchant_ids)
        query = query.filter(Q(merchant_id__in=ids) | Q(counterparty_id__in=ids))
    return {(min(a, b), max(a, b)) for a, b in query.values_list("merchant_id", "counterparty_id")}


def device_pairs(merchant_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    """Pairs of merchants seen on the same device (by its blind index); a device shared by more
    than CLIQUE_MAX shops (a market's shared terminal) links each to the first, as attributes do."""
    query = MerchantDevice.objects.all()
    if merchant_ids is not None:
        indexes = MerchantDevice.objects.filter(merchant_id__in=list(merchant_ids)).values("device_index")
        query = query.filter(device_index__in=indexes)
    groups: dict[str, set[int]] = defaultdict(set)
    for merchant_id, index in query.values_list("merchant_id", "device_index"):
        groups[index].add(merchant_id)
    pairs = set()
    for members in groups.values():
        ordered = sorted(members)
        if len(ordered) <= CLIQUE_MAX:
            pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
        else:
            pairs.update((ordered[0], b) for b in ordered[1:])
    return pairs


def guarantee_pairs(merchant_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    """Pairs of merchants joined by a guarantee (either way)."""
    query = Guarantee.objects.all()
    if merchant_ids is not None:
        ids = list(merchant_ids)
        query = query.filter(Q(borrower_id__in=ids) | Q(guarantor_id__in=ids))
    return {(min(a, b), max(a, b)) for a, b in query.values_list("borrower_id", "guarantor_id")}


def edges_load(merchant_ids: Iterable[int] | None = None) -> dict[tuple[int, int], dict[str, int]]:
    """Undirected edges (smaller id first) → {kind: weight}: 1 per shared identity attribute or
    device, orders in both directions for trade, 1 for a declared relation or a guarantee. With
    `merchant_ids`, only edges touching them."""
    ids = None if merchant_ids is None else set(merchant_ids)
    edges: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for pair, kinds in identity_pairs(attribute_rows(ids)).items():
        if ids is None or pair[0] in ids or pair[1] in ids:
            for kind in kinds:
                edges[pair][kind] = 1
    for (seller, buyer), orders in trade_counts(ids).items():
        pair = (min(seller, buyer), max(seller, buyer))
        edges[pair][TRADE] = edges[pair].get(TRADE, 0) + orders
    for pair in relation_pairs(ids):
        edges[pair][RELATION] = 1
    for pair in device_pairs(ids):
        if ids is None or pair[0] in ids or pair[1] in ids:
            edges[pair][DEVICE] = 1
    for pair in guarantee_pairs(ids):
        edges[pair][GUARANTEE] = 1
    return dict(edges)


def expand(merchant_id: int, *, depth: int, kinds: Iterable[str] = EDGE_KINDS) -> dict[int, int]:
    """Merchants within `depth` hops over edges of the given kinds → their hop count (0 for the
    merchant itself). Each hop is a few set-based queries over the frontier."""
    wanted = set(kinds)
    seen = {merchant_id: 0}
    frontier = {merchant_id}
    for hop in range(1, depth + 1):
        if not frontier:
            break
        found = set()
        for (a, b), _edge_kinds in _edges_of(frontier, wanted).items():
            found.update((a, b))
        frontier = found - seen.keys()
        for other in frontier:
            seen[other] = hop
    return seen


def _edges_of(ids: set[int], kinds: set[str]) -> dict[tuple[int, int], dict[str, int]]:
    if kinds <= set(IDENTITY_KINDS):
        return {
            pair: dict.fromkeys(found & kinds, 1)
            for pair, found in identity_pairs(attribute_rows(ids)).items()
            if found & kinds and (pair[0] in ids or pair[1] in ids)
        }
    return {pair: k for pair, k in edges_load(ids).items() if set(k) & kinds}


def graph_of(merchant_ids: set[int]) -> nx.Graph:
    """The graph among the given merchants: nodes carry shop name and status, edges their kinds."""
    graph = nx.Graph()
    for mid, name, status in Merchant.objects.filter(id__in=merchant_ids).values_list(
        "id", "shop_name", "status"
    ):
        graph.add_node(mid, shop_name=name, status=status)
    for (a, b), kinds in edges_load(merchant_ids).items():
        if a in graph and b in graph:
            graph.add_edge(a, b, kinds=kinds)
    return graph
