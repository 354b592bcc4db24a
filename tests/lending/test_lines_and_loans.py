"""Products within the legal cap, credit lines that never exceed their limit, drawdowns that reach
the wallet with an accepted agreement, repayments in allocation order."""

import datetime as dt
import hashlib
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation

from common.business_date import business_date_today
from common.errors import ApplicationError, ConflictError
from lending import calculations as calc
from lending import services
from lending.models import Contract, CreditLine, CreditLineChange, Installment, Loan, Product, RepaymentMethod
from payments import services as payments
from payments.models import Account, FundingPool
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory

HAN = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.django_db
def test_the_seed_products_are_within_the_cap_and_show_both_rates():
    created = services.products_create_seed()
    assert {p.code for p in created} == {"order_loan", "credit_loan", "revolving", "fixed_loan"}
    revolving = Product.objects.get(code="revolving")
    cost = services.product_annual_cost(revolving)
    assert cost.nominal_apr <= Decimal("0.24")
    assert services.products_create_seed() == []


@pytest.mark.django_db
def test_a_product_above_the_legal_cap_is_refused():
    product = ProductFactory.build(code="greedy", daily_rate=Decimal("0.0007"))
    with translation.override("en"), pytest.raises(ApplicationError, match="above the legal cap") as refused:
        services.product_save(product=product)
    assert "daily_rate" in refused.value.extra["fields"]
    assert not Product.objects.filter(code="greedy").exists()


@pytest.mark.django_db
def test_an_upfront_fee_counts_towards_the_cap():
    product = ProductFactory.build(
        code="feeful", daily_rate=Decimal("0.0006"), upfront_fee_rate=Decimal("0.02")
    )
    with pytest.raises(ApplicationError, match="法定上限"):  # Chinese by default
        services.product_save(product=product)


def test_drawdown_reaches_the_wallet_with_the_accepted_agreement_kept(pool):
    line = CreditLineFactory(limit_fen=10_000_000)
    loan = draw(line, 10_000_000)
    wallet = Account.objects.get(merchant=line.merchant)
    assert wallet.balance_fen == 10_000_000
    line.refresh_from_db()
    assert line.used_fen == 10_000_000 and line.available_fen == 0
    pool.refresh_from_db()
    assert pool.principal_outstanding_fen == 10_000_000
    contract = Contract.objects.get(loan=loan)
    assert contract.sha256 == hashlib.sha256(contract.text.encode()).hexdigest()
    assert contract.text.startswith("借款合同") and "日利率 0.06% ≈ 年化 21.90%" in contract.text
    assert Installment.objects.filter(loan=loan).count() == 1
    assert reconcile().is_clean


def test_the_same_drawdown_key_twice_lends_once(pool):
    line = CreditLineFactory()
    first = draw(line, 500_000)
    again = draw(line, 500_000)
    assert again.pk == first.pk
    assert Loan.objects.count() == 1
    with pytest.raises(ConflictError):
        draw(line, 600_000)


def test_a_drawdown_against_a_changed_agreement_is_refused_and_writes_nothing(pool):
    line = CreditLineFactory()
    quote = services.loan_quote(line=line, amount_fen=500_000, start_on=business_date_today())
    CreditLine.objects.filter(pk=line.pk).update(daily_rate=Decimal("0.0005"))
    line.refresh_from_db()
    with translation.override("en"), pytest.raises(ConflictError, match="agreement changed"):
        services.loan_draw(
            line=line,
            amount_fen=500_000,
            accepted_sha256=quote.contract_sha256,
            idempotency_key="k",
            via="test",
            on=business_date_today(),
        )
    assert not Loan.objects.exists()
    assert CreditLine.objects.get(pk=line.pk).used_fen == 0


def test_a_frozen_line_cannot_be_drawn_and_every_change_is_recorded(pool):
    line = CreditLineFactory()
    services.credit_line_freeze(line=line, actor="officer", reason="early warning", on=business_date_today())
    with pytest.raises(ApplicationError, match=str(CreditLine.Status.FROZEN.label)):  # named by its label
        draw(line, 500_000)
    services.credit_line_unfreeze(line=line, actor="officer", reason="cleared", on=business_date_today())
    draw(line, 500_000)
    kinds = list(CreditLineChange.objects.filter(line=line).order_by("id").values_list("kind", flat=True))
    assert kinds == ["frozen", "unfrozen"]
    change = CreditLineChange.objects.filter(line=line, kind="frozen").get()
    assert (change.before["status"], change.after["status"], change.actor) == ("active", "frozen", "officer")


