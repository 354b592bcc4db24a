"""Applying a payment to a loan has one rule, whichever way the money comes: a repayment through
the portal or the partner API (`loan_repay`) and the set-based collection that close of business
and pledged orders use (`wallet_collection.loans_collect`). Differential tests: twin loans, the
same random repayments (partial, in full, early, overdue) through each path, identical loan,
installment, line, event and status-history rows afterwards."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction

from common.business_date import business_date_today
from common.money import round_half_up
from lending import calculations as calc
from lending import cob, services
from lending.models import CreditLine, Installment, Loan, LoanEvent, LoanStatusChange, RepaymentMethod
from lending.services import wallet_collection
from payments import services as payments
from tests.lending.conftest import draw
from tests.lending.factories import CreditLineFactory, ProductFactory

OPEN = (Loan.Status.ACTIVE, Loan.Status.OVERDUE)
# (repayment method, term, unit): one of each, so spread-mode (amortising) and daily-mode loans.
KINDS = [
    (RepaymentMethod.BULLET, 45, "days"),
    (RepaymentMethod.MONTHLY_INTEREST, 3, "months"),
    (RepaymentMethod.EQUAL_PRINCIPAL, 3, "months"),
    (RepaymentMethod.EQUAL_INSTALLMENT, 3, "months"),
]
# Columns that name the loan rather than describe its state.
IDENTITY = {"id", "reference", "merchant", "line", "wallet", "idempotency_key", "updated_at"}
LOAN_FIELDS = [f.attname for f in Loan._meta.concrete_fields if f.name not in IDENTITY]


def loan_state(loan_id: int) -> dict:
    """Everything a loan's rows say about it, apart from which loan it is."""
    loan = Loan.objects.values(*LOAN_FIELDS).get(pk=loan_id)
    line = CreditLine.objects.values("used_fen", "limit_fen", "status").get(loans__pk=loan_id)
    installments = list(
        Installment.objects.filter(loan_id=loan_id)
        .order_by("number")
        .values_list(
            "number",
            "due_on",
            "principal_fen",
            "interest_fen",
            "paid_principal_fen",
            "paid_interest_fen",
            "paid_on",
        )
    )
    events = list(
        LoanEvent.objects.filter(loan_id=loan_id)
        .order_by("pk")
        .values_list("kind", "business_on", "principal_fen", "interest_fen", "penalty_fen", "fee_fen")
    )
    history = list(
        LoanStatusChange.objects.filter(loan_id=loan_id)
        .order_by("pk")
        .values_list("kind", "from_status", "to_status", "business_on", "cob_run", "reason")
    )
    return {"loan": loan, "line": line, "installments": installments, "events": events, "history": history}


def twin_loans(product, amount_fen: int, sink, tag: str) -> tuple[Loan, Loan]:
    """Two loans alike in all but their merchant; the drawn money leaves the wallets, so only
    what each test pays in is there to collect."""
    twins = []
    for side in "ab":
        line = CreditLineFactory(product=product, limit_fen=100_000_000, daily_rate=product.daily_rate)
        loan = draw(line, amount_fen, key=f"{tag}-{side}")
        payments.wallet_to_wallet(
            source=loan.wallet,
            target=sink,
            amount_fen=amount_fen - loan.fee_fen,
            idempotency_key=f"out-{tag}-{side}",
        )
        twins.append(loan)
    return twins[0], twins[1]


def pay_through_api(loan: Loan, amount_fen: int | None, key: str) -> None:
    services.loan_repay(
        loan=loan, amount_fen=amount_fen, idempotency_key=key, actor="merchant", on=business_date_today()
    )


def pay_through_collection(loan: Loan, amount_fen: int | None, key: str) -> None:
    """What the close's collection does, for one loan: lock the wallet, read what is owed,
    collect (everything owed may be taken, as a pledged order's settlement may)."""
    on = business_date_today()
    with transaction.atomic():
        available = wallet_collection.wallets_lock([loan.wallet_id])
        current = Loan.objects.get(pk=loan.pk)
        owed = services.loan_owed(current)
        total = sum(owed.values())
        wallet_collection.loans_collect(
            on=on,
            owed=[
                wallet_collection.Owed(
                    loan_id=current.pk,
                    wallet_id=current.wallet_id,
                    pool_id=current.pool_id,
                    line_id=current.line_id,
                    product_id=current.product_id,
                    reference=current.reference,
                    wanted=total if amount_fen is None else min(amount_fen, total),
                    idempotency_key=f"repay:{key}",
                    **owed,
                )
            ],
            available=available,
            kind=LoanEvent.Kind.REPAID,
            reference="repayment of",
        )


def repay_both(a: Loan, b: Loan, amount_fen: int | None, key: str) -> None:
    """Pay the same into both wallets, then the same repayment through each path."""
    a.refresh_from_db()
    owed = a.total_outstanding_fen
    paid_in = owed if amount_fen is None else amount_fen
    for loan in (a, b):
        payments.settlement_credit(
            wallet=loan.wallet, amount_fen=paid_in, idempotency_key=f"in-{key}-{loan.pk}"
        )
    pay_through_api(a, amount_fen, f"{key}-a")
    pay_through_collection(b, amount_fen, f"{key}-b")


