"""A merchant's network drawn on the server as SVG (no script, no CDN): a networkx spring
layout, nodes coloured by ring flag and shop status, edges labelled by kind."""

from html import escape

import networkx as nx
from django.utils.translation import gettext_lazy as _

KIND_LABELS = {
    "owner": _("same owner"),
    "national_id": _("ID"),
    "phone": _("phone"),
    "address": _("address"),
    "bank_card": _("card"),
    "trade": _("trade"),
    "relation": _("relation"),
    "device": _("device"),
    "guarantee": _("guarantee"),
}
STATUS_COLOURS = {"active": "#4a90d9", "restricted": "#e6a23c", "closed": "#9e9e9e"}
RING_COLOUR = "#d9363e"


def node_colour(status: str, is_flagged: bool) -> str:
    return RING_COLOUR if is_flagged else STATUS_COLOURS.get(status, "#4a90d9")


def edge_label(kinds: dict[str, int]) -> str:
    parts = []
    for kind, weight in sorted(kinds.items()):
        label = str(KIND_LABELS.get(kind, kind))
        parts.append(f"{label} ×{weight}" if kind == "trade" else label)
    return " · ".join(parts)


def network_svg(
    graph: nx.Graph, *, centre: int, flagged: set[int], width: int = 900, height: int = 640
) -> str:
    """The graph as an SVG document; the same graph gives the same drawing (seeded layout)."""
    margin = 70
    if graph.number_of_nodes() == 1:
        positions = {centre: (0.0, 0.0)}
    else:
        positions = nx.spring_layout(graph, seed=7, weight=None)

    def at(node: int) -> tuple[float, float]:
        x, y = positions[node]
        return margin + (x + 1) / 2 * (width - 2 * margin), margin + (y + 1) / 2 * (height - 2 * margin)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="merchant network" data-testid="network-svg">'
    ]
    for a, b, data in graph.edges(data=True):
        (x1, y1), (x2, y2) = at(a), at(b)
        kinds = data.get("kinds", {})
        colour = "#d9363e" if "trade" in kinds else "#888"
        out.append(
            f'<g class="edge" data-kinds="{escape(",".join(sorted(kinds)))}">'
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>'
            f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2:.1f}" font-size="10" fill="#555" '
            f'text-anchor="middle">{escape(edge_label(kinds))}</text></g>'
        )
    for node, data in graph.nodes(data=True):
        x, y = at(node)
        is_flagged = node in flagged
        fill = node_colour(data.get("status", ""), is_flagged)
        stroke = ' stroke="#000" stroke-width="3"' if node == centre else ' stroke="#fff" stroke-width="1"'
        name = escape(data.get("shop_name", str(node)))
        out.append(
            f'<g class="node" data-merchant="{node}" data-flagged="{str(is_flagged).lower()}">'
            f'<a href="../{node}/"><circle cx="{x:.1f}" cy="{y:.1f}" r="{14 if node == centre else 10}" '
            f'fill="{fill}"{stroke}><title>{name} #{node}</title></circle></a>'
            f'<text x="{x:.1f}" y="{y + 24:.1f}" font-size="11" text-anchor="middle">{name}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)
