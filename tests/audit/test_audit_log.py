"""Every change to loans, lines, wallets, funding pools, API keys, owners and merchants leaves an
audit row naming the actor (a person, a partner's key, a task), the request id, and the changed
fields before and after, personal data masked; the workbench shows it read-only."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client

from common import request_id
from lending import services as lending
from lending.models import CobRun, CreditLine, Loan
from merchants.models import ApiKey, Merchant, Owner
from payments.models import Account, FundingPool
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, OwnerFactory, PartnerPlatformFactory
from tests.merchants.test_partner_api import merchant_payload

pytestmark = pytest.mark.django_db


def entries(obj) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk)
        ).order_by("timestamp", "pk")
    )


@pytest.fixture
def pool():
    return open_pool()


@pytest.fixture
def officer():
    user = get_user_model().objects.create_superuser(username="officer.li", password="x")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_a_partner_pushing_a_merchant_is_recorded_with_its_key_and_request_id(partner_client):
    response = partner_client.post(
        "/api/v1/merchants/", merchant_payload(), format="json", HTTP_X_REQUEST_ID="req-partner-0001"
    )
    assert response.status_code == 201 and response["X-Request-ID"] == "req-partner-0001"
    merchant = Merchant.objects.get(external_id="SHOP-1")
    for obj in (merchant, merchant.owner):
        [created] = entries(obj)
        assert created.action == LogEntry.Action.CREATE
        assert created.cid == "req-partner-0001"
        assert created.actor is None and created.additional_data["actor"].startswith(
            "partner key xd_testkey1_"
        )
    owner_changes = entries(merchant.owner)[0].changes_dict
    assert owner_changes["name"][1] == "王*" and owner_changes["phone"][1] == "138****1111"
    assert "文一西路" not in str(owner_changes) and "national_id_index" not in owner_changes


def test_a_request_without_a_sane_id_gets_a_fresh_one(partner_client):
    response = partner_client.get("/api/v1/merchants/", HTTP_X_REQUEST_ID="bad id\n")
    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"] != "bad id\n"


def test_an_officer_revoking_a_key_in_the_workbench_is_recorded(officer):
    key = ApiKeyFactory()
    response = officer.post("/admin/merchants/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    [_, revoked] = entries(key)
    assert revoked.action == LogEntry.Action.UPDATE and revoked.actor == officer.user
    assert revoked.additional_data["actor"] == "user officer.li" and revoked.cid == response["X-Request-ID"]
    assert revoked.changes_dict["revoked_at"][0] == "None"
    # Using the key is bookkeeping, not a change to audit.
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=key.created_at)
    assert len(entries(key)) == 2


def test_a_conditional_update_of_a_line_is_recorded_with_before_and_after(officer, pool):
    line = CreditLineFactory()
    officer.post(
        "/admin/lending/creditline/", {"action": "freeze", "_selected_action": [line.pk], "reason": "x"}
    )
    status = [e for e in entries(line) if "status" in e.changes_dict]
    assert status[-1].changes_dict["status"] == ["active", "frozen"]
    assert status[-1].additional_data["actor"] == "user officer.li"


def test_a_drawdown_records_the_loan_the_line_and_the_wallet(pool):
    line = CreditLineFactory(limit_fen=10_000_000)
    with request_id.context(actor_label="command test", request_id="req-draw-000001"):
        loan = draw(line, 2_000_000)
        lending.credit_line_freeze(line=line, actor="risk", reason="review", on=loan.disbursed_on)
    loan = Loan.objects.get(pk=loan.pk)
    [created] = entries(loan)
    assert created.action == LogEntry.Action.CREATE and created.changes_dict["principal_fen"][1] == "2000000"
    assert "events" not in created.changes_dict
    used = [e for e in entries(line) if e.action == LogEntry.Action.UPDATE and "used_fen" in e.changes_dict]
    assert used and used[-1].changes_dict["used_fen"] == ["0", "2000000"]
    wallet = Account.objects.get(merchant=line.merchant)
    assert entries(wallet)[0].action == LogEntry.Action.CREATE
    # The ledger moves balances by SQL and writes the wallet's audit row in the same statement.
    [moved] = [e for e in entries(wallet) if e.action == LogEntry.Action.UPDATE]
    assert moved.changes_dict["balance_fen"] == ["0", "2000000"]
    assert (
        moved.additional_data["reason"].startswith("disbursement: journal entr")
        and moved.cid == "req-draw-000001"
    )
    assert moved.additional_data["actor"] == "command test"
    pool_rows = entries(FundingPool.objects.get(pk=pool.pk))
    assert any("principal_outstanding_fen" in e.changes_dict for e in pool_rows)
    for entry in [created, *used, *pool_rows[-1:]]:
        assert (entry.cid, entry.additional_data["actor"]) == ("req-draw-000001", "command test")


def test_bulk_writes_leave_one_row_per_changed_object():
    partner = PartnerPlatformFactory()
    owners = Owner.objects.bulk_create(
        [
            Owner(
                partner=partner,
                name="李雷",
                national_id=f"33010619900101{n:04d}",
                phone="13800000000",
                address="宁波",
            )
            for n in range(3)
        ]
    )
    assert all(len(entries(o)) == 1 for o in owners)
    merchants = [MerchantFactory(), MerchantFactory(), MerchantFactory(status=Merchant.Status.CLOSED)]
    changed = Merchant.objects.filter(pk__in=[m.pk for m in merchants]).update(status=Merchant.Status.CLOSED)
    assert changed == 3
    updates = LogEntry.objects.filter(action=LogEntry.Action.UPDATE, content_type__model="merchant")
    assert sorted(int(e.object_pk) for e in updates) == sorted(m.pk for m in merchants[:2])


def test_an_owner_change_is_audited_masked_and_nothing_clear_reaches_the_audit_table():
    owner = OwnerFactory(name="张三", phone="13812345678")
    owner.phone = "13987654321"
    owner.save()
    change = entries(owner)[-1]
    assert change.changes_dict["phone"] == ["138****5678", "139****4321"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes_text, changes, object_repr FROM auditlog_logentry")
        dump = str(cursor.fetchall())
    assert "13812345678" not in dump and "13987654321" not in dump and "张三" not in dump


def test_a_celery_task_is_recorded_as_the_task_with_its_own_request_id(pool):
    from lending import tasks

    result = tasks.cob_close_start.apply(args=[DAY.isoformat()])
    run = CobRun.objects.get(business_on=DAY)
    [created, *_] = entries(run)
    assert created.additional_data["actor"] == "task lending.tasks.cob_close_start"
    assert created.cid == result.id


# --- the workbench ------------------------------------------------------------------------------


def test_the_audit_log_is_read_only_and_filtered_by_object(officer, pool):
    line, other = CreditLineFactory(), CreditLineFactory()
    for target in (line, other):
        lending.credit_line_freeze(line=target, actor="risk", reason="review", on=DAY)
    history = officer.get(f"/admin/lending/creditline/{line.pk}/history/")
    assert history.status_code == 302 and f"object=lending.creditline:{line.pk}" in history["Location"]
    page = officer.get(history["Location"])
    assert page.status_code == 200
    shown = list(page.context["cl"].result_list)
    assert shown and {e.object_pk for e in shown} == {str(line.pk)}
    entry = shown[0]
    assert officer.get(f"/admin/auditlog/logentry/{entry.pk}/change/").status_code == 200
    assert officer.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert officer.get("/admin/auditlog/logentry/add/").status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    for url in (
        f"/admin/lending/creditline/{line.pk}/change/",
        f"/admin/merchants/merchant/{line.merchant.pk}/change/",
    ):
        assert "object=" in officer.get(url).content.decode()


def test_the_loan_page_links_to_its_history(officer, pool):
    loan = draw(CreditLineFactory(), 1_000_000)
    page = officer.get(f"/admin/lending/loan/{loan.pk}/change/").content.decode()
    assert f"object=lending.loan:{loan.pk}" in page
    assert CreditLine.objects.count() == 1


def test_a_refused_or_replayed_entry_leaves_no_wallet_audit_row(pool):
    from payments import services as payments

    merchant = MerchantFactory()
    wallet = payments.wallet_open(merchant=merchant)
    clearing = payments.platform_account("settlement_clearing")
    for _ in range(2):  # the second is a replay of the first: no second movement, no second row
        payments.transfer(debit=clearing, credit=wallet, amount_fen=500, idempotency_key="once")
    rows = [e for e in entries(wallet) if e.action == LogEntry.Action.UPDATE]
    assert [e.changes_dict["balance_fen"] for e in rows] == [["0", "500"]]