@pytest.fixture
def sink(pool):
    return payments.wallet_open(merchant=CreditLineFactory().merchant)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(3))
def test_random_repayments_through_either_path_leave_identical_rows(seed, pool, sink):
    rng = random.Random(seed)
    pairs = []
    for number, (method, term, unit) in enumerate(KINDS):
        product = ProductFactory(
            code=f"m{number}",
            repayment_method=method,
            term=term,
            term_unit=unit,
            daily_rate=Decimal(rng.choice(["0.0003", "0.0005", "0.0006"])),
            grace_days=rng.choice([0, 3]),
            is_revolving=method == RepaymentMethod.BULLET,
        )
        pairs.append(twin_loans(product, rng.randrange(5_000_000, 60_000_000), sink, f"{seed}-{number}"))
    for day in range(rng.randint(85, 110)):
        for number, (a, b) in enumerate(pairs):
            if Loan.objects.get(pk=a.pk).status not in OPEN or rng.random() > 0.1:
                continue
            choice = rng.random()
            if choice < 0.05:
                amount = None  # everything owed
            elif choice < 0.3:
                amount = rng.randrange(1, 2_000)  # a few fen or yuan: interest or penalty only
            else:
                amount = rng.randrange(1, a.principal_fen // 5)
            repay_both(a, b, amount, f"{seed}-{day}-{number}")
            assert loan_state(a.pk) == loan_state(b.pk), (seed, day, number, amount)
        cob.close_of_business(on=business_date_today())
        for a, b in pairs:
            assert loan_state(a.pk) == loan_state(b.pk), (seed, day)
    assert cob.lending_reconcile() == []
    # The cases this is about happened: loans fell overdue and were repaid in full.
    seen = {kind for a, _ in pairs for kind, *_ in loan_state(a.pk)["history"]}
    assert {"fell_overdue", "repaid"} <= seen, seen


def test_paying_an_overdue_installment_leaves_the_periods_planned_interest_running(pool, sink):
    """An amortising loan paid late (what is due, no principal ahead): the rest of the period
    accrues the schedule's planned interest, whichever path took the money."""
    product = ProductFactory(
        code="amortising",
        repayment_method=RepaymentMethod.EQUAL_INSTALLMENT,
        term=3,
        term_unit="months",
        daily_rate=Decimal("0.0005"),
    )
    a, b = twin_loans(product, 30_000_000, sink, "late")
    first, second = Installment.objects.filter(loan=a).order_by("number")[:2]
    cob.close_through(through=first.due_on + dt.timedelta(days=4))
    a.refresh_from_db()
    assert a.status == Loan.Status.OVERDUE and a.accrual_mode == "spread"
    planned_left = a.accrual_segment_base_fen - a.accrual_segment_posted_fen
    accrued_before = a.interest_accrued_total_fen
    # All interest and penalty, and the principal that is due: nothing paid ahead.
    repay_both(a, b, a.penalty_outstanding_fen + a.interest_outstanding_fen + a.due_principal_fen, "late")
    cob.close_through(through=second.due_on - dt.timedelta(days=1))
    for loan in (a, b):
        loan.refresh_from_db()
        assert loan.status == Loan.Status.ACTIVE and loan.accrual_mode == "spread", loan.pk
        assert loan.interest_accrued_total_fen - accrued_before == planned_left, loan.pk
    assert loan_state(a.pk) == loan_state(b.pk)


def test_principal_paid_ahead_stops_earning_interest_whichever_path_took_it(pool, sink):
    """Paying half the principal of an amortising loan ahead: from that day interest is on what
    is left, not on the plan for the whole principal."""
    product = ProductFactory(
        code="amortising",
        repayment_method=RepaymentMethod.EQUAL_PRINCIPAL,
        term=3,
        term_unit="months",
        daily_rate=Decimal("0.0005"),
    )
    a, b = twin_loans(product, 30_000_000, sink, "ahead")
    first = Installment.objects.filter(loan=a).order_by("number").first()
    cob.close_through(through=a.disbursed_on + dt.timedelta(days=9))
    repay_both(a, b, 15_000_000, "ahead")
    cob.close_through(through=first.due_on - dt.timedelta(days=1))
    for loan in (a, b):
        loan.refresh_from_db()
        days_after = (first.due_on - a.disbursed_on).days - 10
        rate = calc.rate_to_ppb(Decimal("0.0005"))
        # Ten days on the whole principal (spread plan), the rest on the principal that is left.
        planned_ten = round_half_up(Decimal(first.interest_fen) * 10 / (first.due_on - a.disbursed_on).days)
        on_rest = round_half_up(Decimal(loan.principal_outstanding_fen * rate * days_after) / 10**8)
        assert loan.interest_accrued_total_fen == planned_ten + on_rest, loan.pk
    assert loan_state(a.pk) == loan_state(b.pk)
