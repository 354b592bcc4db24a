"""Reason codes in plain words for the merchant, in the merchant's language: why an application
was declined or is waiting, why a warning was raised, what risk control did. The stages store a
stable code beside their text; this module is the one place that turns a code into a sentence a
merchant understands. It sits in riskcontrol, the top layer, because it knows every layer's codes."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common.texts import stored_text
from lending.models import Application
from riskcontrol.models import RiskAction
from riskcontrol.models import Warning as RiskWarning
from riskcontrol.monitoring.rules import reason_text

# Application reasons: the codes lending's, scoring's and riskcontrol's stages write.
REASONS = {
    # lending: eligibility, limits, people's stages
    "shop_not_active": _("Your shop is not active on its platform, so it cannot borrow now."),
    "wrong_segment": _("This product is not offered to your kind of shop."),
    "product_closed": _("This product is not open for applications at the moment."),
    "overdue": _("You have an overdue loan: repay it first, then apply again."),
    "written_off": _("A loan of yours was written off, so we cannot lend again for now."),
    "amount_out_of_range": _("The amount asked for is outside what this product lends."),
    "orders_not_pledgeable": _(
        "Only your own shipped orders, not yet settled and not pledged already, can back an order loan."
    ),
    "orders_too_small": _("The orders you ticked do not cover the amount asked for."),
    "exposure_full": _("You already use all of your credit limit: repay some of it first."),
    "no_limit": _("We cannot grant any credit at the moment."),
    "approved_less": _("We approved a smaller amount than you asked for."),
    "good_record": _("You repaid earlier loans on time, so your line was raised."),
    "sales": _("Your declared sales could not be confirmed."),
    "margin": _("Your declared profit margin could not be confirmed."),
    "debts": _("Your declared debts are too high compared with your assets."),
    "video_check": _("Book and attend the video interview."),
    "field_inspection": _("A field visit to your business is being arranged."),
    "officer_approval": _("A loan officer is looking at your application."),
    # scoring
    "grade_below_cutoff": _("Your shop's trading record does not qualify for credit yet."),
    "trading_too_small": _("Your recent settled sales are too small for this product."),
    "rating": _("Part of your trading record lowered your rating."),
    "rated": _("Your shop was rated and a line worked out."),
    # riskcontrol
    "owner_name_missing": _("The owner's name is missing: complete your details."),
    "owner_national_id_missing": _("The owner's national ID is missing or not valid."),
    "owner_phone_missing": _("The owner's phone number is missing or not valid."),
    "owner_bank_card_missing": _("No bank card for payouts is registered."),
    "blacklisted": _("Your details did not pass our risk checks."),
    "too_many_applications": _("You applied too many times recently: please try again later."),
    "fraud_review": _("Your orders need a check by our staff."),
    "likely_ring": _("Your shop's links with other shops need a check by our staff."),
    "orders_not_genuine": _("Your shop's orders look arranged, for example bought by linked shops."),
    "shop_too_young": _("Your shop has not been open long enough yet."),
    "trading_too_short": _("Your shop has not had sales on enough days recently."),
    "group_limit": _("Together with related shops, your credit would be more than the group may borrow."),
    "new_shops_applying_together": _("Your shop's links with other shops need a check by our staff."),
    "network_ring_flag": _("Your shop's links with other shops need a check by our staff."),
    "shop_suspended": _("Your platform suspended your shop."),
    "shop_closed": _("Your platform closed your shop."),
    "shop_restricted": _("Your shop may not borrow at the moment."),
}
# People's decisions in a queue: "<queue>_<outcome>".
PERSON_OUTCOMES = {
    "decline": _("An officer looked at your application and declined it."),
    "pass": _("An officer looked at your application and let it go on."),
}
# Third-party checks: "<kind>_<problem>" codes of the identity stage.
VERIFICATION_KINDS = {
    "business_licence": _("Your business licence could not be verified."),
    "tax": _("Your tax records could not be verified."),
    "customs": _("Your customs records could not be verified."),
}
UNKNOWN_REASON = _("One of our checks did not pass.")

# What risk control did, as the merchant is told it.
ACTIONS = {
    RiskAction.Kind.CUT_UNUSED_LINE: _(
        "The unused part of your credit line was cut to what you already use."
    ),
    RiskAction.Kind.FREEZE_LINE: _("Your credit line is frozen: no new drawdowns for now."),
    RiskAction.Kind.DEMAND_REPAYMENT: _("Please repay everything you owe as soon as possible."),
    RiskAction.Kind.SEND_TO_COLLECTIONS: _("Your debt has been passed to collections."),
    RiskAction.Kind.RESTRICT_SHOP: _(
        "Because of a default your shop may not borrow; the partner platform has been told."
    ),
}

# Why: the early-warning signals, in plain words.
WARNINGS = {
    RiskWarning.Kind.FUND_DIVERSION: _(
        "Loan money left your wallet for uses we could not match to your trade."
    ),
    RiskWarning.Kind.SALES_CLIFF: _("Your sales fell sharply."),
    RiskWarning.Kind.REFUND_SPIKE: _("Refunds on your orders rose sharply."),
    RiskWarning.Kind.COMPLAINT_SPIKE: _("Buyer complaints about your shop rose sharply."),
    RiskWarning.Kind.GONE_QUIET: _("Your shop has stopped trading."),
    RiskWarning.Kind.PLEDGE_REFUNDED: _("An order pledged to a loan was refunded: its share is due now."),
    RiskWarning.Kind.LOGISTICS_FAILURES: _("Many of your parcels were returned or lost."),
    RiskWarning.Kind.POOR_RATINGS: _("Buyers' ratings of your shop got worse."),
    RiskWarning.Kind.VERIFICATION_FAILED: _("A third-party check of your documents did not pass."),
    RiskWarning.Kind.SHOP_SUSPENDED: _("Your platform suspended your shop."),
    RiskWarning.Kind.SHOP_CLOSED: _("Your platform closed your shop."),
    RiskWarning.Kind.LINKED_DEFAULT: _("A shop linked to yours did not repay its loan."),
    RiskWarning.Kind.CASH_SWEEP: _(
        "Money leaves your wallet almost every day as soon as it arrives: "
        "keep enough for your next deduction."
    ),
}

# An application's status, and what happens next.
NEXT_STEP = {
    Application.Status.SUBMITTED: _("We are deciding: nothing to do for now."),
    Application.Status.REFERRED: _("A person is looking at it; we will tell you when it is decided."),
    Application.Status.APPROVED: _("Approved: your credit line is open."),
}
STATUS_WORDS = {
    Application.Status.SUBMITTED: _("Being decided"),
    Application.Status.REFERRED: _("With an officer"),
    Application.Status.APPROVED: pgettext_lazy("application status", "Approved"),
    Application.Status.DISBURSED: _("Money paid"),
    Application.Status.DECLINED: pgettext_lazy("application status", "Declined"),
    Application.Status.WITHDRAWN: _("Withdrawn"),
}


def reason_words(code: str) -> str:
    """One reason code as a plain sentence in the active language."""
    if code in REASONS:
        return str(REASONS[code])
    kind, _sep, last = code.rpartition("_")
    if kind in VERIFICATION_KINDS:
        return str(VERIFICATION_KINDS[kind])
    if kind and last in PERSON_OUTCOMES:
        return str(PERSON_OUTCOMES[last])
    return str(UNKNOWN_REASON)


def reasons_words(reasons: list) -> list[str]:
    """Stored reasons ([{code, text}]) as distinct plain sentences, in order."""
    seen: list[str] = []
    for reason in reasons or []:
        code = reason.get("code", "") if isinstance(reason, dict) else ""
        words = reason_words(code)
        if words not in seen:
            seen.append(words)
    return seen


def action_reason(action: RiskAction) -> str:
    """Why risk control acted, in the reader's language: from the reasons' codes when the action
    stored them, else the text it stored."""
    reasons = (action.result or {}).get("reasons") or []
    # A signal's reason is worded by its code; another (a renewal, the level) keeps its msgid.
    return (
        "; ".join(
            stored_text(r) if isinstance(r, dict) and r.get("msgid") else reason_text(r) for r in reasons
        )
        or action.reason
    )
