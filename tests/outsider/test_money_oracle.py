"""Every figure of money against an independent oracle (tests/outsider/money_oracle.py).

Seeded random loans of every repayment method and product kind (bullet order loans, credit loans
in equal installments, fixed loans paying interest monthly, equal principal, revolving lines drawn
several times into one wallet), odd amounts, rates from low to just under and just over the 24 %
cap, upfront fees, penalty markups, grace days and allocation orders, drawn on month ends, on
29 February and across a year end. Each loan goes the way a merchant takes it: quote and drawdown
through the partner API, then close of business day by day over its whole term, with the wallet
holding enough, too little or nothing on due dates, late payments of exactly what is due,
partial and early repayments through the API, an installment paid on its due date before the
close, and a loan left unpaid until it is written off and then recovered.

After every close each open loan's principal, interest and penalty outstanding, what is due,
status, days past due and five-tier class, the interest it has accrued, and every wallet must
equal the oracle's to the fen; every quote's schedule, fee and all-in cost (and whether the cap
refuses it); every repayment's split; and at the end every event, every installment's planned
and paid figures, and the ledger's accounts. Runs on the database the suite runs on (SQLite, or
PostgreSQL with DATABASE_URL).

MONEY_ORACLE_SEEDS (default 2) sets how many random worlds; MONEY_ORACLE_FIRST_SEED where they
start. The figures compared are printed (-s)."""

import datetime as dt
import os
import random
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from common.business_date import business_date_set, business_date_today
from lending import cob, services
from lending.models import CreditLine, Installment, Loan, LoanEvent, Product
from payments import services as payments
from payments.models import Account, FundingPool
from payments.reconciliation import reconcile
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, PartnerPlatformFactory
from tests.outsider.money_oracle import OracleBook, OracleLoan, annual_cost, half_up, schedule

SEEDS = int(os.environ.get("MONEY_ORACLE_SEEDS", "2"))
FIRST_SEED = int(os.environ.get("MONEY_ORACLE_FIRST_SEED", "0"))
RAW_KEY = "xd_oracle01_" + "o" * 40
CAP = Decimal(str(getattr(settings, "LENDING_ANNUAL_COST_CAP", "0.24")))
# Where each world's drawdowns start: days before a month end, 29 February, a year end.
WORLD_STARTS = [
    dt.date(2026, 1, 28),
    dt.date(2028, 2, 26),
    dt.date(2026, 12, 28),
    dt.date(2027, 2, 25),
    dt.date(2026, 8, 29),
    dt.date(2026, 4, 28),
]
ORDERS = [
    ("penalty", "fee", "interest", "principal"),
    ("interest", "penalty", "fee", "principal"),
    ("fee", "interest", "principal", "penalty"),
]
FIGURES: Counter = Counter()


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen_of(text: str) -> int:
    return half_up(Decimal(text) * 100)


def random_rate(rng: random.Random) -> Decimal:
    kind = rng.random()
    if kind < 0.35:
        return rng.choice([Decimal("0.0005"), Decimal("0.0006")])
    if kind < 0.55:
        # near the cap: 23.4 % to 24.3 % a year simple
        return Decimal(rng.randrange(6410, 6660)) / Decimal(10_000_000)
    return Decimal(rng.randrange(1000, 6600)) / Decimal(10_000_000)


def random_amount(rng: random.Random) -> int:
    return min(int(10 ** rng.uniform(4.0, 8.0)) + rng.randrange(100), 100_000_000)


class World:
    """The engine's side: a partner with an API key, a funding pool, merchants and their lines."""

    def __init__(self, rng: random.Random, start: dt.date):
        self.rng = rng
        business_date_set(on=start, allow_backwards=True)
        self.pool = payments.funding_pool_create(code="main", name="Main")
        payments.funding_pool_add_capital(pool=self.pool, amount_fen=10**13, idempotency_key="capital")
        self.partner = PartnerPlatformFactory(code="oracle")
        ApiKeyFactory(partner=self.partner, raw_key=RAW_KEY)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {RAW_KEY}")
        self.sink = payments.wallet_open(merchant=MerchantFactory(partner=self.partner))
        self.keys = 0

    def key(self, prefix: str) -> str:
        self.keys += 1
        return f"{prefix}-{self.keys}"

    def post(self, path: str, body: dict, key: str):
        return self.client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


PLANS = ("good", "good", "short", "late", "late_exact", "api_partial", "early", "due_day_api", "write_off")


