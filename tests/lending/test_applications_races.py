"""The credit assembly line under races, retries and crashes: two requests at once give one
application, one appeal, one booking, one line and one loan, and the merchant's one limit holds
across its lines; a crash half-way leaves nothing half-recorded and a rerun finishes the work.
The races run on PostgreSQL with real threads (row locks and partial unique indexes do not exist
on SQLite); the crash and withdrawal rules run everywhere."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.utils import translation

from common.business_date import business_date_set
from common.errors import ApplicationError, ConflictError
from lending import pipeline
from lending.models import Application, ApplicationStage, CreditLine, Loan, Product, VideoInterview
from lending.services import applications as apps
from lending.services.lines import credit_line_draw, credit_line_freeze, credit_line_open
from payments import services as payments
from payments.models import FundingPool
from scoring.selectors import policy_get
from tests.conftest import requires_postgres
from tests.scoring.factories import champion_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)
STRONG = {"gmv": 90_000.0, "refund": 0.01}
DECLARED = {
    "fiscal_year": 2025,
    "sales_fen": 500_000_000,
    "net_profit_margin": "0.08",
    "total_assets_fen": 300_000_000,
    "total_liabilities_fen": 100_000_000,
    "platform_sales_share": "0.5",
}


def _world():
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    return pool


@pytest.fixture
def world(db):
    return _world()


@pytest.fixture
def pg_world(transactional_db):
    return _world()


def at_once(*calls):
    """Run the calls in threads released together; each result is its value or its exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def officer(name: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="loan_officer")[0])
    return user


def answers():
    from merchants.questionnaire import QUESTIONS

    return {q.code: 4 for q in QUESTIONS}


def b2b_submit(member, code="fixed_loan", amount_fen=10_000_000, **kwargs):
    return apps.application_submit(
        merchant=member,
        product=Product.objects.get(code=code),
        amount_fen=amount_fen,
        channel=Application.Channel.PORTAL,
        on=TODAY,
        actor="member",
        declared=DECLARED,
        questionnaire=answers(),
        **kwargs,
    )


def waiting(application) -> ApplicationStage:
    return ApplicationStage.objects.get(application_id=application.pk, status=ApplicationStage.Status.WAITING)


def pass_case(application, user):
    case = waiting(application)
    apps.application_stage_claim(stage=case, user=user)
    return apps.application_stage_decide(stage=case, user=user, outcome="pass", note="ok", on=TODAY)


def no_server_errors(results):
    for result in results:
        assert not isinstance(result, Exception) or isinstance(result, ApplicationError), repr(result)


def pool_balance() -> int:
    return FundingPool.objects.select_related("funds_account").get(code="main").funds_account.balance_fen


# --- Races on PostgreSQL ----------------------------------------------------------------------


@requires_postgres
def test_the_same_application_sent_twice_at_once_with_one_key_is_one_application(pg_world):
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")

    def submit():
        return apps.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=200_000,
            channel="api",
            on=TODAY,
            idempotency_key="k",
        )

    results = at_once(submit, submit)
    no_server_errors(results)
    assert Application.objects.count() == 1
    assert Loan.objects.count() <= 1
    got = [r for r in results if isinstance(r, Application)]
    assert got and {r.pk for r in got} == {Application.objects.get().pk}


@requires_postgres
def test_the_same_application_sent_twice_at_once_without_a_key_is_one_application(pg_world):
    member = rated_merchant(kind="b2b", **STRONG)
    results = at_once(lambda: b2b_submit(member), lambda: b2b_submit(member))
    no_server_errors(results)
    assert Application.objects.count() == 1
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(refused) == 1 and isinstance(refused[0], ConflictError)
    assert "product" in refused[0].extra["fields"]


def _two_lines(limit_fen=1_000_000):
    merchant = rated_merchant(**STRONG)
    lines = [
        credit_line_open(
            merchant=merchant,
            product=Product.objects.get(code=code),
            limit_fen=limit_fen,
            daily_rate=Decimal("0.0005"),
            grade="B",
            actor="test",
            reason="test",
            on=TODAY,
        )
        for code in ("credit_loan", "order_loan")
    ]
    return merchant, lines


