"""The credit assembly line through its services: the instant path decided and paid in one
request, declines with reasons and a date to apply again, one appeal, the B2B path through the
video check, field inspection and four-eyes approval, and the decision record replayed."""

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import override_settings
from django.utils import translation

from common.business_date import business_date_set
from common.errors import ApplicationError, ConflictError
from lending.models import Application, ApplicationStage, CreditLine, Loan, Product
from lending.pipeline import stage_replay
from lending.services import applications as apps
from lending.services import loan_draw, loan_quote
from payments import services as payments
from scoring.models import MerchantScore
from scoring.selectors import policy_get
from tests.conftest import requires_postgres
from tests.lending.factories import ProductFactory
from tests.scoring.factories import champion_create, products, rated_merchant


@pytest.fixture(autouse=True)
def english():
    """The services' refusals are read here in English, the language the partner API speaks
    (outside a request the default language, zh-Hans, is active)."""
    with translation.override("en"):
        yield


TODAY = dt.date(2026, 3, 1)
STRONG = {"gmv": 90_000.0, "refund": 0.01}


@pytest.fixture
def world(db):
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    return pool


def officer(name: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    group, _ = Group.objects.get_or_create(name="loan_officer")
    user.groups.add(group)
    return user


def instant(merchant, code="credit_loan", amount_fen=200_000, **kwargs):
    product = Product.objects.get(code=code)
    terms = apps.application_terms(
        merchant=merchant, product=product, amount_fen=amount_fen, on=TODAY, **kwargs
    )
    return terms, apps.application_submit(
        merchant=merchant,
        product=product,
        amount_fen=amount_fen,
        channel=Application.Channel.PORTAL,
        on=TODAY,
        actor="seller",
        accepted_sha256=terms.quote.contract_sha256 if terms.quote else "",
        pledged_order_ids=kwargs.get("order_ids"),
    )


DECLARED = {
    "fiscal_year": 2025,
    "sales_fen": 500_000_000,
    "net_profit_margin": "0.08",
    "total_assets_fen": 300_000_000,
    "total_liabilities_fen": 100_000_000,
    "platform_sales_share": "0.5",
}


def all_answers():
    from merchants.questionnaire import QUESTIONS

    return {q.code: 4 for q in QUESTIONS}


def b2b_application(merchant, code="revolving", amount_fen=10_000_000):
    return apps.application_submit(
        merchant=merchant,
        product=Product.objects.get(code=code),
        amount_fen=amount_fen,
        channel=Application.Channel.PORTAL,
        on=TODAY,
        actor="member",
        declared=DECLARED,
        questionnaire=all_answers(),
    )


def waiting(application) -> ApplicationStage:
    return application.stages.get(status=ApplicationStage.Status.WAITING)


def test_an_instant_credit_loan_is_decided_and_paid_in_one_request(world):
    merchant = rated_merchant(**STRONG)
    terms, application = instant(merchant)

    assert terms.outcome == "pass" and terms.quote is not None
    assert application.status == Application.Status.DISBURSED
    loan = Loan.objects.get(pk=application.loan_id)
    assert loan.principal_fen == 200_000 and loan.merchant == merchant
    assert loan.contract.sha256 == terms.quote.contract_sha256
    stages = list(application.stages.order_by("position"))
    assert [s.name for s in stages] == [
        "lending.stages.eligibility",
        "riskcontrol.stages.identity",
        "riskcontrol.stages.blacklist",
        "riskcontrol.stages.velocity",
        "riskcontrol.stages.antifraud",
        "riskcontrol.stages.policy",
        "scoring.stages.rate",
        "lending.stages.record",
        "lending.stages.exposure",
        "riskcontrol.stages.group_exposure",
        "lending.stages.auto_decide",
    ]
    for row in stages:
        assert row.status == ApplicationStage.Status.PASSED
        assert row.started_at <= row.ended_at and row.version
        # The decision record replays: the rule over the recorded facts gives the same verdict.
        assert stage_replay(row).outcome == "pass"
    assert stages[6].version.startswith("rating-360:m-test-01")
    assert [c.kind for c in application.changes.order_by("pk")] == ["submitted", "approved", "disbursed"]


def test_a_merchant_below_the_cutoff_is_told_why_and_when_to_apply_again(world):
    merchant = rated_merchant(gmv=2_000.0, refund=0.4)
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    product = Product.objects.get(code="credit_loan")
    application = apps.application_submit(
        merchant=merchant, product=product, amount_fen=200_000, channel="portal", on=TODAY, actor="seller"
    )
    assert MerchantScore.objects.get(merchant=merchant).grade != "A"
    assert application.status == Application.Status.DECLINED
    assert application.reasons and application.reasons[0]["code"] == "grade_below_cutoff"
    assert application.reapply_on == TODAY + dt.timedelta(days=30)
    with pytest.raises(ApplicationError, match="again from"):
        apps.application_submit(
            merchant=merchant, product=product, amount_fen=200_000, channel="portal", on=TODAY, actor="seller"
        )
    # One appeal, re-decided with the rules in force now (the cut-off lowered meanwhile).
    policy.cutoff_grade = "E"
    policy.save()
    appeal = apps.application_appeal(application=application, reason="sales are up", on=TODAY, actor="seller")
    assert appeal.appeal_of == application
    # Re-decided under today's cut-off: the grade no longer declines it (its small sales may).
    assert "grade_below_cutoff" not in {r["code"] for r in appeal.reasons}
    assert appeal.stages.get(name="scoring.stages.rate").detail["facts"]["cutoff_grade"] == "E"
    with pytest.raises(ConflictError):
        apps.application_appeal(application=application, reason="again", on=TODAY, actor="seller")


def test_an_appeal_is_final(world):
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    declined = apps.application_submit(
        merchant=merchant, product=product, amount_fen=10**12, channel="portal", on=TODAY, actor="seller"
    )
    assert declined.status == Application.Status.DECLINED
    assert declined.reasons[0]["code"] == "amount_out_of_range"
    # A decline the merchant can fix at once lets it apply the same day.
    assert declined.reapply_on == TODAY
    appeal = apps.application_appeal(application=declined, reason="please", on=TODAY, actor="seller")
    assert appeal.status == Application.Status.DECLINED
    with pytest.raises(ApplicationError, match="final"):
        apps.application_appeal(application=appeal, reason="again", on=TODAY, actor="seller")


def test_the_same_idempotency_key_gives_the_same_application(world):
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    first = apps.application_submit(
        merchant=merchant, product=product, amount_fen=200_000, channel="api", on=TODAY, idempotency_key="k1"
    )
    again = apps.application_submit(
        merchant=merchant, product=product, amount_fen=200_000, channel="api", on=TODAY, idempotency_key="k1"
    )
    assert again.pk == first.pk
    with pytest.raises(ConflictError):
        apps.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=300_000,
            channel="api",
            on=TODAY,
            idempotency_key="k1",
        )


