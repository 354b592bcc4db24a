"""A manual line grant or change of terms in the workbench is a four-eyes request ("line.grant"):
checked against the product's range and the legal cap when asked and again when a second officer
approves; only then is the line opened or changed, with history."""

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from common.business_date import business_date_today
from common.four_eyes import approval_request_approve, approval_request_create
from common.models import ApprovalRequest
from lending.models import CreditLine, CreditLineChange
from tests.lending.conftest import draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

Status = ApprovalRequest.Status


def superofficer(name: str):
    return get_user_model().objects.create_superuser(username=name, password="x")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field_errors(html: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def approve_pending(client) -> ApprovalRequest:
    request = ApprovalRequest.objects.get(status=Status.PENDING)
    client.post(f"/admin/common/approvalrequest/{request.pk}/decide/", {"decision": "approve"})
    request.refresh_from_db()
    return request


@pytest.fixture
def officers(pool):
    alice, bob = superofficer("alice"), superofficer("bob")
    return SimpleNamespace(alice=alice, bob=bob, as_alice=login(alice), as_bob=login(bob))


def grant(client, merchant, product, **overrides):
    data = {
        "merchant": merchant.pk,
        "product": product.pk,
        "limit": "100000.00",
        "daily_rate": "0.0005",
        "grade": "B",
        "expires_on": "",
        "reason": "known shop, audited accounts",
        **overrides,
    }
    return client.post("/admin/lending/creditline/request-grant/", data)


def test_a_manual_grant_opens_the_line_only_when_a_second_officer_approves(officers):
    o = officers
    merchant, product = MerchantFactory(), ProductFactory()
    assert grant(o.as_alice, merchant, product).status_code == 302
    assert not CreditLine.objects.filter(merchant=merchant).exists()
    request = approve_pending(o.as_bob)
    assert request.status == Status.APPROVED and request.amount_fen == 10_000_000
    line = CreditLine.objects.get(merchant=merchant, product=product)
    assert line.limit_fen == 10_000_000 and line.daily_rate == Decimal("0.0005") and line.grade == "B"
    opened = CreditLineChange.objects.get(line=line)
    assert opened.actor == "alice / bob" and opened.reason == "known shop, audited accounts"


def test_a_grant_outside_the_range_or_above_the_cap_is_refused_naming_the_field(officers):
    o = officers
    merchant, product = MerchantFactory(), ProductFactory()
    too_small = grant(o.as_alice, merchant, product, limit="100.00")
    assert too_small.status_code == 200 and "授信额度超出产品范围" in field_errors(too_small.content.decode())
    too_dear = grant(o.as_alice, merchant, product, daily_rate="0.002")
    assert too_dear.status_code == 200 and field_errors(too_dear.content.decode())
    assert 'name="daily_rate"' in too_dear.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_new_terms_are_requested_from_the_line_and_applied_on_approval(officers):
    o = officers
    line = CreditLineFactory(limit_fen=10_000_000, daily_rate=Decimal("0.0005"))
    redirect = o.as_alice.post(
        "/admin/lending/creditline/", {"action": "change_terms", "_selected_action": [line.pk], "reason": ""}
    )
    assert redirect.status_code == 302 and redirect.url.endswith(f"/{line.pk}/request-change/")
    form = o.as_alice.get(redirect.url).content.decode()
    assert "100000.00" in form  # the current limit, in yuan
    response = o.as_alice.post(
        redirect.url,
        {"limit": "200000.00", "daily_rate": "0.0004", "grade": "A", "expires_on": "", "reason": "re-rated"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.limit_fen == 10_000_000
    approve_pending(o.as_bob)
    line.refresh_from_db()
    assert line.limit_fen == 20_000_000 and line.daily_rate == Decimal("0.0004") and line.grade == "A"
    change = CreditLineChange.objects.get(line=line, kind="terms changed")
    assert change.actor == "alice / bob" and change.before["limit_fen"] == 10_000_000


def test_new_terms_below_what_is_drawn_are_refused_naming_the_limit(officers):
    o = officers
    line = CreditLineFactory(limit_fen=10_000_000)
    draw(line, 8_000_000)
    response = o.as_alice.post(
        f"/admin/lending/creditline/{line.pk}/request-change/",
        {"limit": "60000.00", "daily_rate": "0.0005", "grade": "B", "expires_on": "", "reason": "cut"},
    )
    assert response.status_code == 200 and "drawn" in field_errors(response.content.decode())
    assert not ApprovalRequest.objects.exists()


def test_approval_checks_the_cap_again_so_a_term_change_above_it_fails(officers):
    o = officers
    line = CreditLineFactory(limit_fen=10_000_000, daily_rate=Decimal("0.0005"))
    request = approval_request_create(
        action="line.grant",
        target=f"lending.CreditLine:{line.pk}",
        amount_fen=10_000_000,
        params={
            "line_id": line.pk,
            "limit_fen": 10_000_000,
            "daily_rate": "0.002",
            "grade": "B",
            "reason": "r",
        },
        requested_by=o.alice,
        reason="r",
    )
    done = approval_request_approve(request=request, approver=o.bob, on=business_date_today())
    line.refresh_from_db()
    assert done.status == Status.FAILED and "daily_rate" in done.result["fields"]
    assert line.daily_rate == Decimal("0.0005")
    assert not CreditLineChange.objects.filter(line=line, kind="terms changed").exists()