@requires_postgres
def test_two_drawdowns_at_once_on_two_lines_stay_within_the_one_limit(pg_world):
    merchant, lines = _two_lines(limit_fen=1_000_000)

    def draw(line):
        def call():
            with transaction.atomic():
                credit_line_draw(line=line, amount_fen=600_000, on=TODAY)
            return "drawn"

        return call

    results = at_once(draw(lines[0]), draw(lines[1]))
    no_server_errors(results)
    assert results.count("drawn") == 1
    refused = next(r for r in results if isinstance(r, ApplicationError))
    assert "amount" in refused.extra["fields"]
    used = sum(CreditLine.objects.filter(merchant=merchant).values_list("used_fen", flat=True))
    assert used == 600_000


@requires_postgres
def test_the_last_interview_seat_booked_twice_at_once_is_one_booking(pg_world, settings):
    settings.LENDING_VIDEO_SLOTS = {**settings.LENDING_VIDEO_SLOTS, "seats": 1}
    first = b2b_submit(rated_merchant(kind="b2b", **STRONG))
    second = b2b_submit(rated_merchant(kind="b2b", **STRONG))
    slot = apps.interview_slots(on=TODAY)[0]["starts_at"]
    results = at_once(
        lambda: apps.interview_book(application=first, starts_at=slot, on=TODAY),
        lambda: apps.interview_book(application=second, starts_at=slot, on=TODAY),
    )
    no_server_errors(results)
    assert VideoInterview.objects.filter(starts_at=slot, outcome=VideoInterview.Outcome.BOOKED).count() == 1
    refused = next(r for r in results if isinstance(r, ApplicationError))
    assert "starts_at" in refused.extra["fields"]


@requires_postgres
def test_an_appeal_sent_twice_at_once_is_one_appeal(pg_world):
    merchant = rated_merchant(**STRONG)
    declined = apps.application_submit(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        amount_fen=10**12,
        channel="portal",
        on=TODAY,
    )
    assert declined.status == Application.Status.DECLINED

    def appeal():
        return apps.application_appeal(application=declined, reason="please", on=TODAY, actor="seller")

    results = at_once(appeal, appeal)
    no_server_errors(results)
    assert Application.objects.filter(appeal_of=declined).count() == 1
    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(refused) == 1 and "application" in refused[0].extra["fields"]


@requires_postgres
def test_the_payout_task_delivered_twice_at_once_pays_once(pg_world, settings, monkeypatch):
    from lending import tasks

    settings.LENDING_INSTANT_PAYOUT = "async"
    monkeypatch.setattr(tasks.application_fulfil, "delay", lambda *args, **kwargs: None)
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    terms = apps.application_terms(merchant=merchant, product=product, amount_fen=200_000, on=TODAY)
    application = apps.application_submit(
        merchant=merchant,
        product=product,
        amount_fen=200_000,
        channel="portal",
        on=TODAY,
        accepted_sha256=terms.quote.contract_sha256,
    )
    assert application.status == Application.Status.APPROVED and application.line_id is None
    before = pool_balance()

    def fulfil():
        return apps.application_fulfil(application_id=application.pk, on=TODAY)

    results = at_once(fulfil, fulfil)
    no_server_errors(results)
    application.refresh_from_db()
    assert application.status == Application.Status.DISBURSED
    assert CreditLine.objects.filter(merchant=merchant).count() == 1
    assert Loan.objects.filter(merchant=merchant).count() == 1
    assert before - pool_balance() == Loan.objects.get().principal_fen
    assert FundingPool.objects.get(code="main").principal_outstanding_fen == Loan.objects.get().principal_fen


def _at_last_approval(member):
    application = b2b_submit(member)
    pass_case(application, officer("video"))
    application.refresh_from_db()
    assert waiting(application).queue == "officer_approval"
    return application


@requires_postgres
def test_an_officer_deciding_while_the_member_withdraws_leaves_one_consistent_outcome(pg_world):
    member = rated_merchant(kind="b2b", **STRONG)
    application = _at_last_approval(member)
    approver = officer("approver")
    case = waiting(application)
    apps.application_stage_claim(stage=case, user=approver)

    results = at_once(
        lambda: apps.application_stage_decide(stage=case, user=approver, outcome="pass", note="ok", on=TODAY),
        lambda: apps.application_withdraw(application=application, actor="member", on=TODAY),
    )
    no_server_errors(results)
    application.refresh_from_db()
    lines = CreditLine.objects.filter(merchant=member).exclude(status=CreditLine.Status.CLOSED)
    if application.status == Application.Status.WITHDRAWN:
        assert not lines.exists() and application.line_id is None
        assert not ApplicationStage.objects.filter(
            application=application, status=ApplicationStage.Status.WAITING
        ).exists()
    else:
        assert application.status == Application.Status.APPROVED
        assert lines.count() == 1 and application.line_id == lines.get().pk
        assert any(isinstance(r, ConflictError) for r in results)


