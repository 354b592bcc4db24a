import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from common.money import format_yuan
from merchants import selectors
from merchants.models import Merchant


def home(request):
    """Merchants land on their overview; staff on the workbench; everybody else on the login page."""
    if not request.user.is_authenticated:
        return redirect("portal:login")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("portal:overview")


@login_required
def shop(request):
    merchant = Merchant.objects.select_related("partner", "owner").filter(user=request.user).first()
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    since = timezone.now() - dt.timedelta(days=30)
    days = selectors.merchant_sales_by_day(merchant=merchant, since=since)
    total_fen = sum(d["amount_fen"] or 0 for d in days)
    peak = max((d["amount_fen"] or 0 for d in days), default=0) or 1
    context = {
        "merchant": merchant,
        "sales_30d": format_yuan(total_fen),
        "orders_30d": sum(d["orders"] for d in days),
        "days": [
            {
                "day": d["day"],
                "orders": d["orders"],
                "amount": format_yuan(d["amount_fen"] or 0),
                "bar": round(100 * (d["amount_fen"] or 0) / peak),
            }
            for d in days
        ],
        "by_status": selectors.merchant_orders_by_status(merchant=merchant),
        "recent": [
            {"order": o, "amount": format_yuan(o.amount_fen)}
            for o in selectors.merchant_recent_orders(merchant=merchant)
        ],
    }
    return render(request, "portal/shop.html", context)
