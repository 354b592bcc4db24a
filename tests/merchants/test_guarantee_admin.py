"""Officers enter and correct merchants' guarantees in the workbench, with the partner API's
checks (each problem beside its field, nothing saved), every save in the audit log, the form in
the reader's language; whoever lacks the guarantee permissions gets no page. Once given, only its
end changes (tests/merchants/test_guarantee_binds.py)."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from common import roles
from merchants.signal_models import Guarantee
from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/merchants/guarantee/add/"
LIST = "/admin/merchants/guarantee/"


def officer(*codenames: str, role: str | None = None) -> Client:
    user = User.objects.create_user(f"officer-{User.objects.count()}", is_staff=True)
    if codenames:
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="merchants", codename__in=codenames)
        )
    if role:
        user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shops():
    partner = PartnerPlatformFactory()
    return MerchantFactory(partner=partner), MerchantFactory(partner=partner), MerchantFactory()


def form_body(borrower, guarantor_shop, **changes) -> dict:
    since = timezone.localdate() - dt.timedelta(days=30)
    return {
        "borrower": borrower.pk,
        "guarantor": guarantor_shop.pk,
        "amount": "5000.50",
        "since_on": since.isoformat(),
        "until_on": "",
        **changes,
    }


def test_an_officer_with_the_permission_adds_and_changes_a_guarantee_audited(shops):
    borrower, guarantor, _elsewhere = shops
    client = officer("view_guarantee", "add_guarantee", "change_guarantee")
    made = client.post(ADD, form_body(borrower, guarantor))
    assert made.status_code == 302, made.context["adminform"].form.errors if made.context else made
    guarantee = Guarantee.objects.get()
    assert (guarantee.borrower, guarantee.guarantor, guarantee.amount_fen) == (borrower, guarantor, 500050)
    listed = client.get(LIST)
    assert listed.status_code == 200 and "5,000.50" in listed.content.decode()
    change = f"{LIST}{guarantee.pk}/change/"
    page = client.get(change)
    assert page.status_code == 200 and 'value="5000.50"' in page.content.decode()
    until = (timezone.localdate() + dt.timedelta(days=365)).isoformat()
    # The amount is fixed once given (tests/merchants/test_guarantee_binds.py): the end is set.
    changed = client.post(change, form_body(borrower, guarantor, until_on=until, amount="6000"))
    assert changed.status_code == 302
    guarantee.refresh_from_db()
    assert guarantee.until_on.isoformat() == until and guarantee.amount_fen == 500050
    entries = LogEntry.objects.get_for_object(guarantee).order_by("timestamp")
    assert [entry.action for entry in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert entries[0].additional_data["actor"].startswith("user officer-")
    assert set(entries[1].changes_dict) == {"until_on"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "1.001"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1e5"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "１００"}, "amount"),
        ({"amount": "9" * 19}, "amount"),
        ({"since_on": "2999-01-01"}, "since_on"),
        ({"since_on": "1900-01-01"}, "since_on"),
        ({"until_on": "2000-01-01"}, "until_on"),
        ({"until_on": "2099-01-01"}, "until_on"),
        ({"guarantor": "self"}, "guarantor"),
        ({"guarantor": "elsewhere"}, "guarantor"),
        ({"guarantor": "999999999"}, "guarantor"),
    ],
)
def test_a_bad_guarantee_is_refused_beside_its_field_and_nothing_is_saved(shops, changes, field):
    borrower, guarantor, elsewhere = shops
    if changes.get("guarantor") == "self":
        changes = {"guarantor": borrower.pk}
    elif changes.get("guarantor") == "elsewhere":
        changes = {"guarantor": elsewhere.pk}
    client = officer("view_guarantee", "add_guarantee")
    refused = client.post(ADD, form_body(borrower, guarantor, **changes), HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert list(errors) == [field], errors
    assert len(errors[field]) == 1, errors
    assert not Guarantee.objects.exists()


def test_the_form_speaks_the_readers_language(shops):
    borrower, _guarantor, _elsewhere = shops
    client = officer("view_guarantee", "add_guarantee")
    page = client.post(ADD, form_body(borrower, borrower, amount="0"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert "担保人" in text and "店铺不能为自己担保" in text and "必须大于零" in text
    assert "a shop cannot guarantee itself" not in text
    english = client.post(ADD, form_body(borrower, borrower), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "a shop cannot guarantee itself" in english and "店铺不能为自己担保" not in english


def test_who_may_see_and_enter_guarantees(shops):
    borrower, guarantor, _elsewhere = shops
    Guarantee.objects.create(
        borrower=borrower, guarantor=guarantor, amount_fen=100, since_on=dt.date(2025, 1, 1)
    )
    # Without a guarantee permission: no page (an inspector visits, it does not read these).
    for client in (officer(), officer(role=roles.INSPECTOR)):
        assert client.get(LIST).status_code == 403
        assert client.post(ADD, form_body(borrower, guarantor)).status_code == 403
    # Seeing is not entering.
    reader = officer("view_guarantee")
    assert reader.get(LIST).status_code == 200
    assert reader.post(ADD, form_body(borrower, guarantor)).status_code == 403
    # The administrator role (no superuser) enters them.
    administrator = officer(role=roles.ADMINISTRATOR)
    assert administrator.post(ADD, form_body(borrower, guarantor, amount="7.00")).status_code == 302
    assert Guarantee.objects.count() == 2
