"""An auditor's oracle for interest and penalty over long spans, with repayments in part, a
repayment on the due date itself, an overdue loan paid off and a loan written off and then
recovered, closed one loan to a chunk and three to a chunk.

The oracle is written here from the rules (docs/architecture.md, "Interest"): simple daily
interest, principal × rate, and penalty on the principal past due at rate × markup from the day
after the grace days; both by running totals over each span of days in which their base stays the
same (day k of a span has posted round(base × rate × k) in all), never a rounding per day. Money
taken goes to penalty, then fee, then interest, then principal; principal repaid stops accruing
from that day. A day's repayment comes before that day's close."""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pytest

from common.business_date import business_date_today
from lending import cob, services
from lending.calculations import RepaymentMethod
from lending.models import Loan, LoanEvent
from lending.reconciliation import loan_book_differences
from payments import services as payments
from payments.models import FundingPool
from payments.reconciliation import reconcile
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

RATE = Decimal("0.00035")
MARKUP = Decimal("0.5")
GRACE = 2


def fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class Span:
    base: int = 0
    days: int = 0
    posted: int = 0

    def day(self, base: int, rate: Decimal, contiguous: bool) -> int:
        """One more day on `base`: what the day adds under the running-total rule."""
        if base != self.base or not contiguous:
            self.base, self.days, self.posted = base, 0, 0
        self.days += 1
        total = fen(Decimal(self.base) * rate * self.days)
        added, self.posted = total - self.posted, total
        return added


@dataclass
class Oracle:
    """One bullet loan, day by day, from the rules alone."""

    principal: int
    maturity: dt.date
    interest: int = 0
    penalty: int = 0
    accrued: int = 0
    past_due: int = 0
    closed: bool = False
    interest_span: Span = field(default_factory=Span)
    penalty_span: Span = field(default_factory=Span)
    last_penalty_day: dt.date | None = None
    paid: list[dict] = field(default_factory=list)

    def repay(self, amount: int | None) -> dict:
        owed = {"penalty": self.penalty, "interest": self.interest, "principal": self.principal}
        left = sum(owed.values()) if amount is None else min(amount, sum(owed.values()))
        split = {}
        for bucket in ("penalty", "interest", "principal"):
            split[bucket] = min(left, owed[bucket])
            left -= split[bucket]
        self.penalty -= split["penalty"]
        self.interest -= split["interest"]
        self.principal -= split["principal"]
        self.past_due = min(self.past_due, self.principal)
        self.closed = self.principal + self.interest + self.penalty == 0
        self.paid.append(split)
        return split

    def close(self, on: dt.date) -> None:
        if self.closed:
            return
        if on == self.maturity:
            self.past_due = self.principal
        added = self.interest_span.day(self.principal, RATE, contiguous=True)
        self.interest += added
        self.accrued += added
        if (on - self.maturity).days > GRACE and self.past_due:
            contiguous = self.last_penalty_day == on - dt.timedelta(days=1)
            self.penalty += self.penalty_span.day(self.past_due, RATE * MARKUP, contiguous)
            self.last_penalty_day = on


def spend_everything(loan: Loan) -> None:
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=payments.wallet_open(merchant=loan.merchant).balance_fen,
        idempotency_key=f"spent-{uuid.uuid4()}",
    )


