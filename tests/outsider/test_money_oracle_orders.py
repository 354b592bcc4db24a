"""Order loans (订单贷款) against the independent oracle (tests/outsider/money_oracle.py).

A seller's shipped orders reach the platform through the partner API (`/api/v1/orders/batch/`);
the order loan is quoted and drawn through the API and pledges the oldest shipped orders that
cover it at the product's advance rate. Then, day by day, the marketplace moves pledged orders
through the API (`/api/v1/orders/<id>/status/`: delivered and settled, or refunded) and pays the
shop (`/api/v1/settlements/`, sometimes less than the orders' value: its commission), and close
of business runs. Orders settle one at a time or several the same day, before, on and after the
due date; the merchant may have spent the loan or the settlement; some are refunded; some never
settle and the loan falls overdue and takes penalty until late sales pay it. A second loan of the
same seller pledges other orders; asking to pledge an order already pledged is refused, and so
is an amount the orders do not cover.

After every close each loan's figures, every wallet and every line equal the oracle's to the fen;
at the end every event (repayments, deductions, settled and refunded pledges), every installment,
every pledge and the ledger's accounts. MONEY_ORACLE_ORDER_SEEDS (default 1) worlds from
MONEY_ORACLE_FIRST_SEED, MONEY_ORACLE_ORDER_LOANS (default 6) sellers each. The figures compared
are printed (-s)."""

import datetime as dt
import os
from collections import Counter
from decimal import Decimal

import pytest

