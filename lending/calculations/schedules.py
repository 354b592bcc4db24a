"""Repayment schedules for the four repayment methods.

Rates are daily. The monthly methods that amortise (equal principal 等额本金, equal installments
等额本息) use the period rate r × 30, the usual convention for a rate quoted per day; the
interest-only method (按月付息到期还本) and the bullet (一次性还本付息) charge actual days.

Due dates fall monthly on the start date's day of the month, clamped to the end of shorter months,
and each is counted from the start date rather than from the previous due date: a loan started on
31 January falls due on 28 (or 29) February, 31 March, 30 April, 31 May, and so on.
"""

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from lending.calculations._checks import (
    check_count,
    check_date,
    check_fen,
    check_rate,
    exact_product,
    round_fen,
    wide_context,
)
from lending.calculations.interest import interest_for_days

DAYS_PER_PERIOD = 30
MAX_TERM_MONTHS = 360
MAX_TERM_DAYS = 3660


class RepaymentMethod(StrEnum):
    BULLET = "bullet"  # 一次性还本付息
    MONTHLY_INTEREST = "monthly_interest"  # 按月付息到期还本
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    EQUAL_INSTALLMENT = "equal_installment"  # 等额本息


@dataclass(frozen=True)
class Installment:
    """One scheduled repayment; amounts in fen, principal balances before and after it."""

    number: int
    due_on: dt.date
    period_days: int
    opening_principal_fen: int
    principal_fen: int
    interest_fen: int
    closing_principal_fen: int
    total_fen: int = field(init=False)

    def __post_init__(self) -> None:
        if self.closing_principal_fen != self.opening_principal_fen - self.principal_fen:
            raise ValueError(f"installment {self.number}: closing principal does not follow from opening")
        if min(self.principal_fen, self.interest_fen, self.closing_principal_fen) < 0:
            raise ValueError(f"installment {self.number}: amounts must not be negative")
        object.__setattr__(self, "total_fen", self.principal_fen + self.interest_fen)


