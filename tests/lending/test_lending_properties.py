"""Properties of the lending core over any sequence of operations: money in the ledger is
conserved (the books balance, loans agree with receivables), no balance goes negative, and each
loan's status history leads, by allowed steps, to the status it is in."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from lending import cob, services
from lending.models import LOAN_TRANSITIONS, Loan, LoanStatusChange
from payments import services as payments
from payments.models import Account
from payments.reconciliation import reconcile
from tests.lending.factories import CreditLineFactory, ProductFactory

# Hypothesis runs every example in the same test transaction: each starts on a fresh date range.
_examples = iter(range(10**6))

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("draw"), st.integers(0, 2), st.integers(100, 3_000_000)),
        st.tuples(st.just("repay"), st.integers(0, 2), st.integers(1, 4_000_000)),
        st.tuples(st.just("repay_all"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("income"), st.integers(0, 2), st.integers(1, 2_000_000)),
        st.tuples(st.just("spend"), st.integers(0, 2), st.integers(1, 2_000_000)),
        st.tuples(st.just("close"), st.just(0), st.integers(1, 35)),
        st.tuples(st.just("write_off"), st.integers(0, 2), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_of_lending_operations_keeps_the_books_balanced(operations):
    n = next(_examples)
    business_date_set(on=dt.date(2026, 1, 1) + dt.timedelta(days=400 * n), allow_backwards=True)
    pool = payments.funding_pool_create(code=f"p{n}", name="Pool")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**11, idempotency_key=f"cap-{n}")
    products = [
        ProductFactory(),
        ProductFactory(credit_loan=True),
        ProductFactory(
            code="fixed_loan",
            is_revolving=False,
            term=3,
            term_unit="months",
            repayment_method="monthly_interest",
            daily_rate=Decimal("0.0005"),
        ),
    ]
    lines = [CreditLineFactory(product=p, limit_fen=5_000_000, daily_rate=p.daily_rate) for p in products]
    sink = payments.wallet_open(merchant=CreditLineFactory().merchant)
    for step, (op, which, amount) in enumerate(operations):
        line = lines[which]
        wallet = payments.wallet_open(merchant=line.merchant)
        loan = Loan.objects.filter(line=line, status__in=["active", "overdue"]).order_by("pk").first()
        try:
            if op == "draw":
                quote = services.loan_quote(line=line, amount_fen=amount, start_on=business_date_today())
                services.loan_draw(
                    line=line,
                    amount_fen=amount,
                    accepted_sha256=quote.contract_sha256,
                    idempotency_key=f"d-{n}-{step}",
                    via="test",
                    on=business_date_today(),
                )
            elif op in ("repay", "repay_all") and loan is not None:
                services.loan_repay(
                    loan=loan,
                    amount_fen=amount if op == "repay" else None,
                    idempotency_key=f"r-{n}-{step}",
                    actor="test",
                    on=business_date_today(),
                )
            elif op == "income":
                payments.settlement_credit(wallet=wallet, amount_fen=amount, idempotency_key=f"i-{n}-{step}")
            elif op == "spend" and wallet.available_fen > 0:
                payments.wallet_to_wallet(
                    source=wallet,
                    target=sink,
                    amount_fen=min(amount, wallet.available_fen),
                    idempotency_key=f"s-{n}-{step}",
                )
            elif op == "close":
                cob.close_through(through=business_date_today() + dt.timedelta(days=amount - 1))
            elif op == "write_off" and loan is not None:
                services.loan_write_off(loan=loan, actor="test", reason="property", on=business_date_today())
        except (ApplicationError, payments.InsufficientFunds):
            pass  # refusals are allowed outcomes; what matters is what holds after them
        report = reconcile()
        assert report.is_clean, (step, op, report.differences)
        assert cob.lending_reconcile() == [], (step, op)
        assert not Account.objects.filter(purpose="wallet", balance_fen__lt=0).exists()
        assert not Loan.objects.filter(principal_outstanding_fen__lt=0).exists()
        assert not Loan.objects.filter(interest_outstanding_fen__lt=0).exists()
        assert_histories_lead_to_statuses(step, op)


def assert_histories_lead_to_statuses(step, op) -> None:
    """Nothing but the lifecycle writes a status: every loan's history starts at its drawdown,
    each row is an allowed step from where the previous one ended, and the last ends where the
    loan is."""
    chains: dict[int, list[tuple[str, str, str]]] = {}
    for loan_id, kind, before, after in LoanStatusChange.objects.order_by("pk").values_list(
        "loan_id", "kind", "from_status", "to_status"
    ):
        chains.setdefault(loan_id, []).append((kind, before, after))
    for loan_id, status in Loan.objects.values_list("pk", "status"):
        chain = chains.get(loan_id, [])
        assert chain and chain[0] == ("disbursed", "", "active"), (step, op, loan_id, chain)
        for (_, _, reached), (kind, before, after) in itertools.pairwise(chain):
            assert before == reached and before in LOAN_TRANSITIONS[kind].sources, (step, op, chain)
            assert after == LOAN_TRANSITIONS[kind].target, (step, op, chain)
        assert chain[-1][2] == status, (step, op, loan_id, chain, status)
