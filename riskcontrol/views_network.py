"""A merchant's relationship network for risk managers (/risk/network/<merchant_id>/): the shops
linked to it by identity, trade and declared relations, drawn as a graph, with the ring flags of
the latest runs. Risk managers (scoring's risk permission or group) and staff who may view ring
flags see it; anyone else gets the login page or a 403."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from merchants.models import Merchant
from riskcontrol.models import RingFlag
from riskcontrol.network.graph import expand, graph_of
from riskcontrol.network.selectors import latest_run_ids, merchant_ring_flag
from riskcontrol.network.svg import KIND_LABELS, edge_label, network_svg
from scoring.views_risk import is_risk_manager

VIEW_PERMISSION = "riskcontrol.view_ringflag"
MAX_NODES = 120
DEPTHS = (1, 2, 3)


def can_view_network(user) -> bool:
    if is_risk_manager(user):
        return True
    return user.is_authenticated and user.is_active and user.is_staff and user.has_perm(VIEW_PERMISSION)


def network_viewer_required(view):
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_view_network(request.user):
            raise PermissionDenied(_("the relationship network is for risk managers"))
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@network_viewer_required
def merchant_network(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise Http404(_("no such merchant"))
    errors = {}
    raw_depth = request.GET.get("depth", "2")
    depth = int(raw_depth) if raw_depth.isdigit() and int(raw_depth) in DEPTHS else None
    if depth is None:
        errors["depth"] = [_("must be one of %(depths)s") % {"depths": ", ".join(map(str, DEPTHS))}]
        depth = 2
    hops = expand(merchant.pk, depth=depth)
    # The nearest first, so a crowded network keeps what matters most.
    shown = sorted(hops, key=lambda m: (hops[m], m))[:MAX_NODES]
    graph = graph_of(set(shown))
    flags = {
        f.merchant_id: f
        for f in RingFlag.objects.filter(run_id__in=latest_run_ids(), merchant_id__in=shown).order_by("score")
    }
    rows = [
        {
            "id": node,
            "shop_name": data.get("shop_name", ""),
            # The status by its name in the reader's language (the graph keeps its code).
            "status": Merchant.Status(data["status"]).label
            if data.get("status") in Merchant.Status.values
            else data.get("status", ""),
            "hops": hops[node],
            "flag": flags.get(node),
            "links": edge_label(graph.edges[merchant.pk, node]["kinds"])
            if graph.has_edge(merchant.pk, node)
            else "",
        }
        for node, data in sorted(graph.nodes(data=True), key=lambda item: (hops[item[0]], item[0]))
    ]
    context = {
        "merchant": merchant,
        "depth": depth,
        "depths": DEPTHS,
        "errors": errors,
        "svg": network_svg(graph, centre=merchant.pk, flagged=set(flags)),
        "rows": rows,
        "flag": merchant_ring_flag(merchant.pk),
        "truncated": len(hops) > MAX_NODES,
        "total": len(hops),
        "kinds": KIND_LABELS.values(),
    }
    return render(request, "risk/network.html", context)
