"""The merchant portal's risk notice: what post-loan monitoring did to the merchant's lines or
shop, when and why, while it stands (an action an officer reversed is gone). Internal steps
(watching a merchant, its score) are not shown."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant
from riskcontrol.models import RiskAction
from riskcontrol.plain_words import action_reason

# What the merchant is told, per action kind.
SHOWN = {
    RiskAction.Kind.CUT_UNUSED_LINE: _("The unused part of your credit line was cut."),
    RiskAction.Kind.FREEZE_LINE: _("Your credit line is frozen: no new drawdowns."),
    RiskAction.Kind.DEMAND_REPAYMENT: _("Please repay everything you owe as soon as possible."),
    RiskAction.Kind.SEND_TO_COLLECTIONS: _("Your debt has been passed to collections."),
    RiskAction.Kind.RESTRICT_SHOP: _(
        "Because of a default your shop may not borrow; the partner platform has been told."
    ),
}


@login_required
def risk_notice(request):
    merchant = Merchant.objects.filter(user=request.user).first()
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    actions = RiskAction.objects.filter(merchant=merchant, kind__in=SHOWN, reversed_at__isnull=True).order_by(
        "-business_on", "-pk"
    )
    notices = [{"action": a, "what": SHOWN[a.kind], "why": action_reason(a)} for a in actions]
    return render(request, "portal/risk_notice.html", {"merchant": merchant, "notices": notices})
