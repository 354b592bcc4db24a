"""A write-off from the workbench is a four-eyes request: one officer asks, the loan stays as it
is, a second officer approves on the request's page and only then is the loan written off."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from common.models import ApprovalRequest
from lending.models import Loan
from tests.lending.conftest import draw
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import MerchantFactory


@pytest.fixture(autouse=True)
def in_english(settings):
    """The workbench answers in Chinese first; these checks read its English wording."""
    settings.LANGUAGE_CODE = "en"


Status = ApprovalRequest.Status


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def superofficer(name: str):
    return get_user_model().objects.create_superuser(username=name, password="x")


@pytest.fixture
def loan(pool):
    line = CreditLineFactory(merchant=MerchantFactory(), limit_fen=10_000_000)
    return draw(line, 2_000_000)


def ask_write_off(client, loan, reason="shop vanished"):
    return client.post(
        "/admin/lending/loan/",
        {"action": "write_off", "_selected_action": [loan.pk], "reason": reason},
        follow=True,
    )


def decide(client, request, decision, note=""):
    url = f"/admin/common/approvalrequest/{request.pk}/decide/"
    return client.post(url, {"decision": decision, "note": note}, follow=True)


def test_officer_asks_second_officer_approves_and_the_loan_is_written_off(loan):
    alice, bob = superofficer("alice"), superofficer("bob")
    page = ask_write_off(login(alice), loan)
    assert page.status_code == 200
    assert "second officer" in page.content.decode()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE  # nothing happens on asking
    request = ApprovalRequest.objects.get(action="loan.write_off")
    assert request.target == f"lending.Loan:{loan.pk}" and request.status == Status.PENDING
    assert request.amount_fen == loan.total_outstanding_fen and request.requested_by == alice

    detail = login(bob).get(f"/admin/common/approvalrequest/{request.pk}/change/").content.decode()
    assert ">Approve</button>" in detail and f"lending.Loan:{loan.pk}" in detail and "shop vanished" in detail
    decide(login(bob), request, "approve", note="confirmed with collections")

    loan.refresh_from_db()
    request.refresh_from_db()
    assert request.status == Status.APPROVED and request.decided_by == bob
    assert loan.status == Loan.Status.WRITTEN_OFF
    event = loan.events.get(kind="written_off")
    assert event.note == "shop vanished" and event.actor == "alice / bob"


def test_the_requester_sees_no_approve_button_and_cannot_approve(loan):
    alice = superofficer("alice")
    ask_write_off(login(alice), loan)
    request = ApprovalRequest.objects.get()
    detail = login(alice).get(f"/admin/common/approvalrequest/{request.pk}/change/").content.decode()
    assert ">Approve</button>" not in detail and ">Cancel request</button>" in detail
    page = decide(login(alice), request, "approve")
    assert "second person must" in page.content.decode()
    loan.refresh_from_db()
    request.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE and request.status == Status.PENDING


def test_an_officer_without_the_permission_cannot_approve(loan):
    ask_write_off(login(superofficer("alice")), loan)
    request = ApprovalRequest.objects.get()
    clerk = get_user_model().objects.create_user(username="clerk", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_approvalrequest"))
    detail = login(clerk).get(f"/admin/common/approvalrequest/{request.pk}/change/").content.decode()
    assert ">Approve</button>" not in detail
    page = decide(login(clerk), request, "approve")
    assert "You may not approve or reject four-eyes requests" in page.content.decode()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


def test_a_write_off_without_a_reason_asks_for_one(loan):
    page = ask_write_off(login(superofficer("alice")), loan, reason="")
    assert "needs a reason" in page.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_a_loan_repaid_before_approval_fails_the_request_and_stays_repaid(loan):
    ask_write_off(login(superofficer("alice")), loan)
    request = ApprovalRequest.objects.get()
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.REPAID)  # as if repaid meanwhile
    page = decide(login(superofficer("bob")), request, "approve")
    assert "failed" in page.content.decode()
    request.refresh_from_db()
    loan.refresh_from_db()
    assert request.status == Status.FAILED and "repaid" in request.result["error"]
    assert loan.status == Loan.Status.REPAID and not loan.events.filter(kind="written_off").exists()


def test_the_list_shows_pending_requests_before_newer_decided_ones(loan):
    alice, bob = superofficer("alice"), superofficer("bob")
    other = draw(CreditLineFactory(merchant=MerchantFactory(), limit_fen=10_000_000), 1_000_000, key="k-2")
    ask_write_off(login(alice), loan)
    ask_write_off(login(alice), other)
    older = ApprovalRequest.objects.get(target=f"lending.Loan:{loan.pk}")
    newer = ApprovalRequest.objects.get(target=f"lending.Loan:{other.pk}")
    decide(login(bob), newer, "reject", note="keep collecting")
    page = login(bob).get("/admin/common/approvalrequest/").content.decode()
    pending_at = page.index(f"/approvalrequest/{older.pk}/change/")
    assert pending_at < page.index(f"/approvalrequest/{newer.pk}/change/")
