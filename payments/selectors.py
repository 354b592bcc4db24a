"""Reads of the ledger: wallets, statements, pools."""

from django.db.models import QuerySet

from common.errors import NotFoundError
from merchants.models import Merchant, PartnerPlatform
from payments.models import Account, FundingPool, Payout, Posting


def wallet_for_merchant(*, merchant: Merchant) -> Account | None:
    return Account.objects.filter(merchant=merchant, purpose=Account.Purpose.WALLET).first()


def wallet_for_partner_merchant(*, partner: PartnerPlatform, merchant_external_id: str) -> Account:
    """A partner sees only its own merchants' wallets."""
    wallet = (
        Account.objects.select_related("merchant")
        .filter(merchant__partner=partner, merchant__external_id=merchant_external_id)
        .first()
    )
    if wallet is None:
        raise NotFoundError(f"no wallet for merchant {merchant_external_id!r}")
    return wallet


def account_statement(*, account: Account, limit: int = 50) -> QuerySet[Posting]:
    """The latest movements on an account, newest first, with their entries."""
    return (
        Posting.objects.filter(account=account).select_related("entry").order_by("-entry_id", "-id")[:limit]
    )


def wallet_payouts(*, wallet: Account, limit: int = 20) -> QuerySet[Payout]:
    return Payout.objects.filter(account=wallet).order_by("-created_at")[:limit]


def funding_pools() -> QuerySet[FundingPool]:
    return FundingPool.objects.order_by("code")


def funding_capacity_fen() -> int:
    """What all the funding pools can still lend together: each pool's `capacity_fen` (the one
    rule: capital + borrowings − principal outstanding − losses), added up."""
    return sum(pool.capacity_fen for pool in FundingPool.objects.all())