def test_new_terms_apply_to_new_drawdowns_and_never_cut_below_what_is_drawn(pool):
    line = CreditLineFactory(limit_fen=1_000_000, daily_rate=Decimal("0.0006"), grade="C")
    first = draw(line, 800_000, key="a")
    with pytest.raises(ApplicationError, match="drawn") as caught:
        services.credit_line_change_terms(
            line=line,
            limit_fen=700_000,
            daily_rate=Decimal("0.0005"),
            grade="B",
            actor="risk",
            reason="x",
            on=business_date_today(),
        )
    assert "limit_fen" in caught.value.extra["fields"]
    assert CreditLine.objects.get(pk=line.pk).limit_fen == 1_000_000  # nothing half-written
    line = services.credit_line_change_terms(
        line=line,
        limit_fen=2_000_000,
        daily_rate=Decimal("0.0005"),
        grade="B",
        actor="risk",
        reason="re-rated",
        on=business_date_today(),
    )
    second = draw(line, 1_000_000, key="b")
    first.refresh_from_db()
    assert first.daily_rate == Decimal("0.0006") and second.daily_rate == Decimal("0.0005")
    change = CreditLineChange.objects.get(line=line, kind="terms changed")
    assert (change.before["limit_fen"], change.after["limit_fen"], change.after["grade"]) == (
        1_000_000,
        2_000_000,
        "B",
    )
    with pytest.raises(ConflictError, match="closed"):
        closed = CreditLineFactory(status=CreditLine.Status.CLOSED)
        services.credit_line_change_terms(
            line=closed,
            limit_fen=2_000_000,
            daily_rate=Decimal("0.0005"),
            grade="B",
            actor="r",
            reason="x",
            on=business_date_today(),
        )


def test_a_drawdown_beyond_the_limit_is_refused(pool):
    line = CreditLineFactory(limit_fen=1_000_000)
    draw(line, 800_000, key="a")
    with translation.override("en"), pytest.raises(ApplicationError, match="available"):
        draw(line, 200_001, key="b")
    assert Loan.objects.count() == 1


def test_early_repayment_settles_the_loan_and_restores_the_line(pool):
    line = CreditLineFactory()
    loan = draw(line, 1_000_000)
    services.loan_repay(
        loan=loan, amount_fen=None, idempotency_key="r-1", actor="merchant", on=business_date_today()
    )
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID and loan.principal_outstanding_fen == 0
    line.refresh_from_db()
    assert line.used_fen == 0
    assert Account.objects.get(merchant=line.merchant).balance_fen == 0
    assert FundingPool.objects.get().principal_outstanding_fen == 0
    assert reconcile().is_clean


def test_partial_repayment_pays_interest_before_principal(pool):
    line = CreditLineFactory()
    loan = draw(line, 1_000_000)
    Loan.objects.filter(pk=loan.pk).update(interest_outstanding_fen=6_000)
    # The interest must exist in the books too: accrue it the way close of business does.
    payments.transfer(
        debit=payments.platform_account(Account.Purpose.INTEREST_RECEIVABLE),
        credit=payments.platform_account(Account.Purpose.INTEREST_INCOME),
        amount_fen=6_000,
        idempotency_key="accrual",
        kind="accrual",
    )
    event = services.loan_repay(
        loan=loan, amount_fen=10_000, idempotency_key="r-1", actor="merchant", on=business_date_today()
    )
    assert (event.interest_fen, event.principal_fen) == (6_000, 4_000)
    loan.refresh_from_db()
    assert (loan.interest_outstanding_fen, loan.principal_outstanding_fen) == (0, 996_000)
    assert loan.accrual_segment_base_fen == 996_000 and loan.accrual_segment_posted_fen == 0
    assert reconcile().is_clean


def test_installment_loan_schedule_is_stored_as_quoted(pool):
    product = ProductFactory(credit_loan=True)
    line = CreditLineFactory(product=product)
    loan = draw(line, 10_000_000)
    installments = list(loan.installments.order_by("number"))
    assert len(installments) == 6
    assert sum(i.principal_fen for i in installments) == 10_000_000
    assert loan.repayment_method == RepaymentMethod.EQUAL_INSTALLMENT
    assert loan.next_due_on == installments[0].due_on == dt.date(2026, 4, 1)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_threads_drawing_on_one_line_never_exceed_its_limit():
    open_pool()
    line = CreditLineFactory(limit_fen=3_000_000)
    quote = services.loan_quote(line=line, amount_fen=100_000, start_on=business_date_today())
    barrier = threading.Barrier(50)
    outcomes = []

    def worker(n):
        translation.activate("en")  # each thread its own language: these checks read English
        try:
            barrier.wait()
            services.loan_draw(
                line=line,
                amount_fen=100_000,
                accepted_sha256=quote.contract_sha256,
                idempotency_key=f"t-{n}",
                via="test",
                on=business_date_today(),
            )
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 30
    assert all("available" in o for o in outcomes if o != "ok")
    line.refresh_from_db()
    assert line.used_fen == 3_000_000 == sum(Loan.objects.values_list("principal_fen", flat=True))
    assert reconcile().is_clean


