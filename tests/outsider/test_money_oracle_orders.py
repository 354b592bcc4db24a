"""Order loans (订单贷款) against the independent oracle (tests/outsider/money_oracle.py).

A seller's shipped orders reach the platform through the partner API (`/api/v1/orders/batch/`);
the seller ticks some of its free shipped orders and the partner applies for an order loan
pledging them (`/api/v1/applications/quote/`, then `/api/v1/applications/` with `orders` and the
agreement's hash, as docs/api.md describes): the machine stages decide the rate and term, the
oracle checks the quote's schedule, fee and all-in cost against them and the loan is paid in the
request, pledging exactly the ticked orders. Then, day by day, the marketplace moves pledged
orders through the API (`/api/v1/orders/<id>/status/`: delivered and settled, refunded, or
disputed and later settled or refunded) and pays the shop (`/api/v1/settlements/`, sometimes
less than the orders' value: its commission), and close of business runs. Orders settle one at
a time or several the same day, before, on and after the due date; the merchant may have spent
the loan or the settlement; some are refunded; some never settle and the loan falls overdue and
takes penalty until late sales pay it; one seller's loan is written off, and its pledged orders
settled or refunded after the write-off are recovered from the wallet by close of business. A
second loan of the same seller pledges other orders; ticking an order already pledged is
declined, and so is an amount the ticked orders do not cover.

After every close each loan's figures, every wallet and every line equal the oracle's to the fen;
at the end every event (repayments, deductions, settled and refunded pledges, write-offs and
recoveries), every installment, every pledge and the ledger's accounts. MONEY_ORACLE_ORDER_SEEDS
(default 1) worlds from MONEY_ORACLE_FIRST_SEED, MONEY_ORACLE_ORDER_LOANS (default 6) sellers
each. The figures compared are printed (-s)."""

import datetime as dt
import os
from collections import Counter
from decimal import Decimal

import pytest

from lending.models import CreditLine, Loan, Pledge, Product
from payments import services as payments
from payments.models import Account
from scoring.features import FEATURES_VERSION
from scoring.models import FeatureSnapshot
from scoring.selectors import policy_get
from tests.lending.factories import ProductFactory
from tests.merchants.factories import MerchantFactory
from tests.outsider.money_oracle import (
    OracleLoan,
    OracleOrder,
    annual_cost,
    exact,
    half_up,
    pledge_choose,
    pledge_limit,
    schedule,
)
from tests.outsider.test_money_oracle import CAP, FIGURES, ORDERS, Run, fen_of, random_rate, yuan
from tests.scoring.factories import champion_create, features

SEEDS = int(os.environ.get("MONEY_ORACLE_ORDER_SEEDS", "1"))
FIRST_SEED = int(os.environ.get("MONEY_ORACLE_FIRST_SEED", "0"))
SELLERS = int(os.environ.get("MONEY_ORACLE_ORDER_LOANS", "6"))
TZ = dt.timezone(dt.timedelta(hours=8))
ORDER_FIGURES: Counter = Counter()


