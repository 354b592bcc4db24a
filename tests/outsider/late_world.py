"""A book with loans at every stage of lateness, for the collections queue's nightly work and the
close of business that follows, as an outsider tries them (tests/outsider/test_collections_twice.py).

Ten-day bullet loans (and two six-month instalment loans) drawn on dates chosen so that the close
of `NEXT` moves each across a line: a loan falls one day past due (a case opens), loans cross 30,
60 and 90 days past due (their cases change bucket and strategy: SMS → phone → field visit → legal),
promises to pay fall due kept, broken or part-paid, a merchant's wallet receives money that the
close deducts (a case closes repaid, an instalment loan is cured). Every loan's money was spent by
its merchant at once. Everything is done through the services, the ageing by close of business
itself, through the day before `NEXT`.

Then the day's work on `NEXT` before its close, which the nightly queue sync for the last date
closed (`NEXT` - 1) must act on: a loan repaid in full and an instalment loan's arrears paid
through the API, a loan written off, an officer withdrawing a case of a loan still overdue, risk
control sending a current loan to collections; agents assigned, contacts logged, promises taken."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from common.business_date import business_date_today
from common.roles import COLLECTIONS_AGENT, roles_sync
from lending import cob, services
from lending import collections as collect
from lending.models import CollectionCase, Loan
from payments import services as payments
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

NEXT = DAY + dt.timedelta(days=106)  # the business date the world stands on, not yet closed
LAST_CLOSED = NEXT - dt.timedelta(days=1)

# name: (days before NEXT it is drawn, product). A ten-day loan drawn k days before NEXT is
# k - 10 days past due once NEXT is closed.
LOANS = {
    "dpd95_part_repaid": (105, "bullet"),
    "dpd91": (101, "bullet"),  # 90 → 91: M3 → M4, legal action
    "written_off_today": (100, "bullet"),
    "dpd61": (71, "bullet"),  # 60 → 61: M2 → M3, field visit
    "withdrawn_today": (50, "bullet"),
    "dpd31": (41, "bullet"),  # 30 → 31: M1 → M2, phone
    "cured_by_api": (36, "instalment"),
    "cured_by_wallet": (35, "instalment"),
    "repaid_by_api": (30, "bullet"),
    "promise_kept": (25, "bullet"),
    "promise_broken": (20, "bullet"),
    "promise_part_paid": (13, "bullet"),  # 3 days past due
    "dpd1": (11, "bullet"),  # falls past due: its case opens
    "sent_current": (5, "bullet"),
    "current": (2, "bullet"),
}


def _product(kind: str):
    if kind == "instalment":
        return ProductFactory(credit_loan=True)
    return ProductFactory(code="ten-days", term=10, is_revolving=False)


def _loan(name: str) -> Loan:
    return Loan.objects.get(idempotency_key=f"late-{name}")


def _case(name: str) -> CollectionCase:
    return CollectionCase.objects.get(loan=_loan(name), status=CollectionCase.Status.OPEN)


def _fund(loan: Loan, fen: int, key: str) -> None:
    payments.settlement_credit(wallet=loan.wallet, amount_fen=fen, idempotency_key=key)


def _agent(name: str):
    person = get_user_model().objects.create_user(username=name, password="x", is_staff=True)
    person.groups.add(Group.objects.get(name=COLLECTIONS_AGENT))
    return person


def _drawn(name: str, kind: str, sink) -> None:
    merchant = MerchantFactory(external_id=f"late-{name}", shop_name=name)
    line = CreditLineFactory(merchant=merchant, product=_product(kind), limit_fen=50_000_000)
    loan = draw(line, 1_000_000 + 10_000 * len(name), key=f"late-{name}")
    wallet = payments.wallet_open(merchant=merchant)
    payments.wallet_to_wallet(
        source=wallet, target=sink, amount_fen=wallet.balance_fen, idempotency_key=f"spent-{name}"
    )
    if name == "dpd95_part_repaid":
        _fund(loan, 300_000, "part-in")
        services.loan_repay(
            loan=loan, amount_fen=300_000, idempotency_key="part", actor="merchant", on=business_date_today()
        )


def _earlier_promises(ann, bob) -> None:
    """Promises kept and broken before, in the cases' history."""
    on = business_date_today()
    old = _case("dpd61")
    collect.case_assign(case=old, assignee=ann)
    collect.contact_log_add(
        case=old, agent=ann, channel="phone", outcome="promised", note="pays Friday", on=on
    )
    collect.promise_add(case=old, agent=ann, amount_fen=200_000, due_on=on + dt.timedelta(days=3), on=on)
    _fund(_loan("dpd61"), 200_000, "dpd61-in")
    services.loan_repay(
        loan=_loan("dpd61"), amount_fen=200_000, idempotency_key="dpd61-pays", actor="merchant", on=on
    )
    collect.promise_add(
        case=_case("dpd91"), agent=bob, amount_fen=500_000, due_on=on + dt.timedelta(days=2), on=on
    )