from common.errors import ApplicationError
from lending import services
from lending.models import Loan, Pledge, Product
from payments import services as payments
from payments.models import Account
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory
from tests.outsider.money_oracle import OracleOrder, exact, half_up, pledge_choose, pledge_limit
from tests.outsider.test_money_oracle import FIGURES, ORDERS, Run, random_rate, yuan

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

    # --- the world ---

    def plan_loans(self, count: int) -> None:
        rng = self.rng
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
            self.orders[merchant.pk] = self.push_orders(merchant, rng.randrange(2, 12))
            line = CreditLineFactory(
                merchant=merchant,
                product=self.product,
                limit_fen=1_000_000_000,
                daily_rate=self.product.daily_rate,
            )
            plan = ("good", "spend", "spend", "short_orders")[index % 4]
            first = self.start + dt.timedelta(days=rng.randrange(0, 4))
            extra = {"plan": plan, "wallet": wallet, "merchant": merchant.pk}
            self.drawdowns.append((first, line, extra, 0))
            if index % 3 == 1:
                # A second loan of the same seller on its line, some days later.
                later = first + dt.timedelta(days=rng.randrange(0, 9))
                self.drawdowns.append((later, line, {**extra, "plan": "good"}, 1))
        self.drawdowns.sort(key=lambda d: (d[0], d[1].pk, d[3]))

    def push_orders(self, merchant, count: int) -> list[OracleOrder]:
        """Shipped orders through the partner API, each shipped at its own minute before the start."""
        rng, orders, body = self.rng, [], []
        for _ in range(count):
            self.order_count += 1
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

    def draw(self, on: dt.date, line, extra: dict) -> int | None:
        rng, rate = self.rng, self.product.advance_rate
        orders = self.orders[extra["merchant"]]
        limit = pledge_limit(orders, rate)
        roll = rng.random()
        if limit < 10_000 or roll < 0.12:
            # More than the free shipped orders cover: refused, naming the amount.
            amount = max(limit + rng.randrange(1, 50_000), 10_000)
        elif roll < 0.4:
            amount = limit  # exactly what they cover
        else:
            amount = rng.randrange(10_000, limit + 1)
        chosen = pledge_choose(orders, amount, rate)
        if chosen is None:
            response = self.world.client.post(
                "/api/v1/loans/quote/", {"line_id": line.pk, "amount": yuan(amount)}, format="json"
            )
            assert response.status_code == 400, (self.seed, on, amount, limit, response.data)
            assert "amount" in response.data["error"]["fields"], response.data
            ORDER_FIGURES["drawdowns refused: orders do not cover"] += 1
            return None
        loan_id = super().draw(on, line, {**extra, "amount": amount})
        if loan_id is None:
            return None
        for order in chosen:
            order.loan = loan_id
        self.book.pledges[loan_id] = list(chosen)
        got = list(
            Pledge.objects.filter(loan_id=loan_id)
            .order_by("pk")
            .values_list("order__external_id", "value_fen", "is_open")
        )
        assert got == [(o.external_id, o.value, True) for o in chosen], (self.seed, loan_id, got)
        ORDER_FIGURES["pledged orders"] += len(chosen)
        self.refuse_pledged_again(on, line, chosen)
        self.order_fates(on, extra["plan"], chosen, loan_id)
        return loan_id

    def refuse_pledged_again(self, on: dt.date, line, chosen: list[OracleOrder]) -> None:
        """An order already pledged cannot back a second loan, ticked alone or with free ones."""
        pledged = _order_pks([chosen[0].external_id])
        free = _order_pks(
            [
                o.external_id
                for o in self.orders[chosen[0].merchant]
                if o.status == "shipped" and o.loan is None
            ]
        )
        with pytest.raises(ApplicationError) as refused:
            services.loan_quote(line=line, amount_fen=10_000, start_on=on, order_ids=pledged + free)
        assert "orders" in refused.value.extra["fields"], refused.value.extra
        ORDER_FIGURES["pledges of a pledged order refused"] += 1

    def order_fates(self, on: dt.date, plan: str, chosen: list[OracleOrder], loan_id: int) -> None:
        """When each pledged order settles or is refunded (or never), from the drawdown."""
        rng = self.rng
        term = self.product.term
        due = on + dt.timedelta(days=term)
        together = rng.randrange(1, term + 20)  # a day on which several settle
        for order in chosen:
            roll = rng.random()
            if plan == "short_orders" and roll < 0.5:
                continue  # never settles: the loan falls overdue
            if roll < 0.12:
                kind, day = "refunded", on + dt.timedelta(days=rng.randrange(0, term + 10))
            elif roll < 0.3:
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
            if kind == "settled":
                self.order_status(ref, "delivered", at(on, 9, 0))
                self.order_status(ref, "settled", at(on, 10, 0))
                # The marketplace pays the shop the order, sometimes less its commission.
                commission = 0
                if rng.random() >= 0.6:
                    commission = half_up(exact(order.value, rng.choice(["0.02", "0.05"])))
                paid[order.merchant] = paid.get(order.merchant, 0) + order.value - commission
            else:
                if rng.random() < 0.5:
                    self.order_status(ref, "delivered", at(on, 9, 0))
                self.order_status(ref, "refunded", at(on, 11, 0))
            order.status = kind
            ORDER_FIGURES[f"pledged orders {kind}"] += 1
        for merchant, amount in sorted(paid.items()):
            self.settle(merchant, amount, on)
        for loan_id, loan in sorted(self.book.loans.items()):
            if not loan.is_open:
                continue
            plan = self.plans[loan_id]
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


def _order_pks(external_ids: list[str]) -> list[int]:
    from merchants.models import Order

    return list(Order.objects.filter(external_id__in=external_ids).values_list("pk", flat=True))


@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + SEEDS))
def test_every_figure_of_an_order_loan_matches_the_oracle(db, seed):
    run = OrderRun(seed)
    run.run(loans=SELLERS)
    # A world whose rate is over the cap draws nothing (each refusal checked), else it follows loans.
    assert run.book.pledges or run.refused, "no order loan was drawn"
    FIGURES["order loans"] += len(run.book.loans)
    FIGURES["order loan days closed"] += run.days
    print(f"\nseed {seed}: {dict(FIGURES)} {dict(ORDER_FIGURES)}")
