"""An auditor's oracle for every figure of money a loan carries, written from the domain's rules
(docs/architecture.md, "Lending"; shared DOMAIN.md) and never from the engine: it imports nothing
from lending. Amounts are integer fen, rates exact Decimals, every rounding half-up to the fen;
numpy-financial gives the level payment and the IRR, each polished (or checked) in exact Decimal.

The rules it holds the engine to:
- Schedules. Due dates fall monthly on the start's day of the month (clamped to shorter months),
  each counted from the start. Bullet: one payment after `term` days, principal plus simple
  interest P·r·d. Interest-only: period k's interest is round(P·r·D_k) − round(P·r·D_{k−1}),
  D_k the days from the start to due date k; the principal with the last. Equal principal: P/n
  rounded (the last takes the rest), interest on what is outstanding × r·30. Equal installments:
  the level payment at i = r·30, interest round(outstanding × i), principal the payment less
  it, the last installment whatever principal is left.
- Interest accrues by running totals: day k of a span of constant base has posted round(base ×
  rate × k) in all. Daily loans (bullet, interest-only, revolving drawdowns) accrue on all their
  principal; a due date does not end the span, principal repaid does (from that day). Amortising
  loans spread each period's planned interest over its days (day k of d: round(A·k/d) in all);
  principal paid ahead of what is due makes them accrue day by day on what is left until the next
  due date; principal past due accrues at the daily rate over its own spans.
- Penalty: principal past due, from the day after the grace days, at rate × markup, by running
  totals over spans of constant principal past due.
- On a due date the installment's unpaid principal and all the interest accrued so far fall due;
  after the last due date everything owed is due. Close of business takes from the wallet what is
  due (penalty, fee, interest, principal in the product's order), as far as it holds, loans of one
  wallet in loan id order. A repayment (portal, API) may pay anything owed, in the same order.
- Past due: from the day after an unpaid due date; cured when everything due is paid. Five tiers
  from days past due (thresholds as configured). Write-off takes all that is owed off the books;
  close of business then recovers from the wallet what reaches it, up to what was written off,
  principal first.
- Order loans (订单贷款) are a pledge of the seller's shipped orders: the drawdown pledges its
  oldest shipped orders not pledged yet until their value × the advance rate covers the amount
  (more than all of them cover is refused), an order backs one open loan only. When a pledged
  order settles, close of business first repays its loan with the order's value, up to all the
  loan owes (penalty, fee, interest, principal in the product's order) and as far as the wallet
  holds, the orders of one loan settled the same day together, loans in id order; a refunded
  pledged order makes its share of the principal lent (half-up, by value among the loan's pledged
  orders) due at once, at most the principal not yet due. Both come before the day's due dates,
  deduction and accrual.
- A disputed pledged order stays pledged, and changes nothing, until the dispute ends in a
  settlement or a refund. A seller may tick which free shipped orders to pledge: the pledge is
  exactly those, if their value × the advance rate covers the amount. A pledged order settled or
  refunded after its loan was written off (or repaid) only closes its pledge; the settlement's
  money reaches the wallet, and close of business recovers it as any other.
- The all-in annual cost: the borrower's cash flows (the principal less the upfront fee on the
  start date, each installment on its due date), the daily IRR, compounded over the loan's
  repayment period (a bullet's term, 30 days for monthly installments) and × 365 / period.
"""

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import numpy_financial as npf

BUCKETS = ("penalty", "fee", "interest", "principal")
OPEN = ("active", "overdue")


def half_up(value) -> int:
    """Half-up to the fen, exact."""
    with localcontext() as context:
        context.prec = 80
        return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def exact(*factors) -> Decimal:
    with localcontext() as context:
        context.prec = 80
        result = Decimal(1)
        for factor in factors:
            result *= Decimal(factor)
        return result


def months_later(start: dt.date, months: int) -> dt.date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass
class Planned:
    number: int
    due_on: dt.date
    principal: int
    interest: int
    paid_principal: int = 0
    paid_interest: int = 0
    paid_on: dt.date | None = None

    @property
    def total(self) -> int:
        return self.principal + self.interest


