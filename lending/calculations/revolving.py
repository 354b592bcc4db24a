"""Interest on a revolving credit line (循环贷): no interest while undrawn, interest only for the days
a balance is used, simple.

The rule:
- Each calendar day is charged on that day's end-of-day balance (日终余额), so a drawdown is
  charged from the day it is made and a repayment stops interest from the day it is made (算头不算尾):
  drawn on 1 March and repaid on 11 March is 10 days.
- A span is a maximal run of consecutive days with the same end-of-day balance. Movements that
  leave the end-of-day balance where it was (a drawdown repaid the same day) do not start a new span.
- Within a span the daily postings follow the running-total rule of interest.py, restarting at the
  span's first day, so a span's interest is round(balance × rate × days) and the line's interest is
  the sum over its spans. Close of business reproduces this by restarting its segment day count
  whenever the end-of-day balance changes.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from lending.calculations._checks import check_date, check_rate
from lending.calculations.interest import daily_accruals, interest_for_days


class Movement(NamedTuple):
    """A change to the drawn balance: positive for a drawdown, negative for principal repaid."""

    on: dt.date
    amount_fen: int


@dataclass(frozen=True)
class BalanceSpan:
    """Days start_on..end_on (both included) charged on the same end-of-day balance."""

    start_on: dt.date
    end_on: dt.date
    balance_fen: int

    @property
    def days(self) -> int:
        return (self.end_on - self.start_on).days + 1


def balance_spans(
    movements: Iterable[Movement | tuple[dt.date, int]], through_on: dt.date
) -> list[BalanceSpan]:
    """The constant-balance spans from the first movement through through_on (included); movements
    after through_on are ignored. The balance starts at zero and may never go below it."""
    check_date("through_on", through_on)
    net_by_day: defaultdict[dt.date, int] = defaultdict(int)
    for on, amount_fen in movements:
        check_date("movement date", on)
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
            raise ValueError(f"movement amounts must be integer fen, got {amount_fen!r}")
        if on <= through_on:
            net_by_day[on] += amount_fen
    spans: list[BalanceSpan] = []
    balance, span_start = 0, None
    for on in sorted(net_by_day):
        new_balance = balance + net_by_day[on]
        if new_balance < 0:
            raise ValueError(f"repayments on {on} exceed the drawn balance of {balance} fen")
        if new_balance == balance:
            continue
        if span_start is not None:
            spans.append(BalanceSpan(span_start, on - dt.timedelta(days=1), balance))
        balance, span_start = new_balance, on
    if span_start is not None:
        spans.append(BalanceSpan(span_start, through_on, balance))
    return spans


def revolving_interest(
    movements: Iterable[Movement | tuple[dt.date, int]], daily_rate: Decimal, through_on: dt.date
) -> int:
    """Interest on a line's drawn balance from its first movement through through_on (included):
    the sum over constant-balance spans of round(balance × daily rate × days)."""
    check_rate("daily_rate", daily_rate)
    return sum(
        interest_for_days(span.balance_fen, daily_rate, span.days)
        for span in balance_spans(movements, through_on)
    )


def revolving_daily_accruals(
    movements: Iterable[Movement | tuple[dt.date, int]], daily_rate: Decimal, through_on: dt.date
) -> list[tuple[dt.date, int]]:
    """Day by day, what close of business posts for the line; sums to revolving_interest."""
    check_rate("daily_rate", daily_rate)
    postings = []
    for span in balance_spans(movements, through_on):
        for offset, amount in enumerate(daily_accruals(span.balance_fen, daily_rate, span.days)):
            postings.append((span.start_on + dt.timedelta(days=offset), amount))
    return postings