@pytest.mark.parametrize("chunk", [1, 3])
def test_long_overdue_loans_owe_the_oracles_interest_and_penalty_to_the_fen(db, settings, chunk):
    settings.LENDING_COB_CHUNK_SIZE = chunk
    pool = open_pool()
    product = ProductFactory(
        code="late",
        is_revolving=False,
        term=30,
        term_unit="days",
        repayment_method=RepaymentMethod.BULLET,
        daily_rate=RATE,
        grace_days=GRACE,
        penalty_markup=MARKUP,
        upfront_fee_rate=Decimal("0"),
    )
    amounts = {
        "parts": 5_001_600,
        "due_day": 1_234_567,
        "paid_late": 2_000_003,
        "written_off": 3_000_001,
        "due_day_part": 4_321_001,
    }
    loans, oracles = {}, {}
    for name, amount in amounts.items():
        line = CreditLineFactory(product=product, limit_fen=10_000_000, daily_rate=RATE)
        loans[name] = draw(line, amount, key=name)
        spend_everything(loans[name])
    maturity = loans["parts"].maturity_on
    assert all(loan.maturity_on == maturity for loan in loans.values())
    for name, loan in loans.items():
        oracles[name] = Oracle(principal=loan.principal_fen, maturity=maturity)

    def close_through(last: dt.date) -> None:
        day = business_date_today()
        cob.close_through(through=last)
        while day <= last:
            for oracle in oracles.values():
                oracle.close(day)
            day += dt.timedelta(days=1)

    def repay(name: str, amount: int | None) -> LoanEvent:
        loan = loans[name]
        payments.settlement_credit(
            wallet=loan.wallet, amount_fen=amount or 10_000_000, idempotency_key=f"in-{name}-{amount}"
        )
        event = services.loan_repay(
            loan=loan,
            amount_fen=amount,
            idempotency_key=f"r-{name}-{amount}",
            actor="merchant",
            on=business_date_today(),
        )
        split = oracles[name].repay(amount)
        assert (event.penalty_fen, event.interest_fen, event.principal_fen, event.fee_fen) == (
            split["penalty"],
            split["interest"],
            split["principal"],
            0,
        ), (name, business_date_today())
        if amount is None:
            spend_everything(loan)  # what is left in the wallet is not the loan's
        return event

    def day(offset: int) -> dt.date:
        return maturity + dt.timedelta(days=offset)

    close_through(day(-1))
    repay("due_day", None)  # the due date itself, before its close
    repay("due_day_part", 500_000)  # in part on the due date: the rest falls due at its close
    close_through(day(9))
    repay("parts", 300_000)  # penalty and interest, and some principal
    close_through(day(14))
    repay("paid_late", None)  # an overdue loan paid off
    close_through(day(19))
    assert business_date_today() == day(20)
    services.loan_write_off(loan=loans["written_off"], actor="officer", reason="gone", on=day(20))
    written_off = oracles["written_off"]
    written_total = written_off.principal + written_off.interest + written_off.penalty
    written_off.closed = True
    close_through(day(24))
    repay("parts", 1_000_000)
    close_through(day(29))
    payments.settlement_credit(wallet=loans["written_off"].wallet, amount_fen=500_000, idempotency_key="back")
    close_through(day(40))  # the close of day 30 recovers what reached the written-off wallet

    for name, loan in loans.items():
        loan.refresh_from_db()
        oracle = oracles[name]
        if name == "written_off":
            continue
        assert (
            loan.principal_outstanding_fen,
            loan.interest_outstanding_fen,
            loan.penalty_outstanding_fen,
            loan.interest_accrued_total_fen,
        ) == (oracle.principal, oracle.interest, oracle.penalty, oracle.accrued), name
    assert loans["due_day"].status == loans["paid_late"].status == Loan.Status.REPAID
    assert oracles["due_day"].accrued == fen(Decimal(1_234_567) * RATE * (maturity - DAY).days)
    assert loans["due_day"].penalty_outstanding_fen == 0
    assert sum(p["penalty"] for p in oracles["due_day"].paid) == 0
    assert loans["parts"].status == loans["due_day_part"].status == Loan.Status.OVERDUE
    # Not vacuous: penalty was charged and paid, and by the day it would round differently.
    parts = oracles["parts"]
    assert parts.paid[0]["penalty"] > 0 and parts.paid[0]["principal"] > 0 and parts.penalty > 0
    assert oracles["due_day_part"].penalty != sum(
        fen(Decimal(oracles["due_day_part"].principal) * RATE * MARKUP) for _ in range(38)
    )
    # The written-off loan: all it owed at the write-off taken off the books, the recovery back.
    off = loans["written_off"]
    assert off.status == Loan.Status.WRITTEN_OFF
    assert off.written_off_fen == written_total
    assert off.recovered_fen == 500_000
    recovered = off.events.get(kind=LoanEvent.Kind.RECOVERED)
    assert (recovered.principal_fen, recovered.business_on) == (500_000, day(30))
    assert FundingPool.objects.get(pk=pool.pk).losses_fen == written_off.principal - 500_000
    assert reconcile(subledgers=True).differences == []
    assert loan_book_differences() == []
