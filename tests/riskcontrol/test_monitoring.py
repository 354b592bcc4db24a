"""The nightly post-loan monitoring on a small world: each run raises the warnings its facts call
for and takes the actions of the level reached, once per business date; an officer's reversal
calls the opposite service; a restricted shop cannot draw."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from common.errors import ApplicationError, ConflictError
from lending.models import CreditLine, Loan
from merchants.models import Merchant
from merchants.webhooks.models import WebhookEvent
from riskcontrol.models import (
    MerchantRisk,
    MonitoringChunk,
    MonitoringRun,
    PartnerNotice,
    RiskAction,
    Warning,
)
from riskcontrol.monitoring import services
from scoring.models import MerchantDay
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory

ON = DAY + dt.timedelta(days=80)  # the closed business date monitored


@pytest.fixture
def pool(db):
    return open_pool()


def trade(merchant, *, first: int, last: int, per_day_fen: int, orders: int = 10, **extra):
    """MerchantDay rows for the days ON-first … ON-last (days before ON)."""
    MerchantDay.objects.bulk_create(
        MerchantDay(
            merchant=merchant,
            business_on=ON - dt.timedelta(days=back),
            placed_count=orders,
            paid_count=orders,
            paid_fen=per_day_fen,
            **extra,
        )
        for back in range(last, first + 1)
    )


def steady(merchant):
    trade(merchant, first=73, last=0, per_day_fen=100_000)


def officer():
    user = User.objects.create_user("officer", password="x")
    user.groups.add(Group.objects.get_or_create(name="loan_officer")[0])
    return user


def world(pool):
    """Five merchants, each with a line of 100,000 yuan: steady; diverting a fresh loan; sales
    down to 300 yuan a day with 10,000 yuan drawn; gone quiet; 95 days past due."""
    lines = {name: CreditLineFactory() for name in ("steady", "diverts", "cliff", "quiet", "defaulter")}
    steady(lines["steady"].merchant)
    steady(lines["defaulter"].merchant)

    loan = draw(lines["diverts"], 5_000_000, key="diverts")
    Loan.objects.filter(pk=loan.pk).update(disbursed_on=ON - dt.timedelta(days=2))
    trade(lines["diverts"].merchant, first=73, last=2, per_day_fen=100_000)
    trade(lines["diverts"].merchant, first=1, last=1, per_day_fen=100_000, wallet_out_fen=4_500_000)
    trade(lines["diverts"].merchant, first=0, last=0, per_day_fen=100_000)

    draw(lines["cliff"], 1_000_000, key="cliff")
    trade(lines["cliff"].merchant, first=73, last=14, per_day_fen=100_000)
    trade(lines["cliff"].merchant, first=13, last=0, per_day_fen=30_000, orders=3)

    trade(lines["quiet"].merchant, first=73, last=14, per_day_fen=100_000)

    bad = draw(lines["defaulter"], 2_000_000, key="defaulter")
    Loan.objects.filter(pk=bad.pk).update(status=Loan.Status.OVERDUE, days_past_due=95, max_days_past_due=95)
    return lines


def _snapshot():
    return (
        sorted(Warning.objects.values_list("merchant_id", "kind", "status", "raised_on")),
        sorted(MerchantRisk.objects.values_list("merchant_id", "level", "score", "as_of")),
        sorted(RiskAction.objects.values_list("merchant_id", "kind", "business_on")),
        sorted(CreditLine.objects.values_list("pk", "status", "limit_fen", "expires_on")),
        sorted(Merchant.objects.values_list("pk", "status")),
        PartnerNotice.objects.count(),
    )


def test_a_run_raises_the_right_warnings_levels_and_actions(pool):
    lines = world(pool)
    run = services.monitoring_run(on=ON)
    assert run.status == MonitoringRun.Status.DONE and run.summary["merchants"] == 5
    m = {name: line.merchant_id for name, line in lines.items()}
    risk = {r.merchant_id: r for r in MerchantRisk.objects.all()}
    warnings = {(w.merchant_id, w.kind) for w in Warning.objects.all()}
    actions = {(a.merchant_id, a.kind) for a in RiskAction.objects.all()}

    assert risk[m["steady"]].level == "green" and risk[m["steady"]].score == 0
    assert not any(mid == m["steady"] for mid, _ in warnings | actions)

    # 4,500 of 5,000 yuan drawn two days ago left the wallet: 90 %, a warning of 10 points: a
    # working-capital loan is spent, so alone it is recorded (green), not acted on.
    assert (m["diverts"], "fund_diversion") in warnings
    assert risk[m["diverts"]].level == "green" and risk[m["diverts"]].score == 10
    assert not {k for mid, k in actions if mid == m["diverts"]}

    # A 70 % fall: 35 + 14 = 49, orange: the unused line is cut to the 10,000 yuan drawn.
    assert (m["cliff"], "sales_cliff") in warnings and risk[m["cliff"]].level == "orange"
    assert {k for mid, k in actions if mid == m["cliff"]} == {"cut_unused_line", "watch"}
    cut = CreditLine.objects.get(pk=lines["cliff"].pk)
    assert cut.limit_fen == 1_000_000 == cut.used_fen
    assert cut.changes.filter(kind="terms changed", actor=services.ACTOR).exists()

    # No order for 14 days: quiet + cliff + trend = 100, red: line frozen, repayment demanded,
    # sent to collections; not a defaulter, so the shop trades on.
    assert {(m["quiet"], "gone_quiet"), (m["quiet"], "sales_cliff")} <= warnings
    assert risk[m["quiet"]].level == "red"
    assert {k for mid, k in actions if mid == m["quiet"]} == {
        "freeze_line",
        "demand_repayment",
        "send_to_collections",
    }
    assert CreditLine.objects.get(pk=lines["quiet"].pk).status == CreditLine.Status.FROZEN
    assert Merchant.objects.get(pk=m["quiet"]).status == Merchant.Status.ACTIVE

    # 95 days past due: a defaulter, its shop restricted and the partner told.
    assert risk[m["defaulter"]].is_defaulter and risk[m["defaulter"]].score == 100
    assert (m["defaulter"], "restrict_shop") in actions
    assert Merchant.objects.get(pk=m["defaulter"]).status == Merchant.Status.RESTRICTED
    notice = PartnerNotice.objects.get(merchant_id=m["defaulter"])
    assert notice.kind == "shop_restricted" and notice.partner_id == lines["defaulter"].merchant.partner_id
    collections = RiskAction.objects.get(merchant_id=m["defaulter"], kind="send_to_collections")
    assert collections.result["loans"][0]["days_past_due"] == 95
    assert all(w.version == run.version for w in Warning.objects.all())
    assert all(a.version == run.version for a in RiskAction.objects.all())


def test_the_same_date_twice_changes_nothing_and_a_half_done_run_resumes(pool):
    world(pool)
    run = services.monitoring_run_start(on=ON, chunk_size=2)
    assert len(run.chunk_bounds) == 3
    services.monitoring_chunk(run_id=run.pk, chunk=1)  # a crash after one chunk
    assert services.monitoring_chunk(run_id=run.pk, chunk=1) is None  # redelivered: nothing
    services.monitoring_run(on=ON)
    first = _snapshot()
    assert MonitoringChunk.objects.count() == 3
    again = services.monitoring_run(on=ON)
    assert _snapshot() == first and MonitoringRun.objects.count() == 1
    assert again.summary["merchants"] == 5


def test_the_next_day_keeps_warnings_open_once_and_repeats_no_action(pool):
    lines = world(pool)
    services.monitoring_run(on=ON)
    actions = RiskAction.objects.count()
    # The next day the quiet shop trades again; its quiet warning closes, its level falls.
    MerchantDay.objects.create(
        merchant=lines["quiet"].merchant,
        business_on=ON + dt.timedelta(days=1),
        placed_count=5,
        paid_count=5,
        paid_fen=500_000,
    )
    services.monitoring_run(on=ON + dt.timedelta(days=1))
    assert RiskAction.objects.count() == actions
    # Every level is as of the new date, the unchanged ones too.
    assert set(MerchantRisk.objects.values_list("as_of", flat=True)) == {ON + dt.timedelta(days=1)}
    assert Warning.objects.filter(status="open", kind="fund_diversion").count() == 1
    quiet = Warning.objects.get(merchant=lines["quiet"].merchant, kind="gone_quiet")
    assert quiet.status == "closed" and quiet.closed_on == ON + dt.timedelta(days=1)


def test_reversals_call_the_opposite_services(pool):
    lines = world(pool)
    services.monitoring_run(on=ON)
    user = officer()
    cut = RiskAction.objects.get(merchant=lines["cliff"].merchant, kind="cut_unused_line")
    services.risk_action_reverse(action_id=cut.pk, user=user, reason="sales are seasonal", on=ON)
    assert CreditLine.objects.get(pk=lines["cliff"].pk).limit_fen == 10_000_000

    freeze = RiskAction.objects.get(merchant=lines["quiet"].merchant, kind="freeze_line")
    services.risk_action_reverse(action_id=freeze.pk, user=user, reason="shop on holiday", on=ON)
    assert CreditLine.objects.get(pk=lines["quiet"].pk).status == CreditLine.Status.ACTIVE

    restrict = RiskAction.objects.get(merchant=lines["defaulter"].merchant, kind="restrict_shop")
    done = services.risk_action_reverse(action_id=restrict.pk, user=user, reason="paid in full", on=ON)
    assert Merchant.objects.get(pk=lines["defaulter"].merchant_id).status == Merchant.Status.ACTIVE
    assert done.reversed_by == user and done.reversed_reason == "paid in full"
    assert PartnerNotice.objects.filter(kind="shop_reinstated", merchant=lines["defaulter"].merchant).exists()
    # The partner is told by webhook, in the transaction of the reversal.
    told = WebhookEvent.objects.filter(
        partner_id=lines["defaulter"].merchant.partner_id, type__startswith="merchant."
    ).order_by("created_at")
    assert [e.type for e in told] == ["merchant.restricted", "merchant.reinstated"]
    data = told.last().data
    assert data["merchant"] == lines["defaulter"].merchant.external_id and data["status"] == "active"
    assert data["reason"].endswith("paid in full")

    with pytest.raises(ConflictError):
        services.risk_action_reverse(action_id=restrict.pk, user=user, reason="again", on=ON)
    # The reversal sticks: the next night does not restrict the shop again.
    services.monitoring_run(on=ON + dt.timedelta(days=1))
    assert Merchant.objects.get(pk=lines["defaulter"].merchant_id).status == Merchant.Status.ACTIVE


def test_a_reversal_needs_a_reason_and_an_officer(pool):
    lines = world(pool)
    services.monitoring_run(on=ON)
    action = RiskAction.objects.get(merchant=lines["quiet"].merchant, kind="freeze_line")
    with pytest.raises(ApplicationError) as refused:
        services.risk_action_reverse(action_id=action.pk, user=officer(), reason="  ", on=ON)
    assert "reason" in refused.value.extra["fields"]
    clerk = User.objects.create_user("clerk", password="x")
    with pytest.raises(ApplicationError) as refused:
        services.risk_action_reverse(action_id=action.pk, user=clerk, reason="why not", on=ON)
    assert "user" in refused.value.extra["fields"]
    assert CreditLine.objects.get(pk=lines["quiet"].pk).status == CreditLine.Status.FROZEN


def test_a_restricted_shop_cannot_draw(pool):
    lines = world(pool)
    services.monitoring_run(on=ON)
    other = CreditLineFactory(merchant=lines["defaulter"].merchant, product__code="credit_loan")
    with pytest.raises(ApplicationError, match="restricted"):
        draw(other, 100_000, key="after-restriction")


def test_an_expired_line_is_renewed_for_a_green_merchant_and_raised_after_a_clean_record(pool):
    plain = CreditLineFactory(expires_on=ON)
    steady(plain.merchant)
    clean = CreditLineFactory(expires_on=ON)
    steady(clean.merchant)
    draw(clean, 100_000, key="clean")
    services.monitoring_run(on=ON)
    plain.refresh_from_db()
    clean.refresh_from_db()
    assert plain.expires_on == ON + dt.timedelta(days=365) and plain.limit_fen == 10_000_000
    assert clean.expires_on == ON + dt.timedelta(days=365) and clean.limit_fen == 12_000_000
    raised = RiskAction.objects.get(merchant=clean.merchant, kind="raise_line")
    services.risk_action_reverse(action_id=raised.pk, user=officer(), reason="too early", on=ON)
    clean.refresh_from_db()
    assert clean.limit_fen == 10_000_000


def test_the_command_monitors_a_date_and_refuses_a_bad_one(pool, capsys):
    world(pool)
    call_command("monitor", "--on", ON.isoformat())
    assert "5 merchants" in capsys.readouterr().out
    assert MonitoringRun.objects.get().business_on == ON
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--on"):
        call_command("monitor", "--on", "yesterday")


def test_the_workbench_lists_by_level_and_an_officer_reverses_with_a_reason(pool, client):
    lines = world(pool)
    services.monitoring_run(on=ON)
    user = officer()
    user.is_staff = True
    user.save()
    client.force_login(user)
    page = client.get("/admin/riskcontrol/merchantrisk/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index(lines["defaulter"].merchant.shop_name) < body.index(lines["steady"].merchant.shop_name)
    assert client.get("/admin/riskcontrol/warning/?level=red&kind=gone_quiet").status_code == 200
    freeze = RiskAction.objects.get(merchant=lines["quiet"].merchant, kind="freeze_line")
    url = "/admin/riskcontrol/riskaction/"
    client.post(url, {"action": "reverse", "_selected_action": [freeze.pk], "reason": ""})
    assert CreditLine.objects.get(pk=lines["quiet"].pk).status == CreditLine.Status.FROZEN
    client.post(url, {"action": "reverse", "_selected_action": [freeze.pk], "reason": "called the owner"})
    assert CreditLine.objects.get(pk=lines["quiet"].pk).status == CreditLine.Status.ACTIVE
    assert RiskAction.objects.get(pk=freeze.pk).reversed_reason == "called the owner"


def test_the_merchant_sees_why_in_the_portal_until_an_officer_reverses_it(pool, client):
    lines = world(pool)
    services.monitoring_run(on=ON)
    shop = lines["defaulter"].merchant
    user = User.objects.create_user("shopkeeper", password="x")
    Merchant.objects.filter(pk=shop.pk).update(user=user)
    client.force_login(user)
    page = client.get("/risk/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="notice-restrict_shop"' in body and 'data-testid="notice-freeze_line"' in body
    # Chinese by default, the reasons read from their codes in the reader's language.
    assert "已逾期95天" in body and 'data-testid="notice-watch"' not in body
    assert "受限" in body and "Restricted" not in body and "days past due" not in body
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/risk/").content.decode()
    assert "95 days past due" in english and "Restricted" in english and "已逾期" not in english
    restrict = RiskAction.objects.get(merchant=shop, kind="restrict_shop")
    services.risk_action_reverse(action_id=restrict.pk, user=officer(), reason="paid", on=ON)
    assert 'data-testid="notice-restrict_shop"' not in client.get("/risk/").content.decode()

    calm = User.objects.create_user("calm", password="x")
    Merchant.objects.filter(pk=lines["steady"].merchant_id).update(user=calm)
    client.force_login(calm)
    assert 'data-testid="no-notice"' in client.get("/risk/").content.decode()


def test_the_nightly_task_is_scheduled_after_scoring_on_the_batch_queue_and_fans_out(pool):
    from django.conf import settings

    from config.celery import app
    from riskcontrol.tasks import monitoring_nightly

    entry = settings.CELERY_BEAT_SCHEDULE["riskcontrol-monitoring-nightly"]
    scoring = settings.CELERY_BEAT_SCHEDULE["scoring-scores-refresh"]["schedule"]
    assert entry["task"] == "riskcontrol.tasks.monitoring_nightly"
    assert min(entry["schedule"].hour) * 60 + min(entry["schedule"].minute) > (
        min(scoring.hour) * 60 + min(scoring.minute)
    )
    assert app.amqp.router.route({}, "riskcontrol.tasks.monitoring_chunk")["queue"].name == "batch"

    world(pool)
    services.monitoring_run_start(on=ON, chunk_size=2)
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        sent = monitoring_nightly.apply(kwargs={"on": ON.isoformat(), "dispatch": True}).get()
    finally:
        app.conf.task_always_eager = before
    assert sent == {"on": ON.isoformat(), "chunks_sent": 3}
    run = MonitoringRun.objects.get(business_on=ON)
    assert run.status == MonitoringRun.Status.DONE and run.summary["merchants"] == 5


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_monitoring_the_same_date_at_once_act_once():
    import threading

    from django.db import connection

    lines = world(open_pool())
    errors = []
    barrier = threading.Barrier(2)

    def work():
        try:
            barrier.wait()
            services.monitoring_run(on=ON, chunk_size=1)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert MonitoringChunk.objects.count() == 5
    assert RiskAction.objects.filter(merchant=lines["quiet"].merchant, kind="freeze_line").count() == 1
    assert RiskAction.objects.filter(kind="restrict_shop").count() == 1
    assert Warning.objects.filter(merchant=lines["quiet"].merchant).count() == 2
    assert MonitoringRun.objects.get().status == MonitoringRun.Status.DONE
