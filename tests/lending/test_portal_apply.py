"""The seller's portal pages for applications, through Django's test client: the home page, an
instant credit loan applied for and paid on one page, an order loan pledged on exactly the ticked
orders, refusals named beside their field, a decline with its reasons and date, one appeal,
another merchant's application not found, and the asynchronous payout seen through the status
endpoint."""

import datetime as dt
import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from common.business_date import business_date_set, business_date_today
from common.money import format_yuan
from common.texts import stored_text
from lending.models import Application, CreditLine, Loan, Pledge, Product
from lending.services import applications as apps
from merchants.models import OrderStatus
from payments import selectors as payment_selectors
from payments import services as payments
from riskcontrol.plain_words import STATUS_WORDS, reason_words
from scoring import services as scoring
from scoring.models import Offer
from scoring.selectors import policy_get
from tests.merchants.factories import OrderFactory
from tests.scoring.factories import champion_create, products, rated_merchant

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


def seller(client, username="seller", **features):
    merchant = rated_merchant(**(features or STRONG))
    merchant.user = User.objects.create_user(username, password="x")
    merchant.save(update_fields=["user"])
    client.force_login(merchant.user)
    return merchant


def offer_for(merchant, code: str) -> Offer:
    """A pre-approved offer as the nightly ranking issues it, on the merchant's current rating."""
    score = scoring.merchant_rate(merchant=merchant, as_of=TODAY)
    return Offer.objects.create(
        merchant=merchant,
        product=Product.objects.get(code=code),
        score=score,
        line_fen=3_000_000,
        daily_rate="0.00050000",
        grade=score.grade,
        rank=1,
        issued_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=14),
    )


def shipped(merchant, *amounts_fen):
    return [OrderFactory(merchant=merchant, amount_fen=a, shipped=True) for a in amounts_fen]


def wallet_fen(merchant) -> int:
    wallet = payment_selectors.wallet_for_merchant(merchant=merchant)
    return wallet.balance_fen if wallet else 0


def shown_sha(response) -> str:
    match = re.search(
        r'name="contract_sha256" id="contract-sha" value="([0-9a-f]{64})"', response.content.decode()
    )
    assert match, "the page shows no agreement to accept"
    return match.group(1)


def apply_post(client, product, amount, *, sha="", accept=True, orders=()):
    data = {
        "amount": amount,
        "request_token": str(uuid.uuid4()),
        "contract_sha256": sha,
        "orders": list(orders),
    }
    if accept:
        data["accept"] = "on"
    return client.post(f"{reverse('portal:apply')}?product={product}", data)


def test_a_merchant_lands_on_its_home_with_offer_lines_and_wallet(world, client):
    merchant = seller(client)
    offer = offer_for(merchant, "order_loan")

    assert client.get("/").url == reverse("portal:overview")
    # A credit loan applied for and paid: a line, an open loan and money in the wallet to show.
    page = client.get(f"{reverse('portal:apply')}?product=credit_loan&amount=2000.00")
    apply_post(client, "credit_loan", "2000.00", sha=shown_sha(page))
    line = CreditLine.objects.get(merchant=merchant, product__code="credit_loan")
    loan = Loan.objects.get(merchant=merchant)

    home = client.get(reverse("portal:overview"))
    html = home.content.decode()
    assert home.status_code == 200
    assert f"{reverse('portal:apply')}?product={offer.product.code}" in html
    assert format_yuan(offer.line_fen) in html
    assert f'data-testid="home-wallet">{format_yuan(wallet_fen(merchant))}<' in html
    assert wallet_fen(merchant) == 200_000
    assert format_yuan(line.used_fen) in html and format_yuan(line.available_fen) in html
    assert loan.reference in html and loan.next_due_on.isoformat() in html