def test_write_off_takes_the_loan_off_the_books_and_recoveries_come_back(pool):
    line = CreditLineFactory()
    loan = draw(line, 1_000_000)
    payments.wallet_to_wallet(
        source=loan.wallet,
        target=payments.wallet_open(merchant=CreditLineFactory().merchant),
        amount_fen=1_000_000,
        idempotency_key="gone",
    )
    services.loan_write_off(loan=loan, actor="officer", reason="shop vanished", on=business_date_today())
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF and loan.written_off_fen == 1_000_000
    pool.refresh_from_db()
    assert (pool.principal_outstanding_fen, pool.losses_fen) == (0, 1_000_000)
    capacity = pool.capacity_fen
    assert payments.platform_account(Account.Purpose.WRITE_OFF_EXPENSE).balance_fen == 1_000_000
    with pytest.raises(ConflictError):
        services.loan_write_off(loan=loan, actor="officer", reason="again", on=business_date_today())
    payments.settlement_credit(wallet=loan.wallet, amount_fen=300_000, idempotency_key="found money")
    event = services.loan_recover(
        loan=loan, amount_fen=None, idempotency_key="rec-1", actor="collector", on=business_date_today()
    )
    assert event.principal_fen == 300_000
    assert (
        services.loan_recover(
            loan=loan, amount_fen=None, idempotency_key="rec-1", actor="collector", on=business_date_today()
        ).pk
        == event.pk
    )
    loan.refresh_from_db()
    pool.refresh_from_db()
    assert loan.recovered_fen == 300_000 and pool.capacity_fen == capacity + 300_000
    assert payments.platform_account(Account.Purpose.WRITE_OFF_EXPENSE).balance_fen == 700_000
    assert reconcile().is_clean


def test_the_agreement_is_shown_in_the_borrowers_language_and_any_version_accepted_draws(pool):
    """The text a borrower hashes is in its language; the same terms accepted in the other
    language, or as the bilingual text shown before per-language agreements, still draw, and the
    loan keeps the very text accepted."""
    from lending.agreements_legacy import bilingual_agreement_text

    line = CreditLineFactory(limit_fen=10_000_000)
    on = business_date_today()
    with translation.override("en"):
        english = services.loan_quote(line=line, amount_fen=1_000_000, start_on=on)
    chinese = services.loan_quote(line=line, amount_fen=1_000_000, start_on=on)
    assert english.contract_text.startswith("Loan agreement\nBorrower: ")
    assert "0.06 %/day ≈ 21.90 %/year" in english.contract_text
    assert not HAN.search(english.contract_text.replace(line.merchant.shop_name, ""))
    assert chinese.contract_text.startswith("借款合同\n借款人：")
    assert "Loan agreement" not in chinese.contract_text
    assert english.contract_sha256 != chinese.contract_sha256
    assert chinese.accepted_text(english.contract_sha256) == english.contract_text

    bilingual = bilingual_agreement_text(
        merchant=line.merchant,
        product=line.product,
        quote=chinese,
        penalty_rate=calc.penalty_daily_rate(chinese.daily_rate, line.product.penalty_markup),
    )
    assert bilingual.startswith("借款合同 Loan agreement\nBorrower 借款人: ")
    assert "Product 产品: Revolving credit line 循环贷" in bilingual

    loans = []
    for key, text in (("en", english.contract_text), ("old", bilingual)):
        loans.append(
            services.loan_draw(
                line=line,
                amount_fen=1_000_000,
                accepted_sha256=hashlib.sha256(text.encode()).hexdigest(),
                idempotency_key=f"lang-{key}",
                via="test",
                on=on,
            )
        )
    assert [Contract.objects.get(loan=loan).text for loan in loans] == [english.contract_text, bilingual]
    with translation.override("en"), pytest.raises(ConflictError, match="agreement changed"):
        services.loan_draw(
            line=line,
            amount_fen=1_000_000,
            accepted_sha256=hashlib.sha256(b"another text").hexdigest(),
            idempotency_key="lang-none",
            via="test",
            on=on,
        )
