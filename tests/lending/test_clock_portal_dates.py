"""The portal shows a merchant's money events on the business clock: a withdrawal by the business
date it was asked on, the loan agreement by the business date it was accepted on (the loan's own
dates are business dates), and the calendar time of the acceptance only labelled as such. The
business date here lies far from the calendar, as in the demo."""

import datetime as dt
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from common.business_date import business_date_set
from lending import services
from lending.models import Contract
from payments import services as payments
from payments.models import Payout
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.lending.test_documents import pdf_text

DAY = dt.date(2025, 3, 3)  # hundreds of days behind the calendar
LATER = DAY + dt.timedelta(days=9)


@pytest.fixture
def line(db, client):
    assert abs((timezone.localdate() - DAY).days) > 30, "the business date must lie far from the calendar"
    business_date_set(on=DAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    line = CreditLineFactory(product=ProductFactory(credit_loan=True), limit_fen=1_000_000)
    line.merchant.user = User.objects.create_user("clock-seller", password="x")
    line.merchant.save(update_fields=["user"])
    client.force_login(line.merchant.user)
    return line


def in_language(client, language: str) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def shown_by(html: str, name: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m)).strip()
        for m in re.findall(rf'data-testid="{name}"[^>]*>(.*?)</(?:td|span)>', html, re.S)
    ]


def draw_in_portal(client, line) -> str:
    """Get a quote on the draw page and accept it, as the merchant does; the loan's reference."""
    url = reverse("portal:loan-draw", args=[line.pk])
    quote = services.loan_quote(line=line, amount_fen=300_000, start_on=DAY)
    response = client.post(
        url,
        {"amount": "3000.00", "contract_sha256": quote.contract_sha256, "request_token": str(uuid.uuid4())},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def withdraw_in_portal(client, amount: str) -> None:
    response = client.post(
        reverse("portal:wallet-withdraw"), {"amount": amount, "request_token": str(uuid.uuid4())}
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_the_wallet_lists_a_withdrawal_by_the_business_date_it_was_asked_on(line, client):
    draw_in_portal(client, line)
    withdraw_in_portal(client, "1000.00")
    # The business date moves on before the merchant looks again: the request keeps its own day.
    business_date_set(on=LATER)
    withdraw_in_portal(client, "500.00")
    calendar_day = f"{timezone.localdate():%Y-%m-%d}"
    for language, header in (("en", "Requested on"), ("zh-hans", "申请日期")):
        in_language(client, language)
        html = client.get(reverse("portal:wallet")).content.decode()
        # No calendar timestamp next to the business-dated movements.
        assert calendar_day not in html, language
        assert shown_by(html, "payout-requested-on") == [f"{LATER:%Y-%m-%d}", f"{DAY:%Y-%m-%d}"], language
        assert header in html, language
    assert sorted(Payout.objects.values_list("requested_on", flat=True)) == [DAY, LATER]


def test_a_batch_of_withdrawals_is_dated_on_the_business_date_given_or_the_current_one(line, client):
    draw_in_portal(client, line)
    wallet = payments.wallet_open(merchant=line.merchant)
    given, current = payments.withdrawals_request(
        requests=[
            payments.WithdrawalRequest(wallet=wallet, amount_fen=100, idempotency_key="given", on=DAY),
        ]
    ) + payments.withdrawals_request(
        requests=[payments.WithdrawalRequest(wallet=wallet, amount_fen=100, idempotency_key="current")]
    )
    assert given.requested_on == DAY and current.requested_on == DAY
    business_date_set(on=LATER)
    assert (
        payments.withdrawal_request(wallet=wallet, amount_fen=100, idempotency_key="one").requested_on
        == LATER
    )


def test_the_agreement_shows_the_business_date_it_was_accepted_on_and_labels_the_calendar_time(line, client):
    reference = draw_in_portal(client, line)
    contract = Contract.objects.get(loan__reference=reference)
    business_date_set(on=LATER)
    recorded = f"{timezone.localtime(contract.accepted_at):%Y-%m-%d %H:%M}"
    for language, words in (
        ("en", ("Accepted on", "(calendar time)")),
        ("zh-hans", ("接受日期", "（自然时间）")),
    ):
        in_language(client, language)
        html = client.get(reverse("portal:loan-detail", args=[reference])).content.decode()
        # The calendar's date appears only where it is labelled as the calendar's.
        unlabelled = re.sub(r'<span data-testid="contract-recorded-at">.*?</span>', "", html, flags=re.S)
        assert f"{timezone.localdate():%Y-%m-%d}" not in unlabelled, language
        assert shown_by(html, "contract-accepted-on") == [f"{DAY:%Y-%m-%d}"], language
        shown = shown_by(html, "contract-recorded-at")
        assert len(shown) == 1 and recorded in shown[0] and words[1] in shown[0], (language, shown)
        assert words[0] in html, language
    assert contract.accepted_on == DAY == contract.loan.disbursed_on


def test_the_agreement_pdf_carries_the_business_date_of_acceptance_in_both_languages(line, client):
    reference = draw_in_portal(client, line)
    business_date_set(on=LATER)
    for language, words in (
        ("en", ("Accepted on", "Acceptance recorded (calendar time)")),
        ("zh-hans", ("接受日期", "接受记录时间（自然时间）")),
    ):
        in_language(client, language)
        response = client.get(reverse("portal:loan-agreement-pdf", args=[reference]))
        assert response.status_code == 200
        text = pdf_text(response.content)
        assert f"{words[0]}{DAY:%Y-%m-%d}" in text, (language, text[:1500])
        assert words[1] in text, language