def test_b2b_money_waits_for_the_video_check_and_four_eyes(world):
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_application(member)
    assert application.status == Application.Status.REFERRED, application.reasons
    case = waiting(application)
    assert case.queue == "video_check" and case.due_at > case.started_at
    checklist = application.stages.get(name="lending.stages.declared_check").detail["checklist"]
    assert {item["code"] for item in checklist} == {"sales", "margin", "debts"}
    assert not CreditLine.objects.filter(merchant=member).exists()

    first, second = officer("o1"), officer("o2")
    apps.application_stage_claim(stage=case, user=first)
    with pytest.raises(ConflictError, match="another officer"):
        apps.application_stage_claim(stage=case, user=second)
    with pytest.raises(ConflictError, match="claim"):
        apps.application_stage_decide(stage=case, user=second, outcome="pass", note="ok", on=TODAY)
    application = apps.application_stage_decide(
        stage=case, user=first, outcome="pass", note="sales confirmed", on=TODAY, recording_ref="rec-1"
    )
    assert application.status == Application.Status.REFERRED
    approval = waiting(application)
    assert approval.queue == "officer_approval"

    with override_settings(LENDING_SECOND_APPROVAL_FROM_FEN=1):
        apps.application_stage_claim(stage=approval, user=first)
        application = apps.application_stage_decide(
            stage=approval, user=first, outcome="pass", note="ok", on=TODAY
        )
        assert application.status == Application.Status.REFERRED
        with pytest.raises(ConflictError, match="second officer"):
            apps.application_stage_claim(stage=approval, user=first)
        apps.application_stage_claim(stage=approval, user=second)
        application = apps.application_stage_decide(
            stage=approval, user=second, outcome="pass", note="ok", on=TODAY
        )
    assert application.status == Application.Status.APPROVED
    line = application.line
    assert line is not None and line.video_checked_at is not None
    quote = loan_quote(line=line, amount_fen=1_000_000, start_on=TODAY)
    loan = loan_draw(
        line=line,
        amount_fen=1_000_000,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="m1",
        via="t",
        on=TODAY,
    )
    assert loan.principal_fen == 1_000_000


