"""Payments' four-eyes executors (registered in settings.FOUR_EYES_ACTIONS): funding pools are
created and funded only when a second officer approves. Each posting's idempotency key comes from
the request's id, so approving can never post twice."""

import datetime as dt

from common.errors import NotFoundError
from payments import services
from payments.models import FundingPool


def _pool(params: dict) -> FundingPool:
    pool = FundingPool.objects.filter(pk=params.get("pool_id")).first()
    if pool is None:
        raise NotFoundError(f"no funding pool {params.get('pool_id')}", {"fields": {"pool": ["not found"]}})
    return pool


def pool_create(params: dict, *, requested_by, approved_by, on: dt.date) -> dict:
    """pool.create: {"code", "name", "max_leverage"}."""
    pool = services.funding_pool_create(
        code=params.get("code", ""), name=params.get("name", ""), max_leverage=params.get("max_leverage", 2)
    )
    return {"pool_id": pool.pk, "code": pool.code}


def pool_add_capital(params: dict, *, requested_by, approved_by, on: dt.date) -> dict:
    """pool.add_capital: {"pool_id", "amount_fen"}."""
    result = services.funding_pool_add_capital(
        pool=_pool(params),
        amount_fen=params.get("amount_fen"),
        idempotency_key=f"four-eyes:{params['request_id']}",
    )
    return {"entry_id": result.entry_id, "amount_fen": result.amount_fen, "replayed": result.replayed}


def pool_borrow(params: dict, *, requested_by, approved_by, on: dt.date) -> dict:
    """pool.borrow: {"pool_id", "amount_fen"}, within capital × max leverage."""
    result = services.funding_pool_borrow(
        pool=_pool(params),
        amount_fen=params.get("amount_fen"),
        idempotency_key=f"four-eyes:{params['request_id']}",
    )
    return {"entry_id": result.entry_id, "amount_fen": result.amount_fen, "replayed": result.replayed}
