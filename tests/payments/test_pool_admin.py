"""An operator sets up a real book in the workbench: creates a funding pool, records capital and
borrowing (within capital × max leverage), each approved by a second officer before anything is
posted. Amounts are yuan strings on the forms, fen inside."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from common.business_date import business_date_set
from common.models import ApprovalRequest
from payments.models import FundingPool, JournalEntry


@pytest.fixture(autouse=True)
def in_english(settings):
    """The workbench answers in Chinese first; these checks read its English wording."""
    settings.LANGUAGE_CODE = "en"


Status = ApprovalRequest.Status


def login(name: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(username=name, password="x"))
    return client


@pytest.fixture
def officers(db):
    business_date_set(on=dt.date(2026, 3, 1), allow_backwards=True)
    return login("operator"), login("checker")


def approve_pending(checker: Client) -> ApprovalRequest:
    request = ApprovalRequest.objects.get(status=Status.PENDING)
    checker.post(f"/admin/common/approvalrequest/{request.pk}/decide/", {"decision": "approve", "note": "ok"})
    request.refresh_from_db()
    return request


def create_pool(operator, checker, code="book") -> FundingPool:
    response = operator.post(
        "/admin/payments/fundingpool/request-create/",
        {"code": code, "name": "Real book 自营资金", "max_leverage": "2", "reason": "opening the book"},
    )
    assert response.status_code == 302
    assert not FundingPool.objects.filter(code=code).exists()  # nothing until approved
    assert approve_pending(checker).status == Status.APPROVED
    return FundingPool.objects.get(code=code)


def record(operator, pool, kind: str, amount: str, reason="bank slip 123"):
    url = f"/admin/payments/fundingpool/{pool.pk}/request-{kind}/"
    return operator.post(url, {"amount": amount, "reason": reason})


def field_errors(html: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def test_operator_creates_a_pool_and_records_capital_after_a_second_officer_approves(officers):
    operator, checker = officers
    pool = create_pool(operator, checker)
    assert pool.max_leverage == 2 and pool.name == "Real book 自营资金"

    assert record(operator, pool, "capital", "1000000.00").status_code == 302
    pool.refresh_from_db()
    assert pool.capital_fen == 0
    request = approve_pending(checker)
    pool.refresh_from_db()
    assert request.status == Status.APPROVED and request.amount_fen == 100_000_000
    assert pool.capital_fen == 100_000_000
    assert JournalEntry.objects.filter(idempotency_key=f"four-eyes:{request.pk}").count() == 1

    page = checker.get(f"/admin/payments/fundingpool/{pool.pk}/change/").content.decode()
    for label in ("Capital (¥)", "Borrowings (¥)", "Lent out (¥)", "Capacity left (¥)"):
        assert label in page
    assert "1,000,000.00" in page and "2,000,000.00" in page  # capital; may still borrow (× 2)


def test_borrowing_within_twice_capital_is_recorded(officers):
    operator, checker = officers
    pool = create_pool(operator, checker)
    record(operator, pool, "capital", "100.00")
    approve_pending(checker)
    assert record(operator, pool, "borrow", "200.00").status_code == 302
    approve_pending(checker)
    pool.refresh_from_db()
    assert pool.borrowings_fen == 20_000 and pool.capacity_fen == 30_000


def test_borrowing_above_twice_capital_is_refused_naming_the_amount(officers):
    operator, checker = officers
    pool = create_pool(operator, checker)
    record(operator, pool, "capital", "100.00")
    approve_pending(checker)
    response = record(operator, pool, "borrow", "200.01")
    assert response.status_code == 200
    html = response.content.decode()
    assert "over the borrowing limit" in field_errors(html)
    assert 'name="amount"' in html
    assert not ApprovalRequest.objects.filter(action="pool.borrow").exists()
    pool.refresh_from_db()
    assert pool.borrowings_fen == 0


def test_a_borrowing_approved_after_the_limit_shrank_fails_and_posts_nothing(officers):
    operator, checker = officers
    pool = create_pool(operator, checker)
    record(operator, pool, "capital", "100.00")
    approve_pending(checker)
    record(operator, pool, "borrow", "150.00")
    FundingPool.objects.filter(pk=pool.pk).update(borrowings_fen=10_000)  # borrowed meanwhile
    request = approve_pending(checker)
    pool.refresh_from_db()
    assert request.status == Status.FAILED
    assert request.result["fields"] == {"amount": ["over the borrowing limit"]}
    assert pool.borrowings_fen == 10_000
    assert not JournalEntry.objects.filter(idempotency_key=f"four-eyes:{request.pk}").exists()


def test_bad_amounts_and_a_taken_code_are_refused_naming_the_field(officers):
    operator, checker = officers
    pool = create_pool(operator, checker)
    for amount in ("12.345", "-5", "abc", "0"):
        response = record(operator, pool, "capital", amount)
        assert response.status_code == 200 and field_errors(response.content.decode()), amount
    taken = operator.post(
        "/admin/payments/fundingpool/request-create/",
        {"code": "book", "name": "Again", "max_leverage": "2", "reason": "again"},
    )
    assert "a pool with this code exists" in field_errors(taken.content.decode())
    no_reason = record(operator, pool, "capital", "10.00", reason="")
    assert no_reason.status_code == 200
    assert ApprovalRequest.objects.filter(status=Status.PENDING).count() == 0


def test_the_pool_list_offers_a_new_pool_and_the_page_offers_capital_and_borrowing(officers):
    operator, checker = officers
    assert "request-create/" in operator.get("/admin/payments/fundingpool/").content.decode()
    pool = create_pool(operator, checker)
    page = operator.get(f"/admin/payments/fundingpool/{pool.pk}/change/").content.decode()
    assert f"/{pool.pk}/request-capital/" in page and f"/{pool.pk}/request-borrow/" in page
    form = operator.get(f"/admin/payments/fundingpool/{pool.pk}/request-borrow/").content.decode()
    assert "second officer must approve" in form