def products_for(rng: random.Random, index: int) -> dict:
    """One loan's product terms."""
    kinds = ["order", "credit", "fixed", "equal_principal", "revolving"]
    kind = kinds[index] if index < len(kinds) else rng.choice(kinds)
    method, unit, term = {
        "order": ("bullet", "days", rng.choice([7, 15, 30, 30, 45])),
        "credit": ("equal_installment", "months", rng.choice([1, 2, 3, 3, 6])),
        "fixed": ("monthly_interest", "months", rng.choice([1, 2, 3, 4, 6])),
        "equal_principal": ("equal_principal", "months", rng.choice([2, 3, 5, 6])),
        "revolving": ("bullet", "days", rng.choice([10, 20, 30, 60, 90])),
    }[kind]
    return {
        "kind": kind,
        "code": f"p{index}",
        "name": f"product {index}",
        "segment": Product.Segment.B2B if kind in ("fixed", "revolving") else Product.Segment.B2C,
        "is_revolving": kind == "revolving",
        "amount_min_fen": 10_000,
        "amount_max_fen": 100_000_000,
        "term": term,
        "term_unit": unit,
        "daily_rate": random_rate(rng),
        "repayment_method": method,
        "upfront_fee_rate": rng.choice([Decimal(0), Decimal(0), Decimal("0.005"), Decimal("0.0123")]),
        "penalty_markup": rng.choice([Decimal("0.5"), Decimal("0.5"), Decimal("0.3")]),
        "grace_days": rng.choice([0, 1, 3]),
        "allocation_order": list(rng.choice(ORDERS)),
    }


