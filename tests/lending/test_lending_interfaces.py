"""The lending interfaces: the merchant portal (quote, accept, repay), the officers' workbench
(products within the cap, freezing lines) and the partner API, each scoped to its own merchants."""

import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from common.business_date import business_date_today
from common.models import ApprovalRequest
from lending.models import CreditLine, CreditLineChange, Loan, Product
from payments import services as payments
from payments.models import Account
from payments.reconciliation import reconcile
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import MerchantFactory

LIMIT_FEN = 10_000_000  # ¥100,000


def merchant_login(merchant) -> Client:
    user = get_user_model().objects.create_user(username=f"shop-{merchant.pk}", password="x")
    merchant.user = user
    merchant.save(update_fields=["user"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shop(pool):
    merchant = MerchantFactory()
    line = CreditLineFactory(merchant=merchant, limit_fen=LIMIT_FEN)
    return merchant, line, merchant_login(merchant)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def accept_form(client, line, amount="20000") -> dict:
    page = client.get(f"/loans/draw/{line.pk}/", {"amount": amount})
    assert page.status_code == 200
    html = page.content.decode()
    assert "借款合同" in html and "综合年化" in html
    return {name: hidden(html, name) for name in ("amount", "contract_sha256", "request_token")}


def wallet_fen(merchant) -> int:
    return Account.objects.get(merchant=merchant).balance_fen


# Portal -----------------------------------------------------------------------------------------


def test_portal_quote_then_accept_credits_the_wallet_and_shows_the_loan(shop):
    merchant, line, client = shop
    overview = client.get("/loans/")
    assert overview.status_code == 200
    assert "日利率 0.06% ≈ 年化 21.90%" in overview.content.decode()  # the rate in the reader's language

    response = client.post(f"/loans/draw/{line.pk}/", accept_form(client, line))

    loan = Loan.objects.get(merchant=merchant)
    assert response.status_code == 302 and response.url == f"/loans/{loan.reference}/"
    assert loan.principal_fen == 2_000_000 and loan.contract.accepted_via == "portal"
    assert loan.contract.accepted_by == merchant.user
    assert wallet_fen(merchant) == 2_000_000
    listing = client.get("/loans/").content.decode()
    assert loan.reference in listing and "80,000.00" in listing  # available after the draw
    detail = client.get(f"/loans/{loan.reference}/")
    assert detail.status_code == 200 and "20,000.00" in detail.content.decode()


def test_resubmitting_the_same_accept_form_lends_once(shop):
    merchant, line, client = shop
    form = accept_form(client, line)
    first = client.post(f"/loans/draw/{line.pk}/", form)
    again = client.post(f"/loans/draw/{line.pk}/", form)
    assert first.status_code == again.status_code == 302 and first.url == again.url
    assert Loan.objects.filter(merchant=merchant).count() == 1
    assert wallet_fen(merchant) == 2_000_000
    line.refresh_from_db()
    assert line.used_fen == 2_000_000


def test_portal_accept_with_a_changed_agreement_is_shown_on_the_form(shop):
    _, line, client = shop
    form = accept_form(client, line) | {"contract_sha256": "0" * 64}
    response = client.post(f"/loans/draw/{line.pk}/", form)
    assert response.status_code == 409
    # In the reader's language and in plain words, not the service's ("agreement changed ...").
    assert "协议在显示后已有变更。请重新阅读并再次接受。" in response.content.decode()
    assert not Loan.objects.exists()


def test_portal_quote_beyond_the_line_is_refused_on_the_form(shop):
    _, line, client = shop
    response = client.get(f"/loans/draw/{line.pk}/", {"amount": "100000.01"})
    assert response.status_code == 400
    assert "可用额度不足" in response.content.decode()
    assert 'name="request_token"' not in response.content.decode()


def test_repay_all_from_the_loan_page_settles_the_loan(shop):
    merchant, line, client = shop
    client.post(f"/loans/draw/{line.pk}/", accept_form(client, line))
    loan = Loan.objects.get(merchant=merchant)
    page = client.get(f"/loans/{loan.reference}/").content.decode()
    token = hidden(page, "request_token")

    response = client.post(f"/loans/{loan.reference}/repay/", {"repay_all": "on", "request_token": token})

    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID and loan.total_outstanding_fen == 0
    line.refresh_from_db()
    assert line.used_fen == 0
    assert wallet_fen(merchant) == 0
    assert loan.installments.get().paid_principal_fen == 2_000_000
    assert "已结清" in client.get(f"/loans/{loan.reference}/").content.decode()
    assert reconcile().is_clean


def test_repay_without_an_amount_names_the_field(shop):
    merchant, line, client = shop
    client.post(f"/loans/draw/{line.pk}/", accept_form(client, line))
    loan = Loan.objects.get(merchant=merchant)
    response = client.post(f"/loans/{loan.reference}/repay/", {"request_token": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "请输入金额或选择全部结清" in response.content.decode()


def test_another_merchants_loan_and_line_are_not_found(shop):
    merchant, line, client = shop
    client.post(f"/loans/draw/{line.pk}/", accept_form(client, line))
    loan = Loan.objects.get(merchant=merchant)
    stranger = merchant_login(MerchantFactory())
    assert stranger.get(f"/loans/{loan.reference}/").status_code == 404
    assert stranger.get(f"/loans/draw/{line.pk}/").status_code == 404
    repay = stranger.post(
        f"/loans/{loan.reference}/repay/", {"repay_all": "on", "request_token": uuid.uuid4()}
    )
    assert repay.status_code == 404
    assert loan.reference not in stranger.get("/loans/").content.decode()


# Workbench --------------------------------------------------------------------------------------


@pytest.fixture
def officer(db):
    user = get_user_model().objects.create_superuser(username="officer.li", password="x")
    client = Client()
    client.force_login(user)
    return client


def test_officer_freeze_action_records_the_change_with_the_officer(officer, pool):
    line = CreditLineFactory()
    response = officer.post(
        "/admin/lending/creditline/",
        {"action": "freeze", "_selected_action": [line.pk], "reason": "shop under review"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.status == CreditLine.Status.FROZEN
    change = CreditLineChange.objects.get(line=line, kind="frozen")
    assert (change.actor, change.reason) == ("officer.li", "shop under review")
    assert change.before["status"] == "active" and change.after["status"] == "frozen"

    officer.post("/admin/lending/creditline/", {"action": "unfreeze", "_selected_action": [line.pk]})
    line.refresh_from_db()
    assert line.status == CreditLine.Status.ACTIVE
    assert CreditLineChange.objects.get(line=line, kind="unfrozen").actor == "officer.li"


def test_workbench_pages_for_lines_and_loans_render(officer, shop):
    merchant, line, client = shop
    client.post(f"/loans/draw/{line.pk}/", accept_form(client, line))
    loan = Loan.objects.get(merchant=merchant)
    for url in (
        "/admin/lending/creditline/",
        f"/admin/lending/creditline/{line.pk}/change/",
        "/admin/lending/loan/",
        f"/admin/lending/loan/{loan.pk}/change/",
        "/admin/lending/product/",
        "/admin/lending/cobrun/",
    ):
        assert officer.get(url).status_code == 200, url
    detail = officer.get(f"/admin/lending/loan/{loan.pk}/change/").content.decode()
    assert loan.contract.sha256 in detail and "20,000.00" in detail


def product_form(**overrides) -> dict:
    data = {
        "code": "greedy",
        "name": "Greedy",
        "segment": Product.Segment.B2B,
        # The workbench takes amounts in yuan.
        "amount_min_fen": "50000.00",
        "amount_max_fen": "1000000.00",
        "term": 365,
        "term_unit": Product.TermUnit.DAYS,
        "daily_rate": "0.0007",
        "repayment_method": "bullet",
        "upfront_fee_rate": "0",
        "penalty_markup": "0.5",
        "grace_days": 3,
        "allocation_order": '["penalty", "fee", "interest", "principal"]',
        "advance_rate": "1",
        "is_active": "on",
    }
    return data | overrides


def test_product_admin_refuses_a_rate_above_the_cap_with_a_form_error(officer):
    response = officer.post("/admin/lending/product/add/", product_form())
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "daily_rate" in errors and "高于法定上限 24.00%" in errors["daily_rate"][0]
    assert not Product.objects.filter(code="greedy").exists()

    saved = officer.post("/admin/lending/product/add/", product_form(code="fair", daily_rate="0.0005"))
    assert saved.status_code == 302
    assert Product.objects.get(code="fair").daily_rate == Decimal("0.0005")


# Partner API ------------------------------------------------------------------------------------


@pytest.fixture
def api_line(partner_client, pool):
    merchant = MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    return CreditLineFactory(merchant=merchant, limit_fen=LIMIT_FEN)


def api_quote(client, line, amount="20000.00"):
    return client.post("/api/v1/loans/quote/", {"line_id": line.pk, "amount": amount}, format="json")


def api_draw(client, line, sha, amount="20000.00", key="draw-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"line_id": line.pk, "amount": amount, "contract_sha256": sha}
    return client.post("/api/v1/loans/", body, format="json", **headers)


def test_api_quote_draw_read_repay_round_trip(partner_client, api_line):
    lines = partner_client.get("/api/v1/lines/SHOP-1/")
    assert lines.status_code == 200
    [line] = lines.json()
    assert (line["limit"], line["available"], line["daily_rate"], line["annual_rate"]) == (
        "100000.00",
        "100000.00",
        "0.0006",
        "0.219",
    )
    assert line["drawdown_min"] == "100.00"

    quote = api_quote(partner_client, api_line).json()
    assert quote["daily_rate"] == "0.0006" and quote["annual_rate"] == "0.219"
    assert quote["total_interest"] == "4380.00"  # 20,000 × 0.0006 × 365
    assert quote["schedule"][0]["principal"] == "20000.00" and quote["contract_text"].startswith(
        "Loan agreement\n"
    )
    assert Decimal(quote["annual_cost"]) > 0

    drawn = api_draw(partner_client, api_line, quote["contract_sha256"])
    assert drawn.status_code == 201
    reference = drawn.json()["reference"]
    assert drawn.json()["owed"]["total"] == "20000.00"
    assert drawn.json()["contract_sha256"] == quote["contract_sha256"]
    assert wallet_fen(api_line.merchant) == 2_000_000

    read = partner_client.get(f"/api/v1/loans/{reference}/").json()
    assert read["status"] == "active" and read["schedule"][0]["paid_principal"] == "0.00"

    part = partner_client.post(
        f"/api/v1/loans/{reference}/repayments/",
        {"amount": "5000.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r-1",
    )
    assert part.status_code == 201 and part.json()["principal"] == "5000.00"
    assert part.json()["loan"]["owed"]["principal"] == "15000.00"

    rest = partner_client.post(
        f"/api/v1/loans/{reference}/repayments/", {}, format="json", HTTP_IDEMPOTENCY_KEY="r-2"
    )
    assert rest.status_code == 201 and rest.json()["amount"] == "15000.00"
    assert rest.json()["loan"]["status"] == "repaid"
    assert rest.json()["loan"]["schedule"][0]["paid_principal"] == "20000.00"

    replay = partner_client.post(
        f"/api/v1/loans/{reference}/repayments/", {}, format="json", HTTP_IDEMPOTENCY_KEY="r-2"
    )
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert replay.json()["journal_entry"] == rest.json()["journal_entry"]
    assert wallet_fen(api_line.merchant) == 0
    assert reconcile().is_clean


def test_api_draw_is_idempotent(partner_client, api_line):
    sha = api_quote(partner_client, api_line).json()["contract_sha256"]
    first = api_draw(partner_client, api_line, sha)
    again = api_draw(partner_client, api_line, sha)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["reference"] == again.json()["reference"]
    assert Loan.objects.count() == 1 and wallet_fen(api_line.merchant) == 2_000_000

    other = api_draw(partner_client, api_line, sha, amount="1000.00")
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["error"]["fields"]


def test_api_reaches_only_the_partners_own_merchants(partner_client, api_line, pool):
    foreign_line = CreditLineFactory(limit_fen=LIMIT_FEN)
    foreign = foreign_line.merchant
    assert partner_client.get(f"/api/v1/lines/{foreign.external_id}/").status_code == 404
    assert api_quote(partner_client, foreign_line).status_code == 404
    assert api_draw(partner_client, foreign_line, "a" * 64).status_code == 404

    from lending import services

    quote = services.loan_quote(line=foreign_line, amount_fen=100_000, start_on=business_date_today())
    loan = services.loan_draw(
        line=foreign_line,
        amount_fen=100_000,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="elsewhere",
        via="test",
        on=business_date_today(),
    )
    assert partner_client.get(f"/api/v1/loans/{loan.reference}/").status_code == 404
    repay = partner_client.post(
        f"/api/v1/loans/{loan.reference}/repayments/", {}, format="json", HTTP_IDEMPOTENCY_KEY="r"
    )
    assert repay.status_code == 404
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


@pytest.mark.parametrize(
    ("amount", "field"),
    [("-5.00", "amount"), ("0", "amount"), ("100000.01", "amount"), ("12.345", "amount")],
)
def test_api_quote_with_a_bad_amount_names_the_field(partner_client, api_line, amount, field):
    response = api_quote(partner_client, api_line, amount=amount)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_api_draw_beyond_the_line_names_the_amount(partner_client, api_line):
    api_line.limit_fen = 1_000_000
    api_line.save()
    sha = api_quote(partner_client, api_line, amount="10000.00").json()["contract_sha256"]
    api_line.limit_fen = 500_000
    api_line.save()
    response = api_draw(partner_client, api_line, sha, amount="10000.00")
    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]
    assert not Loan.objects.exists()


def test_api_draw_without_an_idempotency_key_names_the_header(partner_client, api_line):
    sha = api_quote(partner_client, api_line).json()["contract_sha256"]
    response = api_draw(partner_client, api_line, sha, key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    repay = partner_client.post("/api/v1/loans/L1/repayments/", {}, format="json")
    assert repay.status_code == 400 and "Idempotency-Key" in repay.json()["error"]["fields"]


def test_api_draw_with_the_wrong_agreement_hash_is_a_conflict(partner_client, api_line):
    response = api_draw(partner_client, api_line, "b" * 64)
    assert response.status_code == 409
    assert "contract_sha256" in response.json()["error"]["fields"]
    malformed = api_draw(partner_client, api_line, "not-a-hash")
    assert malformed.status_code == 400 and "contract_sha256" in malformed.json()["error"]["fields"]
    assert not Loan.objects.exists()


def test_api_repay_a_negative_amount_names_the_field(partner_client, api_line):
    sha = api_quote(partner_client, api_line).json()["contract_sha256"]
    reference = api_draw(partner_client, api_line, sha).json()["reference"]
    response = partner_client.post(
        f"/api/v1/loans/{reference}/repayments/", {"amount": "-1.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r"
    )
    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]


def test_officer_writes_off_a_loan_from_the_workbench(shop, admin_client):
    merchant, line, client = shop
    client.post(f"/loans/draw/{line.pk}/", accept_form(client, line))
    loan = Loan.objects.get(merchant=merchant)
    response = admin_client.post(
        "/admin/lending/loan/",
        {"action": "write_off", "_selected_action": [loan.pk], "reason": "shop vanished"},
    )
    assert response.status_code == 302
    # Four eyes: the write-off waits for a second officer (tests/lending/test_write_off_four_eyes.py).
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    second = Client()
    second.force_login(get_user_model().objects.create_superuser(username="second", password="x"))
    request = ApprovalRequest.objects.get(action="loan.write_off")
    second.post(f"/admin/common/approvalrequest/{request.pk}/decide/", {"decision": "approve"})
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    assert loan.events.get(kind="written_off").note == "shop vanished"


def test_a_repayment_moves_money_only_on_a_body_that_asks_for_it(partner_client, api_line):
    """`{}` repays everything owed; no body at all, a body without its Content-Type (which the
    API's framework reads as nothing) and a body of names a repayment does not have (a misspelt
    amount) are refused naming what is wrong, and nothing is written."""
    sha = api_quote(partner_client, api_line).json()["contract_sha256"]
    reference = api_draw(partner_client, api_line, sha).json()["reference"]
    loan = Loan.objects.get(reference=reference)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=5_000_000, idempotency_key="in")
    path = f"/api/v1/loans/{reference}/repayments/"
    before = loan.paid_total_fen

    empty = partner_client.post(path, HTTP_IDEMPOTENCY_KEY="r-1", content_type="application/json")
    assert empty.status_code == 400 and "body" in empty.json()["error"]["fields"]
    untyped = partner_client.generic("POST", path, b'{"amount": "10.00"}', HTTP_IDEMPOTENCY_KEY="r-2")
    assert untyped.status_code == 415 and "Content-Type" in untyped.json()["error"]["fields"]
    misspelt = partner_client.post(path, {"amout": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-3")
    assert misspelt.status_code == 400 and "amout" in misspelt.json()["error"]["fields"]
    assert Loan.objects.get(reference=reference).paid_total_fen == before

    part = partner_client.post(path, {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="r-4")
    assert part.status_code == 201, part.json()
    assert Loan.objects.get(reference=reference).paid_total_fen == before + 1_000
