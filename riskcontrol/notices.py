"""What a partner platform is told about one of its shops because of risk control: the shop
restricted for default, the restriction lifted. `partner_notice_record` is the one call point:
every notice is written here, in the transaction of the action it reports, and whatever delivers
notices to partners (the partner API, signed webhooks) reads the rows this writes, each until its
`delivered_at` is set."""

import datetime as dt

from merchants.models import Merchant
from riskcontrol.models import PartnerNotice, RiskAction

SHOP_RESTRICTED = "shop_restricted"
SHOP_REINSTATED = "shop_reinstated"


def partner_notice_record(*, action: RiskAction, kind: str, message: str, on: dt.date) -> PartnerNotice:
    """Tell the shop's partner platform what was done and why (kind: shop_restricted,
    shop_reinstated), on business date `on`."""
    merchant = Merchant.objects.only("partner_id").get(pk=action.merchant_id)
    return PartnerNotice.objects.create(
        partner_id=merchant.partner_id,
        merchant_id=action.merchant_id,
        action=action,
        kind=kind,
        message=message[:300],
        business_on=on,
    )