def level_payment(principal: int, period_rate: Decimal, n: int) -> int:
    """P·i / (1 − (1 + i)^−n), exactly; numpy-financial's pmt must agree to a thousandth of a fen."""
    if period_rate == 0:
        return half_up(Decimal(principal) / n)
    with localcontext() as context:
        context.prec = 80
        annuity = Decimal(principal) * period_rate / (1 - (1 + period_rate) ** -n)
    by_npf = -npf.pmt(float(period_rate), n, principal)
    assert abs(by_npf - float(annuity)) < 1e-3, (by_npf, annuity)
    return half_up(annuity)


def schedule(method: str, principal: int, rate: Decimal, start: dt.date, term: int) -> list[Planned]:
    if method == "bullet":
        due = start + dt.timedelta(days=term)
        return [Planned(1, due, principal, half_up(exact(principal, rate, term)))]
    dues = [months_later(start, k) for k in range(1, term + 1)]
    plan = []
    if method == "monthly_interest":
        before = 0
        for k, due in enumerate(dues, start=1):
            total = half_up(exact(principal, rate, (due - start).days))
            plan.append(Planned(k, due, principal if k == term else 0, total - before))
            before = total
        return plan
    i = exact(rate, 30)
    outstanding = principal
    if method == "equal_principal":
        share = half_up(Decimal(principal) / term)
        for k, due in enumerate(dues, start=1):
            part = outstanding if k == term else share
            plan.append(Planned(k, due, part, half_up(exact(outstanding, i))))
            outstanding -= part
        return plan
    assert method == "equal_installment", method
    payment = level_payment(principal, i, term)
    # numpy-financial's own split of the first installment, before rounding, as a check.
    assert abs(float(npf.ipmt(float(i), 1, term, -principal)) - float(exact(principal, i))) < 1e-3
    for k, due in enumerate(dues, start=1):
        interest = half_up(exact(outstanding, i))
        part = outstanding if k == term else min(payment - interest, outstanding)
        plan.append(Planned(k, due, part, interest))
        outstanding -= part
    return plan


def annual_cost(method: str, term: int, start: dt.date, received: int, plan: list[Planned]) -> Decimal:
    """The nominal APR over the repayment period from the daily IRR (numpy-financial's irr on a
    daily grid, then Newton in 60-digit Decimal until it no longer moves)."""
    days = (plan[-1].due_on - start).days
    flows = np.zeros(days + 1)
    flows[0] = received
    for item in plan:
        flows[(item.due_on - start).days] -= item.total
    guess = npf.irr(flows)
    timed = [(0, received)] + [((item.due_on - start).days, -item.total) for item in plan]
    with localcontext() as context:
        context.prec = 60
        d = Decimal(repr(float(guess))) if guess == guess else Decimal("0.0006")
        for _ in range(60):
            growth = 1 + d
            value = sum(Decimal(a) / growth**t for t, a in timed)
            slope = sum(-t * Decimal(a) / growth ** (t + 1) for t, a in timed)
            step = value / slope
            d -= step
            if abs(step) < Decimal("1e-40"):
                break
        period = min(term, 365) if method == "bullet" else 30
        return ((1 + d) ** period - 1) * 365 / period


def allocate(amount: int, owed: dict[str, int], order) -> dict[str, int]:
    split = {}
    for bucket in order:
        split[bucket] = min(amount, owed.get(bucket, 0))
        amount -= split[bucket]
    return split


@dataclass
class Span:
    """A running total over consecutive days of one base: what it has posted in all."""

    start: dt.date | None = None
    base: int = 0
    posted: int = 0
    through: dt.date | None = None

    def day(self, on: dt.date, base: int, rate: Decimal) -> int:
        if not (self.start is not None and self.base == base and self.through == on - dt.timedelta(days=1)):
            self.start, self.posted = on, 0
        self.base, self.through = base, on
        total = half_up(exact(base, rate, (on - self.start).days + 1))
        added, self.posted = total - self.posted, total
        return added


