"""Four eyes: a request by one officer, approved by another with the permission, executed in the
approval's transaction; refusals leave nothing changed; two approvers at once make one approval."""

import datetime as dt
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from common import four_eyes
from common.errors import ApplicationError, ConflictError
from common.four_eyes import (
    approval_request_approve,
    approval_request_cancel,
    approval_request_create,
    approval_request_reject,
    approval_request_submit,
    four_eyes_needed,
)
from common.models import ApprovalRequest
from payments import services as payments
from payments.models import FundingPool, JournalEntry
from tests.conftest import requires_postgres

ON = dt.date(2026, 3, 1)
Status = ApprovalRequest.Status


def officer(name: str, *, may_approve: bool = True):
    user = get_user_model().objects.create_user(username=name, password="x", is_staff=True)
    if may_approve:
        user.user_permissions.add(
            Permission.objects.get(codename="approve_request", content_type__app_label="common")
        )
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def alice(db):
    return officer("alice")


@pytest.fixture
def bob(db):
    return officer("bob")


@pytest.fixture
def pool(db):
    return payments.funding_pool_create(code="book", name="Book")


def ask_capital(pool, who, amount_fen=1_000_000, reason="shareholders paid in"):
    return approval_request_create(
        action="pool.add_capital",
        target=f"payments.FundingPool:{pool.pk}",
        amount_fen=amount_fen,
        params={"pool_id": pool.pk, "amount_fen": amount_fen},
        requested_by=who,
        reason=reason,
    )


def write_then_refuse(params, *, requested_by, approved_by, on):
    """A test executor that changes something and then refuses: the change must not survive."""
    payments.funding_pool_create(code="ghost", name="Ghost")
    raise ApplicationError("refused after writing", {"fields": {"amount": ["refused"]}})


# Thresholds --------------------------------------------------------------------------------------


def test_write_offs_line_grants_and_pool_changes_always_need_a_second_person():
    for action in ("loan.write_off", "line.grant", "pool.create", "pool.add_capital", "pool.borrow"):
        assert four_eyes_needed(action=action, amount_fen=1)
        assert four_eyes_needed(action=action, amount_fen=0)
        assert four_eyes_needed(action=action, amount_fen=None)


def test_application_approval_needs_a_second_person_from_200000_yuan_as_the_pipeline_says():
    assert not four_eyes_needed(action="application.approve", amount_fen=19_999_999)
    assert four_eyes_needed(action="application.approve", amount_fen=20_000_000)
    assert four_eyes_needed(action="application.approve", amount_fen=None)


def test_an_action_without_a_threshold_always_needs_a_second_person():
    assert four_eyes_needed(action="something.new", amount_fen=1)


# Asking ------------------------------------------------------------------------------------------


def test_an_unregistered_action_is_refused_naming_the_field(alice):
    with pytest.raises(ApplicationError) as refused:
        approval_request_create(
            action="loan.forgive",
            target="lending.Loan:1",
            amount_fen=1,
            params={},
            requested_by=alice,
            reason="r",
        )
    assert "action" in refused.value.extra["fields"]


def test_a_request_without_a_reason_is_refused_naming_the_field(alice, pool):
    with pytest.raises(ApplicationError) as refused:
        ask_capital(pool, alice, reason="  ")
    assert "reason" in refused.value.extra["fields"]
    assert not ApprovalRequest.objects.exists()


def test_params_with_a_float_are_refused(alice, pool):
    with pytest.raises(ApplicationError) as refused:
        approval_request_create(
            action="pool.add_capital",
            target=f"payments.FundingPool:{pool.pk}",
            amount_fen=100,
            params={"pool_id": pool.pk, "amount": 1.5},
            requested_by=alice,
            reason="r",
        )
    assert "params" in refused.value.extra["fields"]


def test_asking_twice_returns_the_pending_request_and_other_figures_conflict(alice, bob, pool):
    first = ask_capital(pool, alice)
    assert ask_capital(pool, alice) == first
    with pytest.raises(ConflictError) as conflict:
        ask_capital(pool, alice, amount_fen=2_000_000)
    assert "target" in conflict.value.extra["fields"]
    assert ApprovalRequest.objects.count() == 1
    approval_request_approve(request=first, approver=bob, on=ON)
    second = ask_capital(pool, alice)
    assert second != first and second.status == Status.PENDING


# Deciding ----------------------------------------------------------------------------------------


def test_second_officer_approves_and_the_capital_is_recorded(alice, bob, pool):
    request = ask_capital(pool, alice)
    pool.refresh_from_db()
    assert pool.capital_fen == 0  # nothing moves on asking
    done = approval_request_approve(request=request, approver=bob, on=ON, note="checked the bank slip")
    pool.refresh_from_db()
    assert pool.capital_fen == 1_000_000
    assert done.status == Status.APPROVED
    assert done.decided_by == bob and done.decided_on == ON and done.decision_note == "checked the bank slip"
    assert JournalEntry.objects.get(pk=done.result["entry_id"]).idempotency_key == f"four-eyes:{request.pk}"


def test_the_requester_cannot_approve_their_own_request(pool):
    alice = officer("alice")
    request = ask_capital(pool, alice)
    with pytest.raises(ConflictError) as refused:
        approval_request_approve(request=request, approver=alice, on=ON)
    assert "approver" in refused.value.extra["fields"]
    request.refresh_from_db()
    pool.refresh_from_db()
    assert request.status == Status.PENDING and pool.capital_fen == 0


