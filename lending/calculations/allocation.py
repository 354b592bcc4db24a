"""Allocation of a repayment across what is owed (还款冲抵顺序)."""

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from lending.calculations._checks import check_fen

REPAYMENT_BUCKETS = ("penalty", "fee", "interest", "principal")
# Penalty first, then fees, then interest, principal last: the lender recovers what it earns before
# what it lent, and overdue principal keeps bearing penalty interest until it is paid.
DEFAULT_ALLOCATION_ORDER = ("penalty", "fee", "interest", "principal")


class Allocation(NamedTuple):
    """What a repayment settled in each bucket, and what was left over (an overpayment)."""

    allocated: dict[str, int]
    overpayment_fen: int


def allocate(
    amount_fen: int, owed: Mapping[str, int], order: Sequence[str] = DEFAULT_ALLOCATION_ORDER
) -> Allocation:
    """Pay the buckets in order, each in full before the next, never more than a bucket owes; the
    rest of the amount is the overpayment. Every bucket owed must appear in the order, so no debt
    is silently skipped; the result has a key for each bucket in the order."""
    check_fen("amount_fen", amount_fen)
    if isinstance(order, str):
        raise ValueError(f"order must be a sequence of bucket names, got the string {order!r}")
    for name in (*owed, *order):
        if name not in REPAYMENT_BUCKETS:
            raise ValueError(f"unknown bucket {name!r}; buckets are {', '.join(REPAYMENT_BUCKETS)}")
    if len(set(order)) != len(order):
        raise ValueError(f"order names a bucket twice: {list(order)}")
    missing = [name for name in owed if name not in order]
    if missing:
        raise ValueError(f"buckets {missing} are owed but missing from the order {list(order)}")
    for name, value in owed.items():
        check_fen(f"owed[{name!r}]", value)
    remaining = amount_fen
    allocated = {}
    for name in order:
        paid = min(remaining, owed.get(name, 0))
        allocated[name] = paid
        remaining -= paid
    return Allocation(allocated, remaining)
