"""What a partner platform is told about one of its shops because of risk control: the shop
restricted for default, the restriction lifted. `partner_notice_record` is the one call point:
every notice is written here, in the transaction of the action it reports. The partner is told by
the signed webhook the shop's status change emits in that transaction (merchant.restricted,
merchant.reinstated: merchants/services.py); these rows keep risk control's reason beside it."""

import datetime as dt

from merchants.models import Merchant
from riskcontrol.models import PartnerNotice, RiskAction

SHOP_RESTRICTED = "shop_restricted"
SHOP_REINSTATED = "shop_reinstated"


def partner_notice_record(
    *, action: RiskAction, kind: str, reasons: list[dict], on: dt.date
) -> PartnerNotice:
    """Tell the shop's partner platform what was done and why (kind: shop_restricted,
    shop_reinstated), on business date `on`. `reasons`: why, as stored reasons (common.texts),
    read in the reader's language; the message keeps their English words."""
    merchant = Merchant.objects.only("partner_id").get(pk=action.merchant_id)
    return PartnerNotice.objects.create(
        partner_id=merchant.partner_id,
        merchant_id=action.merchant_id,
        action=action,
        kind=kind,
        message="; ".join(str(r.get("text", "")) for r in reasons)[:300],
        reasons=reasons,
        business_on=on,
    )