def test_a_credit_loan_with_the_agreement_accepted_is_paid_into_the_wallet(world, client):
    merchant = seller(client)
    page = client.get(f"{reverse('portal:apply')}?product=credit_loan&amount=2000.00")
    assert page.status_code == 200
    html = page.content.decode()
    assert "借款合同" in html and "日利率" in html and "Loan agreement" not in html
    terms = client.get(reverse("portal:apply-terms"), {"product": "credit_loan", "amount": "2000.00"}).json()
    assert terms["terms"]["outcome"] == "pass" and terms["terms"]["amount"] == "2,000.00"
    assert terms["terms"]["contract_sha256"] == shown_sha(page)

    response = apply_post(client, "credit_loan", "2000.00", sha=shown_sha(page))

    application = Application.objects.get(merchant=merchant)
    assert response.status_code == 302
    assert response.url == reverse("portal:application", args=[application.reference])
    assert application.status == Application.Status.DISBURSED and application.channel == "portal"
    assert wallet_fen(merchant) == 200_000
    detail = client.get(response.url).content.decode()
    assert application.loan.reference in detail and "已放款" in detail
    assert "准入" in detail and "Eligibility" not in detail
    listed = client.get(reverse("portal:applications")).content.decode()
    assert application.reference in listed and "决定日（营业日）" in listed
    # The business date of the decision (the business clock is behind the calendar here).
    assert application.decided_on == business_date_today() != dt.date.today()
    assert f'data-testid="decided-on"><span class="nowrap">{application.decided_on.isoformat()}<' in listed


def test_applying_without_accepting_the_agreement_is_refused_on_the_checkbox(world, client):
    merchant = seller(client)
    page = client.get(f"{reverse('portal:apply')}?product=credit_loan&amount=2000.00")

    response = apply_post(client, "credit_loan", "2000.00", sha=shown_sha(page), accept=False)
    assert response.status_code == 400
    assert 'data-testid="accept-errors"' in response.content.decode()
    stale = apply_post(client, "credit_loan", "3000.00", sha=shown_sha(page))
    assert stale.status_code == 400 and "合同条款已更新" in stale.content.decode()
    bad_amount = apply_post(client, "credit_loan", "12.345", sha=shown_sha(page))
    assert bad_amount.status_code == 400 and 'data-testid="amount-errors"' in bad_amount.content.decode()
    assert not Application.objects.filter(merchant=merchant).exists()