def test_a_b2b_line_without_a_passed_video_check_lends_nothing(world):
    member = rated_merchant(kind="b2b", **STRONG)
    product = Product.objects.get(code="revolving")
    line = CreditLine.objects.create(
        merchant=member,
        product=product,
        limit_fen=10_000_000,
        daily_rate=product.daily_rate,
        opened_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=365),
    )
    quote = loan_quote(line=line, amount_fen=1_000_000, start_on=TODAY)
    with pytest.raises(ApplicationError, match="video check") as refused:
        loan_draw(
            line=line,
            amount_fen=1_000_000,
            accepted_sha256=quote.contract_sha256,
            idempotency_key="x",
            via="api",
            on=TODAY,
        )
    assert refused.value.extra["fields"]["line"]
    assert not Loan.objects.exists()


def test_a_field_inspection_goes_to_the_assigned_inspector(world):
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_application(member, code="fixed_loan")
    video = officer("o1")
    inspector = User.objects.create_user("insp", password="x", is_staff=True)
    inspector.groups.add(Group.objects.get_or_create(name="inspector")[0])
    case = waiting(application)
    apps.application_stage_claim(stage=case, user=video)
    application = apps.application_stage_decide(
        stage=case, user=video, outcome="inspect", note="visit", on=TODAY
    )
    visit_case = waiting(application)
    assert visit_case.queue == "field_inspection"
    apps.application_stage_claim(stage=visit_case, user=video)
    inspection = apps.inspection_assign(stage=visit_case, inspector=inspector, assigned_by=video)
    with pytest.raises(Exception, match="no such visit"):
        apps.inspection_record(
            inspection=inspection, user=video, passed_visit=True, findings="x", visited_on=TODAY, on=TODAY
        )
    application = apps.inspection_record(
        inspection=inspection,
        user=inspector,
        passed_visit=False,
        findings="no warehouse",
        visited_on=TODAY,
        on=TODAY,
    )
    assert application.status == Application.Status.DECLINED
    assert application.reasons[0]["text"] == "no warehouse"


def test_one_limit_per_merchant_across_products(world):
    merchant = rated_merchant(**STRONG)
    _, first = instant(merchant, amount_fen=200_000)
    line = first.line
    other = CreditLine.objects.create(
        merchant=merchant,
        product=ProductFactory(credit_loan=True, code="credit_loan_b", amount_min_fen=10_000),
        limit_fen=line.limit_fen,
        daily_rate=line.daily_rate,
        opened_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=30),
    )
    # Two lines of the same size do not give twice the exposure.
    headroom = line.limit_fen - 200_000
    assert headroom > 0
    with pytest.raises(ApplicationError, match="one limit"):
        apps_draw(other, headroom + 100)