# --- Withdrawal, crashes and reruns (every database) -------------------------------------------


def test_an_approved_application_whose_line_is_open_is_not_withdrawn(world):
    member = rated_merchant(kind="b2b", **STRONG)
    application = _at_last_approval(member)
    application = pass_case(application, officer("approver"))
    assert application.status == Application.Status.APPROVED and application.line_id
    with pytest.raises(ConflictError) as refused:
        apps.application_withdraw(application=application, actor="member", on=TODAY)
    assert "application" in refused.value.extra["fields"]
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED


def test_a_decided_application_is_not_withdrawn(world):
    merchant = rated_merchant(**STRONG)
    declined = apps.application_submit(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        amount_fen=10**12,
        channel="portal",
        on=TODAY,
    )
    with pytest.raises(ConflictError):
        apps.application_withdraw(application=declined, actor="seller", on=TODAY)


def test_a_crash_between_the_line_and_the_loan_is_finished_by_a_rerun(world, settings, monkeypatch):
    settings.LENDING_INSTANT_PAYOUT = "async"
    from lending import tasks

    monkeypatch.setattr(tasks.application_fulfil, "delay", lambda *args, **kwargs: None)
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    terms = apps.application_terms(merchant=merchant, product=product, amount_fen=200_000, on=TODAY)
    application = apps.application_submit(
        merchant=merchant,
        product=product,
        amount_fen=200_000,
        channel="portal",
        on=TODAY,
        accepted_sha256=terms.quote.contract_sha256,
    )
    real_draw = apps.application_draw

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(apps, "application_draw", crash)
    with pytest.raises(RuntimeError):
        apps.application_fulfil(application_id=application.pk, on=TODAY)
    application.refresh_from_db()
    assert application.line_id is not None and application.loan_id is None

    monkeypatch.setattr(apps, "application_draw", real_draw)
    apps.application_fulfil(application_id=application.pk, on=TODAY)
    apps.application_fulfil(application_id=application.pk, on=TODAY)
    application.refresh_from_db()
    assert application.status == Application.Status.DISBURSED
    assert CreditLine.objects.filter(merchant=merchant).count() == 1
    assert Loan.objects.filter(merchant=merchant).count() == 1


def test_a_crash_half_way_through_the_stages_records_nothing_and_a_rerun_completes(world, monkeypatch):
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    exposure = pipeline.stage_load("lending.stages.exposure")

    def crash(facts):
        raise RuntimeError("database went away")

    monkeypatch.setattr(exposure, "decide", crash)
    with pytest.raises(RuntimeError):
        apps.application_submit(
            merchant=merchant, product=product, amount_fen=200_000, channel="api", on=TODAY
        )
    application = Application.objects.get()
    assert application.status == Application.Status.SUBMITTED
    assert not application.stages.exists()
    assert list(application.changes.values_list("kind", flat=True)) == ["submitted"]

    monkeypatch.undo()
    application = pipeline.pipeline_run(application_id=application.pk, on=TODAY, actor="rerun")
    assert application.status == Application.Status.APPROVED
    assert application.stages.count() == len(pipeline.pipeline_of(product))
    assert list(application.changes.order_by("pk").values_list("kind", flat=True)) == [
        "submitted",
        "approved",
    ]


def test_the_same_request_retried_after_a_crash_half_way_completes_it(world, monkeypatch):
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    terms = apps.application_terms(merchant=merchant, product=product, amount_fen=200_000, on=TODAY)

    def submit():
        return apps.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=200_000,
            channel="api",
            on=TODAY,
            idempotency_key="retry-me",
            accepted_sha256=terms.quote.contract_sha256,
        )

    exposure = pipeline.stage_load("lending.stages.exposure")
    monkeypatch.setattr(exposure, "decide", lambda facts: (_ for _ in ()).throw(RuntimeError("gone")))
    with pytest.raises(RuntimeError):
        submit()
    monkeypatch.undo()
    application = submit()
    assert application.status == Application.Status.DISBURSED
    assert Application.objects.count() == 1 and Loan.objects.count() == 1


