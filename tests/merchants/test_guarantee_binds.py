"""A guarantee, once given, binds its parties, its amount and its start: the workbench, like the
partner API, may only end it (until_on). A correction of who or how much is a new guarantee and
the end of the old one. Both ways leave their change in the audit log, and the roles that work
with guarantees hold the permissions they need (none may erase one)."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from common import roles
from merchants.signal_models import Guarantee
from tests.merchants.factories import MerchantFactory
from tests.security.conftest import partner_client_for

pytestmark = pytest.mark.django_db
LIST = "/admin/merchants/guarantee/"
ADD = f"{LIST}add/"


def staff(role: str) -> Client:
    user = User.objects.create_user(f"{role}-{User.objects.count()}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def given():
    partner_api = partner_client_for()
    partner = partner_api.partner
    borrower = MerchantFactory(partner=partner, external_id="BORROWER")
    guarantor = MerchantFactory(partner=partner, external_id="GUARANTOR")
    other = MerchantFactory(partner=partner, external_id="OTHER")
    guarantee = Guarantee.objects.create(
        borrower=borrower,
        guarantor=guarantor,
        amount_fen=500_000,
        since_on=timezone.localdate() - dt.timedelta(days=30),
    )
    return partner_api, guarantee, other


def body(guarantee, **changes) -> dict:
    return {
        "borrower": guarantee.borrower_id,
        "guarantor": guarantee.guarantor_id,
        "amount": "5000.00",
        "since_on": guarantee.since_on.isoformat(),
        "until_on": "",
        **changes,
    }


def test_the_workbench_ends_a_guarantee_but_never_changes_its_parties_amount_or_start(given):
    _api, guarantee, other = given
    client = staff(roles.RISK_MANAGER)
    change = f"{LIST}{guarantee.pk}/change/"
    page = client.get(change, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert {name for name, field in form.fields.items() if field.disabled} == {
        "borrower",
        "guarantor",
        "amount",
        "since_on",
    }
    until = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    # A forged form: other parties, another amount, another start, and the end.
    forged = body(
        guarantee,
        borrower=other.pk,
        guarantor=guarantee.borrower_id,
        amount="9000000",
        since_on=(guarantee.since_on - dt.timedelta(days=300)).isoformat(),
        until_on=until,
    )
    assert client.post(change, forged).status_code == 302
    bound = Guarantee.objects.get(pk=guarantee.pk)
    assert (bound.borrower_id, bound.guarantor_id, bound.amount_fen, bound.since_on) == (
        guarantee.borrower_id,
        guarantee.guarantor_id,
        500_000,
        guarantee.since_on,
    )
    assert bound.until_on.isoformat() == until
    entry = LogEntry.objects.get_for_object(bound).get(action=LogEntry.Action.UPDATE)
    assert set(entry.changes_dict) == {"until_on"}


def test_a_guarantee_is_ended_not_erased(given):
    _api, guarantee, _other = given
    client = staff(roles.ADMINISTRATOR)
    assert client.get(f"{LIST}{guarantee.pk}/delete/").status_code == 403
    assert client.post(f"{LIST}{guarantee.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Guarantee.objects.filter(pk=guarantee.pk).exists()


def test_the_api_ends_a_guarantee_in_the_audit_log_and_refuses_another_amount(given):
    api, _guarantee, _other = given
    item = {
        "id": "G-1",
        "borrower_id": "BORROWER",
        "guarantor_id": "GUARANTOR",
        "amount": "1000.00",
        "since_on": "2026-01-15",
    }
    assert api.post("/api/v1/guarantees/", {"guarantees": [item]}, format="json").status_code == 200
    made = Guarantee.objects.get(amount_fen=100_000)
    assert LogEntry.objects.get_for_object(made).filter(action=LogEntry.Action.CREATE).count() == 1
    changed = api.post("/api/v1/guarantees/", {"guarantees": [{**item, "amount": "2000.00"}]}, format="json")
    assert changed.status_code == 409, changed.content[:300]
    ended = api.post(
        "/api/v1/guarantees/", {"guarantees": [{**item, "until_on": "2026-06-30"}]}, format="json"
    )
    assert ended.status_code == 200 and ended.json()["updated"] == 1
    made.refresh_from_db()
    assert made.amount_fen == 100_000 and made.until_on == dt.date(2026, 6, 30)
    entry = LogEntry.objects.get_for_object(made).get(action=LogEntry.Action.UPDATE)
    assert set(entry.changes_dict) == {"until_on"}
    assert entry.additional_data["actor"].startswith("partner key")


def test_the_roles_that_work_with_guarantees_hold_their_permissions(given):
    _api, guarantee, _other = given
    change = f"{LIST}{guarantee.pk}/change/"
    until = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    # The risk manager enters and ends guarantees.
    risk = staff(roles.RISK_MANAGER)
    assert risk.get(LIST).status_code == 200
    assert risk.post(ADD, body(guarantee, amount="10.00")).status_code == 302
    # The loan officer records the guarantee a member gives at the interview; ending one
    # releases a guarantor, which is the risk manager's.
    officer = staff(roles.LOAN_OFFICER)
    assert officer.get(LIST).status_code == 200
    assert officer.post(ADD, body(guarantee, amount="20.00")).status_code == 302
    assert officer.post(change, body(guarantee, until_on=until)).status_code == 403
    # Collections ask the guarantor to pay: they read guarantees, nothing more.
    collections = staff(roles.COLLECTIONS_AGENT)
    assert collections.get(change).status_code == 200
    assert collections.post(ADD, body(guarantee)).status_code == 403
    assert collections.post(change, body(guarantee, until_on=until)).status_code == 403
    assert Guarantee.objects.get(pk=guarantee.pk).until_on is None
    for role in (roles.INSPECTOR, roles.FINANCE):
        assert staff(role).get(LIST).status_code == 403, role
    assert Guarantee.objects.count() == 3