def apps_draw(line, amount_fen):
    quote = loan_quote(line=line, amount_fen=amount_fen, start_on=TODAY)
    return loan_draw(
        line=line,
        amount_fen=amount_fen,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="e",
        via="t",
        on=TODAY,
    )


def test_bad_declared_figures_are_named(world):
    member = rated_merchant(kind="b2b", **STRONG)
    with pytest.raises(ApplicationError) as refused:
        apps.application_submit(
            merchant=member,
            product=Product.objects.get(code="revolving"),
            amount_fen=10_000_000,
            channel="portal",
            on=TODAY,
            declared={**DECLARED, "platform_sales_share": "1.5", "sales_fen": "NaN"},
            questionnaire=all_answers(),
        )
    fields = refused.value.extra["fields"]
    assert "declared.platform_sales_share" in fields and "declared.sales_fen" in fields
    assert not Application.objects.exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_approving_at_once_give_one_approval():
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_application(member)
    first, second = officer("o1"), officer("o2")
    case = waiting(application)
    apps.application_stage_claim(stage=case, user=first)
    apps.application_stage_decide(stage=case, user=first, outcome="pass", note="ok", on=TODAY)
    approval = waiting(Application.objects.get(pk=application.pk))
    results = []
    barrier = threading.Barrier(2)

    def approve(user):
        try:
            barrier.wait()
            apps.application_stage_claim(stage=approval, user=user)
            apps.application_stage_decide(stage=approval, user=user, outcome="pass", note="ok", on=TODAY)
            results.append("ok")
        except (ConflictError, ApplicationError) as exc:
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ConflictError", "ok"]
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert CreditLine.objects.filter(merchant=member).count() == 1
    assert application.changes.filter(kind="approved").count() == 1


def test_applying_takes_up_the_pre_approved_offer(world):
    from scoring.models import Offer
    from scoring.services import offers_issue, scores_refresh_all

    merchant = rated_merchant(**STRONG)
    policy = policy_get()
    policy.acceptance_rate_target = 1
    policy.save()
    scores_refresh_all(as_of=TODAY)
    offers_issue(as_of=TODAY)
    offer = Offer.objects.get(merchant=merchant, product__code="credit_loan")

    _, application = instant(merchant, amount_fen=200_000)

    assert application.status == Application.Status.DISBURSED
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED and offer.credit_line_id == application.line_id
    rated = application.stages.get(name="scoring.stages.rate")
    assert rated.detail["facts"]["offer_id"] == offer.pk


def test_the_stage_rows_are_written_as_bulk_create_writes_them(world):
    """lending.pipeline writes the stage rows with common.sql.rows_insert: each row, read back,
    equals the same instance written by the ORM's bulk_create (JSON facts, times, versions), and
    the instances in hand carry their keys as bulk_create leaves them."""
    from common.sql import rows_insert

    _, application = instant(rated_merchant(**STRONG))
    recorded = list(application.stages.order_by("position"))
    assert len(recorded) == 11

    def copies():
        return [
            ApplicationStage(
                **{
                    f.attname: getattr(row, f.attname)
                    for f in ApplicationStage._meta.concrete_fields
                    if not f.primary_key
                }
            )
            for row in recorded
        ]

    def read(rows):
        found = ApplicationStage.objects.filter(pk__in=[r.pk for r in rows]).order_by("position")
        return [{k: v for k, v in row.items() if k != "id"} for row in found.values()]

    before = read(recorded)
    written, built = copies(), copies()
    ApplicationStage.objects.filter(application=application).delete()
    rows_insert(ApplicationStage, written)
    assert all(row.pk is not None and not row._state.adding for row in written)
    assert [r.pk for r in written] == sorted(r.pk for r in written)
    by_rows_insert = read(written)
    ApplicationStage.objects.filter(application=application).delete()
    ApplicationStage.objects.bulk_create(built)
    assert by_rows_insert == read(built) == before