def test_a_crash_after_an_officer_passes_the_case_leaves_the_case_undecided(world, monkeypatch):
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_submit(member)
    video = officer("video")
    case = waiting(application)
    apps.application_stage_claim(stage=case, user=video)
    declared_check = pipeline.stage_load("lending.stages.field_inspection")

    def crash(facts):
        raise RuntimeError("database went away")

    monkeypatch.setattr(declared_check, "decide", crash)
    with pytest.raises(RuntimeError):
        apps.application_stage_decide(stage=case, user=video, outcome="pass", note="ok", on=TODAY)
    application.refresh_from_db()
    case.refresh_from_db()
    # The pass and the stages after it are one step: the case still waits in the officer's hands.
    assert application.status == Application.Status.REFERRED
    assert case.status == ApplicationStage.Status.WAITING and case.assignee == video
    monkeypatch.undo()
    application = apps.application_stage_decide(stage=case, user=video, outcome="pass", note="ok", on=TODAY)
    assert waiting(application).queue == "officer_approval"


def _line(merchant, code, limit_fen):
    return credit_line_open(
        merchant=merchant,
        product=Product.objects.get(code=code),
        limit_fen=limit_fen,
        daily_rate=Decimal("0.0005"),
        grade="B",
        actor="test",
        reason="test",
        on=TODAY,
    )


def test_a_frozen_lines_limit_does_not_count_toward_the_one_limit(world):
    merchant = rated_merchant(**STRONG)
    frozen = _line(merchant, "revolving", 50_000_000)
    first, second = _line(merchant, "credit_loan", 1_000_000), _line(merchant, "order_loan", 1_000_000)
    credit_line_freeze(line=frozen, actor="officer", reason="fraud check", on=TODAY)
    with transaction.atomic():
        credit_line_draw(line=first, amount_fen=800_000, on=TODAY)
    with translation.override("en"), pytest.raises(ApplicationError) as refused, transaction.atomic():
        credit_line_draw(line=second, amount_fen=800_000, on=TODAY)
    assert "amount" in refused.value.extra["fields"]
    assert "one limit of 10,000.00" in refused.value.message
    with transaction.atomic():
        credit_line_draw(line=second, amount_fen=200_000, on=TODAY)


def test_the_exposure_stage_does_not_count_a_frozen_lines_limit(world):
    merchant = rated_merchant(**STRONG)
    frozen = _line(merchant, "revolving", 50_000_000)
    drawn = _line(merchant, "credit_loan", 1_000_000)
    with transaction.atomic():
        credit_line_draw(line=drawn, amount_fen=1_000_000, on=TODAY)
    credit_line_freeze(line=frozen, actor="officer", reason="fraud check", on=TODAY)
    exposure = pipeline.stage_load("lending.stages.exposure")
    application = Application(
        merchant=merchant,
        product=Product.objects.get(code="order_loan"),
        amount_fen=100_000,
        decided_limit_fen=1_000_000,
    )
    verdict = exposure.decide(exposure.facts(application, on=TODAY))
    assert verdict.outcome == "decline" and verdict.reasons[0].code == "exposure_full"


def test_new_terms_for_an_existing_line_are_within_the_legal_cap(world, settings, monkeypatch):
    from lending import tasks

    settings.LENDING_INSTANT_PAYOUT = "async"
    monkeypatch.setattr(tasks.application_fulfil, "delay", lambda *args, **kwargs: None)
    merchant = rated_merchant(**STRONG)
    line = _line(merchant, "credit_loan", 1_000_000)
    application = apps.application_submit(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        amount_fen=200_000,
        channel="portal",
        on=TODAY,
    )
    assert application.status == Application.Status.APPROVED
    # A rate above the legal cap (as a mis-set rating could decide): the line keeps its terms.
    Application.objects.filter(pk=application.pk).update(decided_rate=Decimal("0.01"))
    with pytest.raises(ApplicationError) as refused:
        apps.application_fulfil(application_id=application.pk, on=TODAY)
    assert "daily_rate" in refused.value.extra["fields"]
    line.refresh_from_db()
    assert line.daily_rate == Decimal("0.0005")
    assert Application.objects.get(pk=application.pk).line_id is None


def test_an_interview_is_not_booked_for_an_application_withdrawn_meanwhile(world):
    application = b2b_submit(rated_merchant(kind="b2b", **STRONG))
    slot = apps.interview_slots(on=TODAY)[0]["starts_at"]
    stale = Application.objects.get(pk=application.pk)
    apps.application_withdraw(application=application, actor="member", on=TODAY)
    with pytest.raises(ApplicationError) as refused:
        apps.interview_book(application=stale, starts_at=slot, on=TODAY)
    assert "application" in refused.value.extra["fields"]
    assert not VideoInterview.objects.filter(outcome=VideoInterview.Outcome.BOOKED).exists()