class Run:
    """One seeded world: the engine driven through its real paths and the oracle beside it."""

    def write_off_when_due(self, loan_id: int, loan, on: dt.date) -> bool:
        """An officer writes the loan off once it is as many days past due as its plan says, in
        the platform and in the oracle's book; True if it was written off today."""
        if loan.days_past_due < self.write_off_from[loan_id]:
            return False
        event = services.loan_write_off(
            loan=Loan.objects.get(pk=loan_id), actor="officer", reason="no contact", on=on
        )
        assert event.kind == LoanEvent.Kind.WRITTEN_OFF
        self.book.write_off(loan_id, on)
        self.written_off_on[loan_id] = on
        return True

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.start = WORLD_STARTS[seed % len(WORLD_STARTS)]
        self.world = World(self.rng, self.start)
        t = settings.LENDING_CLASSIFICATION_THRESHOLDS
        self.book = OracleBook(
            thresholds=(t["special_mention_from"], t["substandard_from"], t["doubtful_from"], t["loss_from"])
        )
        self.plans: dict[int, str] = {}
        self.write_off_from: dict[int, int] = {}
        self.lines: dict[int, int] = {}
        self.refs: dict[int, str] = {}
        self.drawdowns: list[tuple[dt.date, object, dict, int]] = []
        self.written_off_on: dict[int, dt.date] = {}
        self.refused = 0
        self.repayments = 0
        self.days = 0

    # --- the world's loans ---

    def plan_loans(self, count: int) -> None:
        plans = list(PLANS)
        self.rng.shuffle(plans)
        for index in range(count):
            spec = products_for(self.rng, index)
            kind = spec.pop("kind")
            product = ProductFactory(**spec)
            merchant = MerchantFactory(partner=self.world.partner)
            wallet = payments.wallet_open(merchant=merchant)
            line = CreditLineFactory(
                merchant=merchant, product=product, limit_fen=1_000_000_000, daily_rate=product.daily_rate
            )
            plan = plans[index % len(plans)]
            draws = 3 if kind == "revolving" else 1
            for n in range(draws):
                on = self.start + dt.timedelta(days=self.rng.randrange(0, 5) + n * self.rng.randrange(0, 12))
                self.drawdowns.append((on, line, {"plan": plan if n == 0 else "good", "wallet": wallet}, n))
        self.drawdowns.sort(key=lambda d: (d[0], d[1].pk, d[3]))

    def draw(self, on: dt.date, line, extra: dict) -> int | None:
        """Quote and draw through the API; the loan's id, or None when the quote is refused."""
        product = line.product
        amount = extra["amount"] if "amount" in extra else random_amount(self.rng)
        response = self.world.client.post(
            "/api/v1/loans/quote/", {"line_id": line.pk, "amount": yuan(amount)}, format="json"
        )
        term = product.term
        plan = schedule(product.repayment_method, amount, product.daily_rate, on, term)
        fee = half_up(Decimal(amount) * product.upfront_fee_rate)
        cost = annual_cost(product.repayment_method, term, on, amount - fee, plan)
        FIGURES["quote cost"] += 1
        if cost > CAP + Decimal("1e-9"):
            assert response.status_code == 400, (self.seed, on, product.repayment_method, cost, response.data)
            self.refused += 1
            return None
        assert response.status_code == 200, (self.seed, on, product.repayment_method, cost, response.data)
        body = response.data
        assert abs(Decimal(body["annual_cost"]) - cost) < Decimal("1e-9"), (body["annual_cost"], cost)
        assert cost <= CAP + Decimal("1e-9")
        got = [(i["due_on"], fen_of(i["principal"]), fen_of(i["interest"])) for i in body["schedule"]]
        want = [(i.due_on.isoformat(), i.principal, i.interest) for i in plan]
        assert got == want, (self.seed, product.repayment_method, on, got, want)
        assert (fen_of(body["fee"]), fen_of(body["total_interest"])) == (fee, sum(i.interest for i in plan))
        FIGURES["quote schedule"] += 2 * len(plan) + 2
        drawn = self.world.post(
            "/api/v1/loans/",
            {"line_id": line.pk, "amount": yuan(amount), "contract_sha256": body["contract_sha256"]},
            self.world.key("draw"),
        )
        assert drawn.status_code == 201, drawn.data
        loan = Loan.objects.get(reference=drawn.data["reference"])
        wallet = extra["wallet"]
        self.book.draw(
            OracleLoan(
                id=loan.pk,
                wallet=wallet.pk,
                method=product.repayment_method,
                principal=amount,
                rate=product.daily_rate,
                markup=product.penalty_markup,
                grace=product.grace_days,
                order=tuple(product.allocation_order),
                start=on,
                plan=plan,
            ),
            fee,
        )
        self.plans[loan.pk] = extra["plan"]
        self.write_off_from[loan.pk] = self.rng.randrange(25, 45)
        self.lines[loan.pk] = line.pk
        self.refs[loan.pk] = loan.reference
        if extra["plan"] != "good":
            # The merchant spends the money: what it repays comes from later sales.
            spend = self.book.wallets[wallet.pk]
            if spend:
                payments.wallet_to_wallet(
                    source=wallet,
                    target=self.world.sink,
                    amount_fen=spend,
                    idempotency_key=self.world.key("spend"),
                )
                self.book.wallets[wallet.pk] -= spend
        return loan.pk

    # --- money arriving, repayments ---

    def sales(self, wallet_id: int, amount: int) -> None:
        if amount <= 0:
            return
        wallet = Account.objects.get(pk=wallet_id)
        payments.settlement_credit(wallet=wallet, amount_fen=amount, idempotency_key=self.world.key("sales"))
        self.book.credit(wallet_id, amount)

    def api_repay(self, loan_id: int, amount: int | None, on: dt.date) -> None:
        if self.book.wallets[self.book.loans[loan_id].wallet] <= 0:
            return
        body = {} if amount is None else {"amount": yuan(amount)}
        response = self.world.post(
            f"/api/v1/loans/{self.refs[loan_id]}/repayments/", body, self.world.key("repay")
        )
        split = self.book.repay(loan_id, amount, on)
        assert response.status_code == 201, (self.seed, on, response.data)
        got = tuple(fen_of(response.data[b]) for b in ("principal", "interest", "penalty", "fee"))
        assert got == (split["principal"], split["interest"], split["penalty"], 0), (
            self.seed,
            on,
            loan_id,
            got,
            split,
        )
        FIGURES["repayment split"] += 4
        self.repayments += 1

    def before_close(self, on: dt.date) -> None:
        """What merchants do on a business date before it closes."""
        rng = self.rng
        for loan_id, loan in sorted(self.book.loans.items()):
            plan = self.plans[loan_id]
            if loan.status == "written_off":
                left = loan.written_off - loan.recovered
                if left and (on - self.written_off_on[loan_id]).days in (5, 17, 30):
                    self.sales(loan.wallet, rng.randrange(1, left + left // 2 + 2))
                continue
            if not loan.is_open:
                continue
            due_today = loan.next_due == on
            installment = loan.plan[loan.next_k - 1] if due_today else None
            if plan == "write_off":
                self.write_off_when_due(loan_id, loan, on)
                continue
            if plan == "due_day_api" and due_today:
                # The merchant pays the installment through the API on its due date, before the close.
                wanted = (
                    loan.owed_penalty
                    + loan.owed_interest
                    + max(
                        sum(i.principal for i in loan.plan[: loan.next_k])
                        - (loan.principal - loan.owed_principal),
                        0,
                    )
                )
                self.sales(loan.wallet, wanted)
                self.api_repay(loan_id, wanted, on)
                continue
            if due_today:
                expected = installment.total + loan.owed_penalty + loan.due_principal + loan.due_interest
                if plan == "short":
                    self.sales(loan.wallet, rng.randrange(0, expected))
                elif plan in ("late", "late_exact"):
                    if plan == "late" and rng.random() < 0.3:
                        self.sales(loan.wallet, expected + rng.randrange(0, 5000))
                elif plan != "good" or rng.random() < 0.7:
                    self.sales(loan.wallet, expected + rng.randrange(0, 5000))
            elif loan.oldest_unpaid is not None and rng.random() < (0.4 if plan == "late_exact" else 0.15):
                # Late, then the merchant's sales bring exactly what the close will take (or a bit less).
                wanted = sum(loan.wanted_by_close().values())
                if plan == "late_exact" or rng.random() < 0.5:
                    self.sales(loan.wallet, wanted - self.book.wallets[loan.wallet])
                elif plan != "late":
                    self.api_repay_after_sales(
                        loan_id, loan.owed_penalty + loan.owed_interest + loan.due_principal, on
                    )
            if plan == "api_partial" and rng.random() < 0.05:
                self.api_repay_after_sales(
                    loan_id, rng.randrange(1, loan.owed_principal + loan.owed_interest + 2), on
                )
            if plan == "early" and loan.next_k >= 2 and rng.random() < 0.04:
                self.api_repay_after_sales(loan_id, None, on)

    def api_repay_after_sales(self, loan_id: int, amount: int | None, on: dt.date) -> None:
        loan = self.book.loans[loan_id]
        owed = sum(loan.owed_all().values()) if amount is None else amount
        self.sales(loan.wallet, owed - self.book.wallets[loan.wallet] + self.rng.randrange(0, 300))
        self.api_repay(loan_id, amount, on)

    # --- the comparison ---

    def compare_day(self, on: dt.date) -> None:
        rows = Loan.objects.filter(pk__in=list(self.book.loans)).values(
            "pk",
            "status",
            "principal_outstanding_fen",
            "interest_outstanding_fen",
            "penalty_outstanding_fen",
            "due_principal_fen",
            "due_interest_fen",
            "days_past_due",
            "classification",
            "interest_accrued_total_fen",
            "oldest_unpaid_due_on",
            "written_off_fen",
            "recovered_fen",
        )
        for row in rows:
            loan = self.book.loans[row["pk"]]
            want = {
                "status": loan.status,
                "principal_outstanding_fen": loan.owed_principal,
                "interest_outstanding_fen": loan.owed_interest,
                "penalty_outstanding_fen": loan.owed_penalty,
                "due_principal_fen": loan.due_principal,
                "due_interest_fen": loan.due_interest,
                "interest_accrued_total_fen": loan.interest_total,
                "written_off_fen": loan.written_off,
                "recovered_fen": loan.recovered,
            }
            if loan.is_open:
                want.update(
                    days_past_due=loan.days_past_due,
                    classification=loan.classification(self.book.thresholds),
                    oldest_unpaid_due_on=loan.oldest_unpaid,
                )
            got = {name: row[name] for name in want}
            assert got == want, (
                f"seed {self.seed}, {on}, loan {row['pk']} ({loan.method}, plan {self.plans[row['pk']]}, "
                f"drawn {loan.start}): " + str({n: (got[n], want[n]) for n in want if got[n] != want[n]})
            )
            FIGURES["loan figures a day"] += len(want)
        balances = dict(
            Account.objects.filter(pk__in=list(self.book.wallets)).values_list("pk", "balance_fen")
        )
        assert balances == self.book.wallets, (self.seed, on, balances, self.book.wallets)
        FIGURES["wallet balances a day"] += len(balances)
        # A line is used by the principal its open loans still owe (revolving lines: several).
        used = Counter()
        for loan_id, line_id in self.lines.items():
            loan = self.book.loans[loan_id]
            used[line_id] += loan.owed_principal if loan.is_open else 0
        lines = dict(CreditLine.objects.filter(pk__in=list(used)).values_list("pk", "used_fen"))
        assert lines == dict(used), (self.seed, on, lines, dict(used))
        FIGURES["credit line use a day"] += len(lines)

    EVENT_KINDS = ("repaid", "auto_deducted", "written_off", "recovered")

    def compare_end(self) -> None:
        kinds = self.EVENT_KINDS
        for loan_id, loan in self.book.loans.items():
            events = [
                (e.kind, e.business_on, e.principal_fen, e.interest_fen, e.penalty_fen)
                for e in LoanEvent.objects.filter(loan_id=loan_id, kind__in=kinds).order_by("pk")
            ]
            assert events == loan.events, (self.seed, loan_id, loan.method, events, loan.events)
            FIGURES["event figures"] += 3 * len(events)
            installments = [
                (
                    i.number,
                    i.due_on,
                    i.principal_fen,
                    i.interest_fen,
                    i.paid_principal_fen,
                    i.paid_interest_fen,
                    i.paid_on,
                )
                for i in Installment.objects.filter(loan_id=loan_id).order_by("number")
            ]
            if loan.status == "written_off":
                # The write-off leaves the installments as the last payment left them.
                installments = [row[:4] for row in installments]
                want = [(i.number, i.due_on, i.principal, i.interest) for i in loan.plan]
            else:
                want = [
                    (
                        i.number,
                        i.due_on,
                        i.principal,
                        i.interest,
                        i.paid_principal,
                        i.paid_interest,
                        i.paid_on,
                    )
                    for i in loan.plan
                ]
            assert installments == want, (self.seed, loan_id, loan.method, installments, want)
            FIGURES["installment figures"] += sum(len(row) - 2 for row in installments)
        balance = {
            purpose: payments.platform_account(purpose).balance_fen
            for purpose in (
                Account.Purpose.LOANS_RECEIVABLE,
                Account.Purpose.INTEREST_RECEIVABLE,
                Account.Purpose.INTEREST_INCOME,
                Account.Purpose.PENALTY_INCOME,
                Account.Purpose.FEE_INCOME,
                Account.Purpose.WRITE_OFF_EXPENSE,
            )
        }
        want = {
            Account.Purpose.LOANS_RECEIVABLE: self.book.receivable(),
            Account.Purpose.INTEREST_RECEIVABLE: self.book.interest_receivable(),
            Account.Purpose.INTEREST_INCOME: self.book.interest_income,
            Account.Purpose.PENALTY_INCOME: self.book.penalty_income,
            Account.Purpose.FEE_INCOME: self.book.fees,
            Account.Purpose.WRITE_OFF_EXPENSE: self.book.write_off_expense(),
        }
        # Each account in its natural sign: assets, expenses and income all positive.
        assert balance == want, (balance, want)
        pool = FundingPool.objects.get(pk=self.world.pool.pk)
        assert pool.losses_fen == self.book.lost_principal
        assert pool.principal_outstanding_fen >= 0
        FIGURES["ledger accounts"] += len(want) + 1
        assert reconcile().is_clean and cob.lending_reconcile() == []

    def run(self, loans: int) -> None:
        self.plan_loans(loans)
        last_draw = max(d[0] for d in self.drawdowns)
        on = self.start
        pending = list(self.drawdowns)
        end = None
        while True:
            assert business_date_today() == on
            while pending and pending[0][0] == on:
                _, line, extra, _ = pending.pop(0)
                self.draw(on, line, extra)
            if on > last_draw and end is None:
                maturity = max((loan.plan[-1].due_on for loan in self.book.loans.values()), default=on)
                end = maturity + dt.timedelta(days=75)
            self.before_close(on)
            cob.close_through(through=on)
            self.book.close(on)
            self.days += 1
            self.compare_day(on)
            on += dt.timedelta(days=1)
            if end is not None and (
                on > end
                or not any(
                    loan.is_open or loan.written_off > loan.recovered for loan in self.book.loans.values()
                )
            ):
                break
        self.compare_end()


@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + SEEDS))
def test_every_figure_of_money_matches_the_oracle(db, seed):
    run = Run(seed)
    run.run(loans=int(os.environ.get("MONEY_ORACLE_LOANS", "12")))
    FIGURES["loans"] += len(run.book.loans)
    FIGURES["quotes refused over the cap"] += run.refused
    FIGURES["days closed"] += run.days
    FIGURES["API repayments"] += run.repayments
    FIGURES["overdue spans begun again on the same principal"] += sum(
        loan.same_base_after_gap for loan in run.book.loans.values()
    )
    print(f"\nseed {seed}: {dict(FIGURES)}")