def test_an_officer_without_the_permission_cannot_approve_or_reject(alice, pool):
    carol = officer("carol", may_approve=False)
    request = ask_capital(pool, alice)
    for decide in (
        lambda: approval_request_approve(request=request, approver=carol, on=ON),
        lambda: approval_request_reject(request=request, rejecter=carol, on=ON),
    ):
        with pytest.raises(ApplicationError) as refused:
            decide()
        assert "approver" in refused.value.extra["fields"]
    request.refresh_from_db()
    pool.refresh_from_db()
    assert request.status == Status.PENDING and pool.capital_fen == 0


def test_a_superuser_requester_still_cannot_approve_alone(pool):
    boss = get_user_model().objects.create_superuser(username="boss", password="x")
    request = ask_capital(pool, boss)
    with pytest.raises(ConflictError):
        approval_request_approve(request=request, approver=boss, on=ON)


def test_executor_refusal_marks_the_request_failed_and_changes_nothing(alice, bob, pool):
    request = approval_request_create(
        action="pool.borrow",
        target=f"payments.FundingPool:{pool.pk}",
        amount_fen=100,
        params={"pool_id": pool.pk, "amount_fen": 100},
        requested_by=alice,
        reason="a bank loan",
    )
    entries = JournalEntry.objects.count()
    done = approval_request_approve(request=request, approver=bob, on=ON)
    pool.refresh_from_db()
    assert done.status == Status.FAILED
    assert "资本金" in done.result["error"] and "amount" in done.result["fields"]
    assert pool.borrowings_fen == 0 and JournalEntry.objects.count() == entries


@override_settings(
    FOUR_EYES_ACTIONS={"test.refuse": "tests.common.test_four_eyes.write_then_refuse"},
)
def test_what_a_refusing_executor_wrote_is_rolled_back(alice, bob):
    request = approval_request_create(
        action="test.refuse", target="t:1", amount_fen=None, params={}, requested_by=alice, reason="r"
    )
    done = approval_request_approve(request=request, approver=bob, on=ON)
    assert done.status == Status.FAILED and done.result["error"] == "refused after writing"
    assert not FundingPool.objects.filter(code="ghost").exists()


def test_approving_twice_has_one_effect(alice, bob, pool):
    request = ask_capital(pool, alice)
    approval_request_approve(request=request, approver=bob, on=ON)
    dave = officer("dave")
    with pytest.raises(ConflictError) as again:
        approval_request_approve(request=request, approver=dave, on=ON)
    assert "status" in again.value.extra["fields"]
    pool.refresh_from_db()
    assert pool.capital_fen == 1_000_000
    assert JournalEntry.objects.filter(idempotency_key=f"four-eyes:{request.pk}").count() == 1


def test_rejected_and_cancelled_requests_change_nothing(alice, bob, pool):
    rejected = approval_request_reject(request=ask_capital(pool, alice), rejecter=bob, on=ON, note="no slip")
    assert rejected.status == Status.REJECTED and rejected.decided_by == bob
    with pytest.raises(ApplicationError) as not_theirs:
        approval_request_cancel(request=ask_capital(pool, alice), user=bob, on=ON)
    assert "user" in not_theirs.value.extra["fields"]
    cancelled = approval_request_cancel(request=ask_capital(pool, alice), user=alice, on=ON)
    assert cancelled.status == Status.CANCELLED and cancelled.decided_by is None
    with pytest.raises(ConflictError):
        approval_request_approve(request=cancelled, approver=bob, on=ON)
    pool.refresh_from_db()
    assert pool.capital_fen == 0


def test_the_database_refuses_a_request_decided_by_its_requester(alice, pool):
    request = ask_capital(pool, alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=request.pk).update(decided_by=alice, status=Status.APPROVED)


def test_the_database_allows_one_pending_request_per_action_and_target(alice, pool):
    request = ask_capital(pool, alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.create(
            action=request.action, target=request.target, params={}, reason="again", requested_by=alice
        )


@override_settings(FOUR_EYES_THRESHOLDS_FEN={"pool.add_capital": 1_000_000})
def test_below_its_threshold_an_action_is_done_at_once_and_recorded(alice, pool):
    small = approval_request_submit(
        action="pool.add_capital",
        target=f"payments.FundingPool:{pool.pk}",
        amount_fen=500,
        params={"pool_id": pool.pk, "amount_fen": 500},
        requested_by=alice,
        reason="small top-up",
        on=ON,
    )
    assert small.status == Status.APPROVED and small.decided_by is None
    large = approval_request_submit(
        action="pool.add_capital",
        target=f"payments.FundingPool:{pool.pk}",
        amount_fen=1_000_001,
        params={"pool_id": pool.pk, "amount_fen": 1_000_001},
        requested_by=alice,
        reason="large top-up",
        on=ON,
    )
    pool.refresh_from_db()
    assert large.status == Status.PENDING and pool.capital_fen == 500


# Concurrency -------------------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_approving_at_once_make_exactly_one_approval():
    pool = payments.funding_pool_create(code="race", name="Race")
    alice = officer("alice")
    approvers = [officer("bob"), officer("carol")]
    for round_ in range(5):
        request = ask_capital(pool, alice, amount_fen=100 + round_)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def approve(user, request=request, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                approval_request_approve(request=request, approver=user, on=ON)
                outcomes.append("approved")
            except ConflictError:
                outcomes.append("conflict")
            finally:
                connection.close()

        threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["approved", "conflict"]
        request.refresh_from_db()
        assert request.status == Status.APPROVED
    pool.refresh_from_db()
    assert pool.capital_fen == sum(100 + r for r in range(5))
    assert JournalEntry.objects.filter(idempotency_key__startswith="four-eyes:").count() == 5


def test_the_permission_is_declared_on_the_model():
    assert four_eyes.PERMISSION == "common.approve_request"
    declared = ApprovalRequest._meta.permissions
    assert ("approve_request", "Can approve or reject a four-eyes request") in declared