def add_months(start_on: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later, clamped to that month's last day."""
    check_date("start_on", start_on)
    check_count("months", months)
    month_index = start_on.month - 1 + months
    year, month = start_on.year + month_index // 12, month_index % 12 + 1
    return start_on.replace(
        year=year, month=month, day=min(start_on.day, calendar.monthrange(year, month)[1])
    )


def monthly_due_dates(start_on: dt.date, term_months: int) -> list[dt.date]:
    """Due dates 1..term_months, each computed from the start date (never chained)."""
    check_count("term_months", term_months, minimum=1, maximum=MAX_TERM_MONTHS)
    return [add_months(start_on, k) for k in range(1, term_months + 1)]


def period_rate(daily_rate: Decimal) -> Decimal:
    """The monthly period rate for amortising methods: daily rate × 30."""
    check_rate("daily_rate", daily_rate)
    return exact_product(daily_rate, DAYS_PER_PERIOD)


def installment_payment(principal_fen: int, rate_per_period: Decimal, term_months: int) -> int:
    """The level payment of an equal-installment loan, P·i / (1 − (1 + i)^−n), rounded half-up;
    P / n when the rate is zero."""
    check_fen("principal_fen", principal_fen, positive=True)
    check_rate("rate_per_period", rate_per_period)
    check_count("term_months", term_months, minimum=1, maximum=MAX_TERM_MONTHS)
    if rate_per_period == 0:
        return _regular_share(principal_fen, term_months)
    context = wide_context()
    discount = context.power(context.add(1, rate_per_period), -term_months)
    annuity = context.divide(context.multiply(principal_fen, rate_per_period), context.subtract(1, discount))
    return round_fen(annuity)


def _regular_share(principal_fen: int, term_months: int) -> int:
    """P / n rounded half-up, or rounded down where n − 1 rounded-up shares would exceed P (only
    for principals of a few fen, e.g. 9 fen over 6 months), so that no installment is negative."""
    share = round_fen(wide_context().divide(principal_fen, term_months))
    if share * (term_months - 1) > principal_fen:
        share = principal_fen // term_months
    return share


def _checked(principal_fen: int, daily_rate: Decimal, start_on: dt.date) -> None:
    check_fen("principal_fen", principal_fen, positive=True)
    check_rate("daily_rate", daily_rate)
    check_date("start_on", start_on)


def _periods(start_on: dt.date, term_months: int) -> list[tuple[dt.date, int]]:
    due_dates = monthly_due_dates(start_on, term_months)
    return [(due, (due - before).days) for before, due in pairwise([start_on, *due_dates])]


def bullet_schedule(
    *, principal_fen: int, daily_rate: Decimal, start_on: dt.date, term_days: int
) -> list[Installment]:
    """一次性还本付息: one installment term_days after disbursement, principal plus simple interest
    for those days."""
    _checked(principal_fen, daily_rate, start_on)
    check_count("term_days", term_days, minimum=1, maximum=MAX_TERM_DAYS)
    return [
        Installment(
            number=1,
            due_on=start_on + dt.timedelta(days=term_days),
            period_days=term_days,
            opening_principal_fen=principal_fen,
            principal_fen=principal_fen,
            interest_fen=interest_for_days(principal_fen, daily_rate, term_days),
            closing_principal_fen=0,
        )
    ]


def monthly_interest_schedule(
    *, principal_fen: int, daily_rate: Decimal, start_on: dt.date, term_months: int
) -> list[Installment]:
    """按月付息到期还本: each month the interest for the period's actual days, the principal with
    the last installment.

    The balance is constant for the whole term, so period k's interest is taken from the running
    total since disbursement, round(P·r·D_k) − round(P·r·D_k−1) with D_k the days to due date k:
    it is then exactly what close of business accrues over those days, and the interests add up to
    the rounded simple interest for the whole term."""
    _checked(principal_fen, daily_rate, start_on)
    installments = []
    elapsed_days = 0
    periods = _periods(start_on, term_months)
    for number, (due_on, days) in enumerate(periods, start=1):
        is_last = number == len(periods)
        interest = interest_for_days(principal_fen, daily_rate, elapsed_days + days) - interest_for_days(
            principal_fen, daily_rate, elapsed_days
        )
        elapsed_days += days
        installments.append(
            Installment(
                number=number,
                due_on=due_on,
                period_days=days,
                opening_principal_fen=principal_fen,
                principal_fen=principal_fen if is_last else 0,
                interest_fen=interest,
                closing_principal_fen=0 if is_last else principal_fen,
            )
        )
    return installments


def equal_principal_schedule(
    *, principal_fen: int, daily_rate: Decimal, start_on: dt.date, term_months: int
) -> list[Installment]:
    """等额本金: the principal in n equal parts (P / n rounded half-up, the last part taking what is
    left), each with interest on the principal outstanding during the period at r × 30."""
    _checked(principal_fen, daily_rate, start_on)
    rate = period_rate(daily_rate)
    share = _regular_share(principal_fen, term_months)
    installments = []
    outstanding = principal_fen
    periods = _periods(start_on, term_months)
    for number, (due_on, days) in enumerate(periods, start=1):
        principal = outstanding if number == len(periods) else share
        installments.append(
            Installment(
                number=number,
                due_on=due_on,
                period_days=days,
                opening_principal_fen=outstanding,
                principal_fen=principal,
                interest_fen=round_fen(exact_product(outstanding, rate)),
                closing_principal_fen=outstanding - principal,
            )
        )
        outstanding -= principal
    return installments


def equal_installment_schedule(
    *, principal_fen: int, daily_rate: Decimal, start_on: dt.date, term_months: int
) -> list[Installment]:
    """等额本息: a level payment at period rate i = r × 30 (see installment_payment); each interest is
    the outstanding principal × i rounded half-up, the principal is the payment less that interest,
    and the last installment repays whatever principal is left, so the principals sum to P exactly.

    Rounding the payment up can repay a loan of a few fen early; the remaining installments are
    then zero rather than negative."""
    _checked(principal_fen, daily_rate, start_on)
    rate = period_rate(daily_rate)
    periods = _periods(start_on, term_months)
    payment = installment_payment(principal_fen, rate, len(periods))
    installments = []
    outstanding = principal_fen
    for number, (due_on, days) in enumerate(periods, start=1):
        interest = round_fen(exact_product(outstanding, rate))
        # Rounding is monotone and the outstanding principal only falls, so payment ≥ interest.
        principal = outstanding if number == len(periods) else min(payment - interest, outstanding)
        installments.append(
            Installment(
                number=number,
                due_on=due_on,
                period_days=days,
                opening_principal_fen=outstanding,
                principal_fen=principal,
                interest_fen=interest,
                closing_principal_fen=outstanding - principal,
            )
        )
        outstanding -= principal
    return installments


def build_schedule(
    method: RepaymentMethod | str, *, principal_fen: int, daily_rate: Decimal, start_on: dt.date, term: int
) -> list[Installment]:
    """The schedule for a repayment method; term is in days for a bullet, in months otherwise."""
    try:
        method = RepaymentMethod(method)
    except ValueError:
        known = ", ".join(m.value for m in RepaymentMethod)
        raise ValueError(f"unknown repayment method {method!r}; expected one of {known}") from None
    if method is RepaymentMethod.BULLET:
        return bullet_schedule(
            principal_fen=principal_fen, daily_rate=daily_rate, start_on=start_on, term_days=term
        )
    builder = {
        RepaymentMethod.MONTHLY_INTEREST: monthly_interest_schedule,
        RepaymentMethod.EQUAL_PRINCIPAL: equal_principal_schedule,
        RepaymentMethod.EQUAL_INSTALLMENT: equal_installment_schedule,
    }[method]
    return builder(principal_fen=principal_fen, daily_rate=daily_rate, start_on=start_on, term_months=term)