def test_an_order_loan_pledges_exactly_the_ticked_orders(world, client):
    merchant = seller(client)
    first, second, third, fourth = shipped(merchant, 150_000, 80_000, 60_000, 40_000)
    page = client.get(reverse("portal:apply"), {"product": "order_loan"})
    html = page.content.decode()
    # Newest first, with their amounts for the page's sum.
    assert html.index(fourth.external_id) < html.index(first.external_id)
    assert f'data-amount-fen="{second.amount_fen}"' in html

    product = Product.objects.get(code="order_loan")
    cover = int((second.amount_fen + fourth.amount_fen) * product.advance_rate)
    amount = f"{cover / 100:.2f}"
    terms = client.get(
        reverse("portal:apply-terms"),
        {"product": "order_loan", "amount": amount, "orders": [second.pk, fourth.pk]},
    ).json()["terms"]
    assert terms["outcome"] == "pass"
    assert f"订单号 {second.external_id}, {fourth.external_id}" in terms["contract_text"]

    response = apply_post(
        client, "order_loan", amount, sha=terms["contract_sha256"], orders=[second.pk, fourth.pk]
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    application = Application.objects.get(merchant=merchant)
    assert application.status == Application.Status.DISBURSED
    assert sorted(Pledge.objects.filter(loan=application.loan).values_list("order_id", flat=True)) == sorted(
        [second.pk, fourth.pk]
    )
    assert wallet_fen(merchant) == cover
    # Pledged now, so no longer offered; the orders left unticked still are.
    assert not Pledge.objects.filter(order__in=[first, third]).exists()
    listed = client.get(reverse("portal:apply"), {"product": "order_loan"}).content.decode()
    assert second.external_id not in listed and third.external_id in listed


def test_ticking_another_merchants_order_or_a_settled_one_is_refused_on_the_orders(world, client):
    merchant = seller(client)
    (mine,) = shipped(merchant, 100_000)
    other = rated_merchant(**STRONG)
    (theirs,) = shipped(other, 100_000)
    settled = OrderFactory(merchant=merchant, amount_fen=100_000, status=OrderStatus.SETTLED)

    for bad in (theirs, settled):
        terms = client.get(
            reverse("portal:apply-terms"),
            {"product": "order_loan", "amount": "500.00", "orders": [mine.pk, bad.pk]},
        ).json()
        assert "orders" in terms["fields"]
        response = apply_post(client, "order_loan", "500.00", orders=[mine.pk, bad.pk])
        assert response.status_code == 400
        assert 'data-testid="orders-errors"' in response.content.decode()
        assert "未质押的订单" in response.content.decode()
    assert not Application.objects.exists()
    nothing = apply_post(client, "order_loan", "500.00", orders=[])
    assert nothing.status_code == 400 and 'data-testid="orders-errors"' in nothing.content.decode()


def test_a_decline_shows_its_reasons_and_date_and_is_appealed_once(world, client):
    merchant = seller(client, gmv=2_000.0, refund=0.4)
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    page = client.get(f"{reverse('portal:apply')}?product=credit_loan&amount=2000.00")
    assert "按今日数据将不予通过" in page.content.decode()

    response = apply_post(client, "credit_loan", "2000.00", accept=False)

    application = Application.objects.get(merchant=merchant)
    assert application.status == Application.Status.DECLINED
    detail = client.get(response.url).content.decode()
    assert escape(stored_text(application.reasons[0])) in detail
    assert (TODAY + dt.timedelta(days=30)).isoformat() in detail
    assert 'data-testid="appeal"' in detail
    home = client.get(reverse("portal:overview")).content.decode()
    # The home page gives the reason in plain words of the merchant's language, from its code.
    with translation.override("zh-hans"):
        plain = escape(reason_words(application.reasons[0]["code"]))
    assert plain in home and application.reapply_on.isoformat() in home

    url = reverse("portal:application-appeal", args=[application.reference])
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 400 and "errorlist" in empty.content.decode()
    appealed = client.post(url, {"reason": "sales are up this month"})
    appeal = Application.objects.get(appeal_of=application)
    assert appealed.url == reverse("portal:application", args=[appeal.reference])
    again = client.post(url, {"reason": "once more"})
    assert again.status_code == 409 and "该申请已申诉过" in again.content.decode()
    assert Application.objects.filter(merchant=merchant).count() == 2
    assert (
        'data-testid="appeal"'
        not in client.get(reverse("portal:application", args=[appeal.reference])).content.decode()
    )


def test_another_merchants_application_is_not_found(world, client):
    owner = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    application = apps.application_submit(
        merchant=owner, product=product, amount_fen=200_000, channel="portal", on=TODAY, actor="owner"
    )
    seller(client, username="nosy")
    for name in ("portal:application", "portal:application-status"):
        assert client.get(reverse(name, args=[application.reference])).status_code == 404
    appeal = client.post(reverse("portal:application-appeal", args=[application.reference]), {"reason": "x"})
    assert appeal.status_code == 404
    withdraw = client.post(reverse("portal:application-withdraw", args=[application.reference]))
    assert withdraw.status_code == 404


@override_settings(LENDING_INSTANT_PAYOUT="async")
def test_with_an_async_payout_the_status_goes_from_approved_to_disbursed(
    world, client, django_capture_on_commit_callbacks
):
    merchant = seller(client)
    page = client.get(f"{reverse('portal:apply')}?product=credit_loan&amount=2000.00")
    sent = []
    from lending import tasks

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = apply_post(client, "credit_loan", "2000.00", sha=shown_sha(page))
    application = Application.objects.get(merchant=merchant)
    status_url = reverse("portal:application-status", args=[application.reference])
    before = client.get(status_url).json()
    assert before["status"] == "approved" and before["is_paying"] and before["loan"] is None
    assert 'data-poll="1"' in client.get(response.url).content.decode()
    assert wallet_fen(merchant) == 0

    # The task the commit would have sent, run as a worker would.
    assert len(callbacks) == 1
    original = tasks.application_fulfil.delay
    tasks.application_fulfil.delay = lambda *args: sent.append(args) or tasks.application_fulfil(*args)
    try:
        callbacks[0]()
    finally:
        tasks.application_fulfil.delay = original
    assert sent == [(application.pk, TODAY.isoformat())]

    after = client.get(status_url).json()
    assert after["status"] == "disbursed" and not after["is_paying"]
    assert after["loan"]["principal"] == "2,000.00"
    assert wallet_fen(merchant) == 200_000


def test_approved_on_new_terms_is_accepted_on_the_application_page(world, client):
    merchant = seller(client)
    product = Product.objects.get(code="credit_loan")
    # Accepted an agreement that no longer matches (another amount): approved, not paid.
    application = apps.application_submit(
        merchant=merchant,
        product=product,
        amount_fen=200_000,
        channel="portal",
        on=TODAY,
        actor="seller",
        accepted_sha256="0" * 64,
    )
    assert application.status == Application.Status.APPROVED and application.loan_id is None
    page = client.get(reverse("portal:application", args=[application.reference])).content.decode()
    assert 'data-testid="new-agreement"' in page
    sha = re.search(r'name="contract_sha256" value="([0-9a-f]{64})"', page).group(1)

    wrong = client.post(
        reverse("portal:application-draw", args=[application.reference]),
        {"contract_sha256": "1" * 64, "request_token": str(uuid.uuid4())},
    )
    assert wrong.status_code in (400, 409) and Loan.objects.count() == 0
    token = str(uuid.uuid4())
    url = reverse("portal:application-draw", args=[application.reference])
    response = client.post(url, {"contract_sha256": sha, "request_token": token})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.DISBURSED and wallet_fen(merchant) == 200_000


def test_an_application_being_decided_is_withdrawn(world, client):
    member = rated_merchant(kind="b2b", **STRONG)
    member.user = User.objects.create_user("member", password="x")
    member.save(update_fields=["user"])
    client.force_login(member.user)
    from tests.lending.test_applications import b2b_application

    application = b2b_application(member)
    assert application.status == Application.Status.REFERRED
    page = client.get(reverse("portal:application", args=[application.reference]))
    assert page.status_code == 200 and 'data-testid="withdraw"' in page.content.decode()
    client.post(reverse("portal:application-withdraw", args=[application.reference]))
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN


def test_bad_input_is_named_on_the_form_never_a_server_error(world, client):
    merchant = seller(client)
    url = f"{reverse('portal:apply')}?product=order_loan"
    not_ids = client.post(url, {"amount": "500.00", "request_token": str(uuid.uuid4()), "orders": ["abc"]})
    assert not_ids.status_code == 400 and 'data-testid="orders-errors"' in not_ids.content.decode()
    no_token = client.post(url, {"amount": "500.00", "orders": []})
    assert no_token.status_code == 400 and "表单已失效" in no_token.content.decode()
    negative = client.get(reverse("portal:apply-terms"), {"product": "credit_loan", "amount": "-5"})
    assert negative.status_code == 400 and "amount" in negative.json()["error"]["fields"]
    too_much = client.get(reverse("portal:apply-terms"), {"product": "credit_loan", "amount": "99999999.00"})
    assert too_much.status_code == 200 and "amount" in too_much.json()["fields"]
    assert client.get(reverse("portal:apply"), {"product": "no-such"}).status_code == 404
    assert client.get(reverse("portal:apply"), {"product": "credit_loan", "amount": "abc"}).status_code == 200
    assert not Application.objects.filter(merchant=merchant).exists()


def test_the_home_page_shows_an_application_with_a_person_and_its_stage(world, client):
    member = rated_merchant(kind="b2b", **STRONG)
    member.user = User.objects.create_user("member", password="x")
    member.save(update_fields=["user"])
    client.force_login(member.user)
    from tests.lending.test_applications import b2b_application

    application = b2b_application(member)
    home = client.get(reverse("portal:overview")).content.decode()
    assert application.reference in home
    with translation.override("zh-hans"):
        assert str(STATUS_WORDS[Application.Status.REFERRED]) in home
        assert reason_words(application.current_stage.rsplit(".", 1)[-1]) in home
    # A B2B product is applied for on the member pages, not on the seller's one-page form.
    response = client.get(reverse("portal:apply"), {"product": "revolving"})
    assert response.status_code == 302
    terms = client.get(reverse("portal:apply-terms"), {"product": "revolving", "amount": "100000.00"})
    assert terms.status_code == 400 and "product" in terms.json()["error"]["fields"]