@dataclass
class OracleLoan:
    id: int
    wallet: int
    method: str
    principal: int
    rate: Decimal
    markup: Decimal
    grace: int
    order: tuple
    start: dt.date
    plan: list[Planned]
    fee: int = 0
    status: str = "active"
    owed_principal: int = 0
    owed_interest: int = 0
    owed_penalty: int = 0
    due_principal: int = 0
    due_interest: int = 0
    oldest_unpaid: dt.date | None = None
    days_past_due: int = 0
    max_days_past_due: int = 0
    next_k: int = 1
    interest_total: int = 0
    penalty_total: int = 0
    written_off: int = 0
    recovered: int = 0
    written_off_split: dict = field(default_factory=dict)
    recovered_split: dict = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    # accrual of the contract's interest: "daily" on a base principal, or "spread" of a period's
    # planned interest over its days
    mode: str = "daily"
    seg_start: dt.date | None = None
    seg_base: int = 0
    seg_days: int = 0
    seg_posted: int = 0
    accrued_through: dt.date | None = None
    overdue_span: Span = field(default_factory=Span)
    penalty_span: Span = field(default_factory=Span)
    events: list = field(default_factory=list)
    # how often the same principal fell past due again after days with none (a new span)
    same_base_after_gap: int = 0

    def __post_init__(self):
        self.owed_principal = self.principal
        self.accrued_through = self.start - dt.timedelta(days=1)
        self.seg_start = self.start
        if self.amortising:
            self.mode, self.seg_base = "spread", self.plan[0].interest
            self.seg_days = (self.plan[0].due_on - self.start).days
        else:
            self.mode, self.seg_base = "daily", self.principal

    @property
    def amortising(self) -> bool:
        return self.method in ("equal_principal", "equal_installment")

    @property
    def next_due(self) -> dt.date | None:
        if self.status not in OPEN or self.next_k > len(self.plan):
            return None
        return self.plan[self.next_k - 1].due_on

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def owed_all(self) -> dict[str, int]:
        return {
            "penalty": self.owed_penalty,
            "fee": 0,
            "interest": self.owed_interest,
            "principal": self.owed_principal,
        }

    # --- close of business, one day ---

    def fall_due(self, on: dt.date) -> None:
        if not self.is_open or self.next_due != on:
            return
        planned_through = sum(item.principal for item in self.plan[: self.next_k])
        repaid = self.principal - self.owed_principal
        unpaid = max(planned_through - repaid - self.due_principal, 0)
        self.due_principal += unpaid
        self.due_interest = self.owed_interest
        if self.oldest_unpaid is None and self.due_principal + self.due_interest + self.owed_penalty > 0:
            self.oldest_unpaid = on
        following = self.plan[self.next_k] if self.next_k < len(self.plan) else None
        self.next_k += 1
        if self.amortising and following is not None:
            # the next period's planned interest, on the principal not yet due, over its days
            self.mode, self.seg_start, self.seg_posted = "spread", on, 0
            self.seg_base = half_up(exact(self.owed_principal - self.due_principal, self.rate, 30))
            self.seg_days = (following.due_on - on).days
        elif self.mode != "daily":
            self.mode, self.seg_start, self.seg_posted, self.seg_base = "daily", on, 0, self.owed_principal

    def wanted_by_close(self) -> dict[str, int]:
        interest = self.owed_interest if self.next_due is None else self.due_interest
        return {"penalty": self.owed_penalty, "fee": 0, "interest": interest, "principal": self.due_principal}

    def pay(self, split: dict[str, int], on: dt.date, kind: str) -> None:
        principal = split.get("principal", 0)
        interest = split.get("interest", 0)
        penalty = split.get("penalty", 0)
        due_before = self.due_principal
        self.owed_penalty -= penalty
        self.owed_interest -= interest
        self.due_interest = max(self.due_interest - interest, 0)
        self.owed_principal -= principal
        self.due_principal = min(max(self.due_principal - principal, 0), self.owed_principal)
        if principal > 0 and (self.mode == "daily" or principal > due_before):
            # what interest accrues on has changed: a new span, day by day, from the first day
            # not yet accrued
            self.mode, self.seg_posted, self.seg_base = "daily", 0, self.owed_principal
            self.seg_start = max(on, self.accrued_through + dt.timedelta(days=1))
        self.events.append((kind, on, principal, interest, penalty))
        if self.due_principal == 0 and self.due_interest == 0 and self.owed_penalty == 0:
            self.oldest_unpaid = None
            self.days_past_due = 0
        if self.owed_principal == 0 and self.owed_interest == 0 and self.owed_penalty == 0:
            self.status = "repaid"
        elif self.oldest_unpaid is None:
            self.status = "active"
        self._cover(on)

    def _cover(self, on: dt.date) -> None:
        """What each installment has been paid: principal repaid and interest paid cover the
        installments in order."""
        principal_paid = self.principal - self.owed_principal
        interest_paid = self.interest_total - self.owed_interest
        for item in self.plan:
            item.paid_principal = min(max(principal_paid, 0), item.principal)
            item.paid_interest = min(max(interest_paid, 0), item.interest)
            principal_paid -= item.principal
            interest_paid -= item.interest
            if item.paid_on is None and (item.paid_principal, item.paid_interest) == (
                item.principal,
                item.interest,
            ):
                item.paid_on = on

    def accrue(self, on: dt.date, thresholds: tuple[int, int, int, int]) -> tuple[int, int]:
        if not self.is_open:
            return 0, 0
        interest = 0
        if self.accrued_through < on and on >= self.seg_start:
            if self.owed_principal > 0:
                k = (on - self.seg_start).days + 1
                if self.mode == "daily":
                    total = half_up(exact(self.seg_base, self.rate, k))
                else:
                    total = half_up(Decimal(self.seg_base * min(k, self.seg_days)) / self.seg_days)
                interest, self.seg_posted = total - self.seg_posted, total
            if self.mode == "spread" and self.due_principal > 0:
                span = self.overdue_span
                if (
                    span.start is not None
                    and span.base == self.due_principal
                    and span.through != on - dt.timedelta(days=1)
                ):
                    self.same_base_after_gap += 1
                interest += self.overdue_span.day(on, self.due_principal, self.rate)
            self.accrued_through = on
        dpd = 0 if self.oldest_unpaid is None else (on - self.oldest_unpaid).days
        penalty = 0
        if self.due_principal > 0 and dpd > self.grace:
            penalty = self.penalty_span.day(on, self.due_principal, self.rate * self.markup)
        self.owed_interest += interest
        self.interest_total += interest
        self.owed_penalty += penalty
        self.penalty_total += penalty
        self.status = "overdue" if dpd > 0 else "active"
        self.days_past_due = dpd
        self.max_days_past_due = max(self.max_days_past_due, dpd)
        return interest, penalty

    def classification(self, thresholds: tuple[int, int, int, int]) -> str:
        tiers = ("normal", "special_mention", "substandard", "doubtful", "loss")
        if self.oldest_unpaid is None:
            return "normal"
        return tiers[sum(self.days_past_due >= t for t in thresholds)]

    # --- write-off and recovery ---

    def write_off(self, on: dt.date) -> None:
        self.written_off_split = {
            "principal": self.owed_principal,
            "interest": self.owed_interest,
            "penalty": self.owed_penalty,
            "fee": 0,
        }
        self.written_off = sum(self.written_off_split.values())
        self.events.append(("written_off", on, self.owed_principal, self.owed_interest, self.owed_penalty))
        self.owed_principal = self.owed_interest = self.owed_penalty = 0
        self.due_principal = self.due_interest = 0
        self.status = "written_off"

    def recover(self, available: int, on: dt.date) -> int:
        take = min(self.written_off - self.recovered, max(available, 0))
        if take <= 0:
            return 0
        left = {b: self.written_off_split[b] - self.recovered_split[b] for b in BUCKETS}
        split = allocate(take, left, ("principal", "interest", "penalty", "fee"))
        for bucket, amount in split.items():
            self.recovered_split[bucket] += amount
        self.recovered += take
        self.events.append(("recovered", on, split["principal"], split["interest"], split["penalty"]))
        return take