def at(on: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(on, dt.time(hour, minute), tzinfo=TZ).isoformat()


class OrderRun(Run):
    """One seeded world of sellers with order loans."""

    EVENT_KINDS = ("repaid", "auto_deducted", "written_off", "recovered", "pledge_settled", "pledge_refunded")

    def __init__(self, seed: int):
        super().__init__(seed)
        self.orders: dict[int, list[OracleOrder]] = {}  # by merchant id
        self.external: dict[int, str] = {}  # merchant id → the partner's id
        self.wallet_of: dict[int, int] = {}
        self.fates: dict[dt.date, list[tuple[str, OracleOrder]]] = {}
        self.late_sales: dict[int, dt.date] = {}
        self.product = None
        self.order_count = 0
        self.seq: dict[str, int] = {}  # order external id → the order it was sent in
        self.declined: Counter = Counter()

    # --- the world ---

    def plan_loans(self, count: int) -> None:
        rng = self.rng
        # The machine stages: a champion model and a policy that grades every seller.
        champion_create()
        policy = policy_get()
        policy.cutoff_grade = "E"
        policy.save()
        self.product = ProductFactory(
            code="order_loan",
            name="Order loan",
            segment=Product.Segment.B2C,
            is_revolving=False,
            is_pledged=True,
            amount_min_fen=10_000,
            amount_max_fen=100_000_000,
            term=rng.choice([30, 30, 15, 45]),
            term_unit=Product.TermUnit.DAYS,
            daily_rate=rng.choice([Decimal("0.0005"), Decimal("0.0005"), random_rate(rng)]),
            repayment_method="bullet",
            # a 30-day loan at 0.05 % a day and a 0.5 % fee costs over 24 % a year: every quote
            # refused, a world with nothing to follow
            upfront_fee_rate=rng.choice([Decimal(0), Decimal(0), Decimal("0.001")]),
            penalty_markup=rng.choice([Decimal("0.5"), Decimal("0.3")]),
            grace_days=rng.choice([0, 1, 3]),
            allocation_order=list(rng.choice(ORDERS)),
            advance_rate=rng.choice([Decimal(1), Decimal("0.8"), Decimal("0.7"), Decimal("0.6667")]),
        )
        for index in range(count):
            merchant = MerchantFactory(partner=self.world.partner)
            wallet = payments.wallet_open(merchant=merchant)
            self.external[merchant.pk] = merchant.external_id
            self.wallet_of[merchant.pk] = wallet.pk
            FeatureSnapshot.objects.create(
                merchant=merchant,
                as_of=self.start,
                version=FEATURES_VERSION,
                features=features(gmv=90_000.0, refund=0.01),
            )
            self.push_history(merchant)
            self.orders[merchant.pk] = self.push_orders(merchant, rng.randrange(2, 12))
            plan = ("good", "spend", "spend", "short_orders", "write_off")[index % 5]
            first = self.start + dt.timedelta(days=rng.randrange(0, 4))
            extra = {"plan": plan, "wallet": wallet, "merchant": merchant.pk}
            # The first application opens the seller's line (the stages decide its terms).
            self.drawdowns.append((first, merchant, extra, 0))
            if index % 3 == 1 and plan != "write_off":
                # A second loan of the same seller, applied for again some days later, and a
                # third drawn on its line straight (/api/v1/loans/: the oldest orders pledged).
                later = first + dt.timedelta(days=rng.randrange(0, 9))
                self.drawdowns.append((later, merchant, {**extra, "plan": "good"}, 1))
                later += dt.timedelta(days=rng.randrange(0, 9))
                self.drawdowns.append((later, merchant, {**extra, "plan": "good", "direct": True}, 2))
        self.drawdowns.sort(key=lambda d: (d[0], d[1].pk, d[3]))

    def push_history(self, merchant) -> None:
        """Settled sales on 30 days of the two months before the start, through the partner API:
        the lending policy asks for enough days with sales (the orders are done with, never
        pledged)."""
        body = []
        for day in range(30):
            placed = dt.datetime.combine(self.start - dt.timedelta(days=60 - 2 * day), dt.time(9), tzinfo=TZ)
            body.append(
                {
                    "id": f"H{self.seed}-{merchant.pk}-{day}",
                    "merchant_id": merchant.external_id,
                    "buyer_id": f"past-buyer-{merchant.pk}-{day}",
                    "amount": yuan(self.rng.randrange(5_000, 50_000)),
                    "status": "settled",
                    "placed_at": placed.isoformat(),
                    "paid_at": (placed + dt.timedelta(hours=1)).isoformat(),
                    "shipped_at": (placed + dt.timedelta(hours=5)).isoformat(),
                    "delivered_at": (placed + dt.timedelta(days=1)).isoformat(),
                    "settled_at": (placed + dt.timedelta(days=1, hours=2)).isoformat(),
                }
            )
        response = self.world.client.post("/api/v1/orders/batch/", {"orders": body}, format="json")
        assert response.status_code in (200, 201), response.data

    def push_orders(self, merchant, count: int) -> list[OracleOrder]:
        """Shipped orders through the partner API, each shipped at its own minute before the start."""
        rng, orders, body = self.rng, [], []
        for _ in range(count):
            self.order_count += 1
            self.seq[f"O{self.seed}-{self.order_count}"] = self.order_count
            shipped = dt.datetime.combine(
                self.start - dt.timedelta(days=rng.randrange(1, 9)), dt.time(8, 0), tzinfo=TZ
            ) + dt.timedelta(minutes=self.order_count)
            value = rng.choice([rng.randrange(1_000, 100_000), rng.randrange(100_000, 8_000_000)])
            order = OracleOrder(f"O{self.seed}-{self.order_count}", merchant.pk, value, shipped)
            orders.append(order)
            body.append(
                {
                    "id": order.external_id,
                    "merchant_id": merchant.external_id,
                    "buyer_id": f"buyer-{self.order_count}",
                    "amount": yuan(value),
                    "status": "shipped",
                    "placed_at": (shipped - dt.timedelta(days=2)).isoformat(),
                    "paid_at": (shipped - dt.timedelta(days=1)).isoformat(),
                    "shipped_at": shipped.isoformat(),
                }
            )
        response = self.world.client.post("/api/v1/orders/batch/", {"orders": body}, format="json")
        assert response.status_code in (200, 201), response.data
        return orders

    def draw(self, on: dt.date, merchant, extra: dict) -> int | None:
        if extra.get("direct"):
            return self.draw_on_line(on, merchant, extra)
        return self.apply(on, merchant, extra)

    def draw_on_line(self, on: dt.date, merchant, extra: dict) -> int | None:
        """A drawdown on the seller's line through /api/v1/loans/: the oldest free shipped orders
        that cover it are pledged (more than all of them cover is refused, naming the amount)."""
        line = CreditLine.objects.filter(merchant=merchant, product=self.product).first()
        if line is None:
            ORDER_FIGURES["drawdowns without a line (the application was declined)"] += 1
            return None
        rng, rate = self.rng, self.product.advance_rate
        orders = self.orders[merchant.pk]
        limit = min(pledge_limit(orders, rate), line.available_fen)
        if limit < 10_000 or rng.random() < 0.12:
            amount = max(pledge_limit(orders, rate) + rng.randrange(1, 50_000), 10_000)
        else:
            amount = rng.randrange(10_000, limit + 1)
        chosen = pledge_choose(orders, amount, rate)
        quoted = self.world.client.post(
            "/api/v1/loans/quote/", {"line_id": line.pk, "amount": yuan(amount)}, format="json"
        )
        if chosen is None:
            assert quoted.status_code == 400, (self.seed, on, amount, quoted.data)
            assert "amount" in quoted.data["error"]["fields"], quoted.data
            ORDER_FIGURES["drawdowns refused: the orders do not cover"] += 1
            return None
        assert quoted.status_code == 200, (self.seed, on, amount, quoted.data)
        terms = {**quoted.data, "daily_rate": str(line.daily_rate), "term": line.term or self.product.term}
        made = self.world.post(
            "/api/v1/loans/",
            {"line_id": line.pk, "amount": yuan(amount), "contract_sha256": quoted.data["contract_sha256"]},
            self.world.key("draw"),
        )
        assert made.status_code == 201, (self.seed, on, made.data)
        ORDER_FIGURES["order loans drawn on the line through the API"] += 1
        return self.follow(on, made.data["reference"], amount, terms, chosen, extra)

    def apply(self, on: dt.date, merchant, extra: dict) -> int | None:
        """The seller ticks some of its free shipped orders and applies through the API for an
        order loan they cover (or, now and then, for more than they cover: declined)."""
        rng, rate = self.rng, self.product.advance_rate
        merchant = merchant.pk
        free = [o for o in self.orders[merchant] if o.status == "shipped" and o.loan is None]
        if not free:
            ORDER_FIGURES["sellers with no free order to pledge"] += 1
            return None
        ticked = sorted(rng.sample(free, rng.randrange(1, len(free) + 1)), key=self.order_seq)
        covered = int(exact(sum(o.value for o in ticked), rate))
        roll = rng.random()
        if covered < 10_000 or roll < 0.12:
            amount = max(covered + rng.randrange(1, 50_000), 10_000)  # more than they cover
        elif roll < 0.4:
            amount = covered  # exactly what they cover
        else:
            amount = rng.randrange(10_000, covered + 1)
        body = {
            "merchant": self.external[merchant],
            "product": self.product.code,
            "amount": yuan(amount),
            "orders": [o.external_id for o in ticked],
        }
        terms = self.world.client.post("/api/v1/applications/quote/", body, format="json")
        assert terms.status_code == 200, (self.seed, on, body, terms.data)
        terms = terms.data
        if amount > covered:
            assert terms["outcome"] == "decline", (self.seed, on, amount, covered, terms)
            assert "orders_too_small" in {r["code"] for r in terms["reasons"]}, terms["reasons"]
            ORDER_FIGURES["applications declined: the ticked orders do not cover"] += 1
            return None
        if terms["outcome"] != "pass":
            # The stages' credit decision (the seller's one limit, …), not a figure of money.
            self.declined.update(r["code"] for r in terms["reasons"])
            return None
        # The quote's amount is at most the decided limit; the ticked orders still cover it.
        amount = fen_of(terms["amount"])
        made = self.world.post(
            "/api/v1/applications/",
            {**body, "amount": yuan(amount), "accepted_sha256": terms["contract_sha256"]},
            self.world.key("apply"),
        )
        assert made.status_code == 201, (self.seed, on, made.data)
        assert made.data["status"] == "disbursed", (self.seed, on, made.data)
        assert made.data["orders"] == body["orders"], made.data
        ORDER_FIGURES["order loans applied for through the API"] += 1
        return self.follow(on, made.data["loan"], amount, terms, ticked, extra)

    def follow(self, on: dt.date, reference: str, amount: int, terms: dict, pledged, extra: dict) -> int:
        """The quote checked against the oracle's schedule, fee and all-in cost at the rate and
        term the engine set; the loan and its pledges followed from now on."""
        rng = self.rng
        daily_rate, term = Decimal(terms["daily_rate"]), terms["term"]
        plan = schedule(self.product.repayment_method, amount, daily_rate, on, term)
        fee = half_up(Decimal(amount) * self.product.upfront_fee_rate)
        cost = annual_cost(self.product.repayment_method, term, on, amount - fee, plan)
        assert cost <= CAP + Decimal("1e-9"), (self.seed, on, daily_rate, term, cost, "passed over the cap")
        assert abs(Decimal(terms["annual_cost"]) - cost) < Decimal("1e-9"), (terms["annual_cost"], cost)
        got = [(i["due_on"], fen_of(i["principal"]), fen_of(i["interest"])) for i in terms["schedule"]]
        assert got == [(i.due_on.isoformat(), i.principal, i.interest) for i in plan], (self.seed, got, plan)
        assert (fen_of(terms["fee"]), fen_of(terms["total_interest"])) == (fee, sum(i.interest for i in plan))
        FIGURES["quote cost"] += 1
        FIGURES["quote schedule"] += 2 * len(plan) + 2
        loan = Loan.objects.get(reference=reference)
        assert (loan.principal_fen, loan.daily_rate) == (amount, daily_rate), (loan.pk, amount, daily_rate)
        self.book.draw(
            OracleLoan(
                id=loan.pk,
                wallet=extra["wallet"].pk,
                method=self.product.repayment_method,
                principal=amount,
                rate=daily_rate,
                markup=self.product.penalty_markup,
                grace=self.product.grace_days,
                order=tuple(self.product.allocation_order),
                start=on,
                plan=plan,
            ),
            fee,
        )
        self.plans[loan.pk] = extra["plan"]
        self.write_off_from[loan.pk] = rng.randrange(25, 45)
        self.lines[loan.pk] = loan.line_id
        self.refs[loan.pk] = loan.reference
        if extra["plan"] != "good":
            self.spend(extra["wallet"].pk)  # what it repays comes from later sales and orders
        for order in pledged:
            order.loan = loan.pk
        self.book.pledges[loan.pk] = list(pledged)
        got = list(
            Pledge.objects.filter(loan_id=loan.pk)
            .order_by("pk")
            .values_list("order__external_id", "value_fen", "is_open")
        )
        assert got == [(o.external_id, o.value, True) for o in pledged], (self.seed, loan.pk, got)
        ORDER_FIGURES["pledged orders"] += len(pledged)
        self.refuse_pledged_again(pledged)
        self.order_fates(on, extra["plan"], pledged, loan.pk, term)
        return loan.pk

    def order_seq(self, order: OracleOrder) -> int:
        return self.seq[order.external_id]

    def refuse_pledged_again(self, chosen: list[OracleOrder]) -> None:
        """An order already pledged cannot back a second loan, ticked alone or with free ones."""
        merchant = chosen[0].merchant
        free = [o.external_id for o in self.orders[merchant] if o.status == "shipped" and o.loan is None]
        response = self.world.client.post(
            "/api/v1/applications/quote/",
            {
                "merchant": self.external[merchant],
                "product": self.product.code,
                "amount": "100.00",
                "orders": [chosen[0].external_id, *free],
            },
            format="json",
        )
        assert response.status_code == 200, response.data
        assert response.data["outcome"] == "decline", response.data
        assert "orders_not_pledgeable" in {r["code"] for r in response.data["reasons"]}, response.data
        ORDER_FIGURES["pledges of a pledged order declined"] += 1

    def order_fates(self, on: dt.date, plan: str, chosen: list[OracleOrder], loan_id: int, term: int) -> None:
        """When each pledged order settles, is refunded or disputed (or never), from the drawdown."""
        rng = self.rng
        due = on + dt.timedelta(days=term)
        together = rng.randrange(1, term + 20)  # a day on which several settle
        for n, order in enumerate(chosen):
            roll = rng.random()
            if plan == "write_off":
                # Nothing comes in before the write-off (at most 45 days past due, after at most
                # 3 grace days; the seller has no other loan to pay into its wallet); orders settle,
                # are refunded or disputed after it: what they bring is recovered. The first
                # settles, the second is disputed, the others go any way or never settle.
                if roll < 0.3 and n > 1:
                    continue
                day = due + dt.timedelta(days=rng.randrange(52, 70))
                kind = ("settled", "disputed", "refunded")[n if n < 2 else rng.randrange(3)]
                if kind == "disputed":
                    day = due + dt.timedelta(days=rng.randrange(50, 56))
                self.fates.setdefault(day, []).append((kind, order))
                continue
            if plan == "short_orders" and roll < 0.5:
                continue  # never settles: the loan falls overdue
            if roll < 0.1:
                kind, day = "refunded", on + dt.timedelta(days=rng.randrange(0, term + 10))
            elif roll < 0.2:
                kind, day = "disputed", on + dt.timedelta(days=rng.randrange(0, term + 5))
            elif roll < 0.33:
                kind, day = "settled", due  # on the due date
            elif roll < 0.5:
                kind, day = "settled", on + dt.timedelta(days=together)
            elif roll < 0.65:
                kind, day = "settled", due + dt.timedelta(days=rng.randrange(1, 25))  # after maturity
            else:
                kind, day = "settled", on + dt.timedelta(days=rng.randrange(0, term))
            self.fates.setdefault(day, []).append((kind, order))
        if plan in ("spend", "short_orders"):
            self.late_sales[loan_id] = due + dt.timedelta(days=rng.randrange(5, 40))

    # --- the marketplace and the sellers, each business day ---

    def before_close(self, on: dt.date) -> None:
        rng = self.rng
        paid: dict[int, int] = {}
        for kind, order in self.fates.pop(on, []):
            ref = order.external_id
            disputed = order.status == "disputed"
            if kind == "disputed":
                # The buyer disputes it: the pledge stays until the dispute ends, either way.
                self.order_status(ref, "disputed", at(on, 8, 0))
                ending = ("settled", "settled", "refunded")[rng.randrange(3)]
                self.fates.setdefault(on + dt.timedelta(days=rng.randrange(1, 20)), []).append(
                    (ending, order)
                )
            elif kind == "settled":
                if not disputed:
                    self.order_status(ref, "delivered", at(on, 9, 0))
                self.order_status(ref, "settled", at(on, 10, 0))
                # The marketplace pays the shop the order, sometimes less its commission.
                commission = 0
                if rng.random() >= 0.6:
                    commission = half_up(exact(order.value, rng.choice(["0.02", "0.05"])))
                paid[order.merchant] = paid.get(order.merchant, 0) + order.value - commission
            else:
                if not disputed and rng.random() < 0.5:
                    self.order_status(ref, "delivered", at(on, 9, 0))
                self.order_status(ref, "refunded", at(on, 11, 0))
            order.status = kind
            loan = self.book.loans[order.loan] if order.loan is not None else None
            after = " after the write-off" if loan is not None and loan.status == "written_off" else ""
            ORDER_FIGURES[f"pledged orders {kind}{' after a dispute' if disputed else ''}{after}"] += 1
        for merchant, amount in sorted(paid.items()):
            self.settle(merchant, amount, on)
        for loan_id, loan in sorted(self.book.loans.items()):
            if not loan.is_open:
                continue
            plan = self.plans[loan_id]
            if plan == "write_off":
                if self.write_off_when_due(loan_id, loan, on):
                    ORDER_FIGURES["order loans written off"] += 1
                continue
            if plan != "good" and rng.random() < 0.05:
                # The seller spends what is in its wallet (a settlement, too, before the close).
                self.spend(loan.wallet)
            if self.late_sales.get(loan_id) == on or (plan == "good" and loan.next_due == on):
                # Sales bring what is owed (or a bit less).
                owed = sum(loan.owed_all().values())
                short = 0 if rng.random() < 0.7 else rng.randrange(0, max(owed // 3, 1))
                self.sales(loan.wallet, owed - short - self.book.wallets[loan.wallet])
                if short:
                    self.late_sales[loan_id] = on + dt.timedelta(days=rng.randrange(3, 20))

    def order_status(self, external_id: str, status: str, when: str) -> None:
        response = self.world.client.post(
            f"/api/v1/orders/{external_id}/status/", {"status": status, "at": when}, format="json"
        )
        assert response.status_code == 200, (self.seed, external_id, status, response.data)

    def settle(self, merchant: int, amount: int, on: dt.date) -> None:
        key = self.world.key("settlement")
        response = self.world.post(
            "/api/v1/settlements/",
            {
                "id": key,
                "merchant_id": self.external[merchant],
                "amount": yuan(amount),
                "settled_on": str(on),
            },
            key,
        )
        assert response.status_code == 201, (self.seed, on, response.data)
        self.book.credit(self.wallet_of[merchant], amount)

    def spend(self, wallet_id: int) -> None:
        amount = self.book.wallets[wallet_id]
        if amount <= 0:
            return
        payments.wallet_to_wallet(
            source=Account.objects.get(pk=wallet_id),
            target=self.world.sink,
            amount_fen=amount,
            idempotency_key=self.world.key("spend"),
        )
        self.book.wallets[wallet_id] -= amount

    # --- the end ---

    def compare_end(self) -> None:
        super().compare_end()
        for loan_id, pledged in self.book.pledges.items():
            got = list(
                Pledge.objects.filter(loan_id=loan_id)
                .order_by("pk")
                .values_list("order__external_id", "value_fen", "is_open", "release_reason")
            )
            want = [(o.external_id, o.value, not o.released, o.status if o.released else "") for o in pledged]
            assert got == want, (self.seed, loan_id, got, want)
            ORDER_FIGURES["pledge figures"] += 3 * len(got)
        assert Loan.objects.filter(product=self.product).count() == len(self.book.loans)


@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + SEEDS))
def test_every_figure_of_an_order_loan_matches_the_oracle(db, seed):
    run = OrderRun(seed)
    run.run(loans=SELLERS)
    # A world whose rate is over the cap draws nothing (each refusal checked), else it follows loans.
    assert run.book.pledges or run.refused, ("no order loan was drawn", dict(run.declined))
    FIGURES["order loans"] += len(run.book.loans)
    FIGURES["order loan days closed"] += run.days
    ORDER_FIGURES["fen recovered after write-offs"] += sum(loan.recovered for loan in run.book.loans.values())
    print(f"\nseed {seed}: {dict(FIGURES)} {dict(ORDER_FIGURES)} declined: {dict(run.declined)}")