def _promises_due_next(ann, bob) -> None:
    """Promises falling due on NEXT, and the agents' work on their cases."""
    on = business_date_today()
    for name, agent in (("promise_kept", ann), ("promise_broken", bob), ("dpd31", bob)):
        case = _case(name)
        collect.case_assign(case=case, assignee=agent)
        collect.contact_log_add(case=case, agent=agent, channel="phone", outcome="reached", note="", on=on)
        collect.promise_add(case=case, agent=agent, amount_fen=400_000, due_on=NEXT, on=on)
    collect.contact_log_add(
        case=_case("dpd91"), agent=bob, channel="letter", outcome="no_answer", note="demand letter", on=on
    )


def _the_day_before_its_close(ann) -> None:
    """NEXT's work through the API and the workbench, before NEXT is closed."""
    on = business_date_today()
    assert on == NEXT
    part = _case("promise_part_paid")
    collect.case_assign(case=part, assignee=ann)
    collect.promise_add(case=part, agent=ann, amount_fen=600_000, due_on=NEXT + dt.timedelta(days=4), on=on)
    kept = _loan("promise_kept")
    _fund(kept, kept.total_outstanding_fen + 50_000, "kept-in")  # the close deducts it
    _fund(_loan("promise_part_paid"), 250_000, "part-paid-in")
    _fund(_loan("dpd31"), 100_000, "dpd31-in")
    cured = _loan("cured_by_wallet")
    arrears = cured.due_principal_fen + cured.due_interest_fen + cured.penalty_outstanding_fen
    assert cured.status == Loan.Status.OVERDUE and arrears > 0
    _fund(cured, arrears + 30_000, "cured-in")
    repaid = _loan("repaid_by_api")
    _fund(repaid, repaid.total_outstanding_fen, "repaid-in")
    services.loan_repay(loan=repaid, amount_fen=None, idempotency_key="repaid", actor="merchant", on=on)
    by_api = _loan("cured_by_api")
    # What fell due, with the interest the repayment pays before principal (allocation order).
    arrears = (
        by_api.due_principal_fen
        + by_api.interest_outstanding_fen
        + by_api.penalty_outstanding_fen
        + by_api.fee_outstanding_fen
    )
    _fund(by_api, arrears, "cured-api-in")
    services.loan_repay(loan=by_api, amount_fen=arrears, idempotency_key="cure", actor="merchant", on=on)
    services.loan_write_off(loan=_loan("written_off_today"), actor="officer", reason="fraud", on=on)
    collect.case_withdraw(case=_case("withdrawn_today"), on=on, actor="officer", reason="sent by mistake")
    collect.case_open(loan=_loan("sent_current"), on=on, actor="risk", reason="watch list")


def build() -> None:
    open_pool()
    roles_sync()
    ann, bob = _agent("ann"), _agent("bob")
    sink = payments.wallet_open(merchant=MerchantFactory(external_id="late-sink", shop_name="sink"))
    # (days before NEXT, what is done that day), in date order.
    timeline = [
        (before, lambda name=name, kind=kind: _drawn(name, kind, sink))
        for name, (before, kind) in LOANS.items()
    ]
    timeline += [
        (12, lambda: _earlier_promises(ann, bob)),
        (3, lambda: _promises_due_next(ann, bob)),
        (0, lambda: _the_day_before_its_close(ann)),
    ]
    for before, action in sorted(timeline, key=lambda item: -item[0]):
        if before:
            cob.close_through(through=NEXT - dt.timedelta(days=before + 1))
        else:
            cob.close_through(through=LAST_CLOSED)
        assert business_date_today() == NEXT - dt.timedelta(days=before)
        action()