@dataclass
class OracleOrder:
    """A seller's order as the marketplace sees it: shipped, then settled or refunded."""

    external_id: str
    merchant: int
    value: int
    shipped_at: dt.datetime
    status: str = "shipped"
    loan: int | None = None  # the loan it is pledged to while the pledge is open
    released: bool = False


def pledge_choose(orders: list[OracleOrder], amount: int, advance_rate: Decimal) -> list[OracleOrder] | None:
    """The drawdown's pledge: the oldest shipped orders not pledged yet until their value × the
    advance rate covers the amount; None if all of them do not."""
    chosen, covered = [], 0
    for order in sorted(orders, key=lambda o: o.shipped_at):
        if order.status != "shipped" or order.loan is not None:
            continue
        chosen.append(order)
        covered += order.value
        if exact(covered, advance_rate) >= amount:
            return chosen
    return None


def pledge_limit(orders: list[OracleOrder], advance_rate: Decimal) -> int:
    """The most the seller's free shipped orders cover now, in whole fen."""
    free = sum(o.value for o in orders if o.status == "shipped" and o.loan is None)
    return int(exact(free, advance_rate))


@dataclass
class OracleBook:
    """All loans and wallets, and what the ledger's accounts must hold."""

    thresholds: tuple[int, int, int, int] = (1, 91, 181, 361)
    loans: dict[int, OracleLoan] = field(default_factory=dict)
    wallets: dict[int, int] = field(default_factory=dict)
    fees: int = 0
    interest_income: int = 0
    penalty_income: int = 0
    lost_principal: int = 0
    # order loans: each loan's pledged orders in the order they were pledged
    pledges: dict[int, list[OracleOrder]] = field(default_factory=dict)

    def draw(self, loan: OracleLoan, fee: int) -> None:
        loan.fee = fee
        self.loans[loan.id] = loan
        self.wallets[loan.wallet] = self.wallets.get(loan.wallet, 0) + loan.principal - fee
        self.fees += fee

    def credit(self, wallet: int, amount: int) -> None:
        self.wallets[wallet] = self.wallets.get(wallet, 0) + amount

    def repay(self, loan_id: int, amount: int | None, on: dt.date) -> dict[str, int] | None:
        """A repayment asked for through the API: at most what is owed and what the wallet has."""
        loan = self.loans[loan_id]
        owed = loan.owed_all()
        wanted = sum(owed.values()) if amount is None else min(amount, sum(owed.values()))
        take = min(wanted, self.wallets[loan.wallet])
        if take <= 0:
            return None
        split = allocate(take, owed, loan.order)
        self.wallets[loan.wallet] -= take
        loan.pay(split, on, "repaid")
        return split

    def write_off(self, loan_id: int, on: dt.date) -> None:
        loan = self.loans[loan_id]
        self.lost_principal += loan.owed_principal
        loan.write_off(on)

    def pledges_close(self, on: dt.date) -> None:
        """Pledged orders settled or refunded since the last close, before anything else."""
        for loan_id in sorted(self.pledges):
            loan = self.loans[loan_id]
            settled = [o for o in self.pledges[loan_id] if not o.released and o.status == "settled"]
            for order in settled:
                order.released, order.loan = True, None
            value = sum(o.value for o in settled)
            if not settled or not loan.is_open:
                continue
            owed = loan.owed_all()
            take = min(value, sum(owed.values()), max(self.wallets[loan.wallet], 0))
            if take > 0:
                self.wallets[loan.wallet] -= take
                loan.pay(allocate(take, owed, loan.order), on, "pledge_settled")
        for loan_id in sorted(self.pledges):
            loan = self.loans[loan_id]
            pledged = sum(o.value for o in self.pledges[loan_id])
            for order in self.pledges[loan_id]:
                if order.released or order.status != "refunded":
                    continue
                order.released, order.loan = True, None
                if not loan.is_open:
                    continue
                share = half_up(Decimal(loan.principal) * order.value / pledged)
                share = min(share, loan.owed_principal - loan.due_principal)
                if share <= 0:
                    continue
                loan.due_principal += share
                if loan.oldest_unpaid is None:
                    loan.oldest_unpaid = on
                loan.events.append(("pledge_refunded", on, share, 0, 0))

    def close(self, on: dt.date) -> None:
        self.pledges_close(on)
        for loan_id in sorted(self.loans):
            loan = self.loans[loan_id]
            loan.fall_due(on)
            if loan.is_open:
                wanted = loan.wanted_by_close()
                take = min(sum(wanted.values()), self.wallets[loan.wallet])
                if take > 0:
                    self.wallets[loan.wallet] -= take
                    loan.pay(allocate(take, wanted, loan.order), on, "auto_deducted")
            interest, penalty = loan.accrue(on, self.thresholds)
            self.interest_income += interest
            self.penalty_income += penalty
        for loan_id in sorted(self.loans):
            loan = self.loans[loan_id]
            if loan.status == "written_off":
                before = loan.recovered_split["principal"]
                take = loan.recover(self.wallets[loan.wallet], on)
                self.wallets[loan.wallet] -= take
                self.lost_principal -= loan.recovered_split["principal"] - before

    # --- what the ledger must hold ---

    def receivable(self) -> int:
        return sum(loan.owed_principal for loan in self.loans.values() if loan.is_open)

    def interest_receivable(self) -> int:
        return sum(loan.owed_interest + loan.owed_penalty for loan in self.loans.values() if loan.is_open)

    def write_off_expense(self) -> int:
        return sum(loan.written_off - loan.recovered for loan in self.loans.values())
