"""The pages that now show business dates (the wallet's withdrawals, the loan agreement, the
shop's 30 days) in a browser, in Chinese and English, at 375 px and 1280 px: the business date is
on the page, nothing scrolls sideways, no date or amount breaks across lines, no console error,
no table heading or cell over another."""

import datetime as dt

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from common.business_date import business_date_set
from lending import services
from payments import services as payments
from tests.browser_support import (
    BROWSER_MARKS,
    DESKTOP,
    NARROW,
    PASSWORD,
    broken_words,
    log_in,
    overlapping_cells,
    wrapped_headings,
)
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import OrderFactory

pytestmark = BROWSER_MARKS

DAY = dt.date(2025, 3, 3)  # hundreds of days behind the calendar


def _world() -> str:
    business_date_set(on=DAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    line = CreditLineFactory(product=ProductFactory(credit_loan=True), limit_fen=1_000_000)
    user = User.objects.create_user("clock-walker", password=PASSWORD)
    line.merchant.user = user
    line.merchant.save(update_fields=["user"])
    quote = services.loan_quote(line=line, amount_fen=300_000, start_on=DAY)
    loan = services.loan_draw(
        line=line,
        amount_fen=300_000,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="draw",
        via="portal",
        user=user,
        on=DAY,
    )
    payments.withdrawal_request(wallet=loan.wallet, amount_fen=100_000, idempotency_key="w-1", on=DAY)
    placed = timezone.make_aware(dt.datetime.combine(DAY - dt.timedelta(days=2), dt.time(10)))
    OrderFactory(merchant=line.merchant, amount_fen=10_000, placed_at=placed)
    return loan.reference


def test_the_business_dated_pages_on_a_phone_and_a_desktop_in_both_languages(watched_page, live_server):
    reference = _world()
    pages = {
        "wallet": (reverse("portal:wallet"), '[data-testid="payout-requested-on"]'),
        "loan": (reverse("portal:loan-detail", args=[reference]), '[data-testid="contract-accepted-on"]'),
        "shop": (reverse("portal:shop"), '[data-testid="sales-30d"]'),
    }
    problems = []
    for language in ("zh-hans", "en"):
        for viewport in (NARROW, DESKTOP):
            watched = watched_page(base_url=live_server.url, viewport=viewport, language=language)
            log_in(watched.page, live_server, "clock-walker")
            for name, (path, selector) in pages.items():
                watched.page.goto(live_server.url + path)
                watched.page.wait_for_load_state()
                watched.check()
                shown = watched.page.locator(selector).first.inner_text()
                expected = "100.00" if name == "shop" else f"{DAY:%Y-%m-%d}"
                if shown.strip() != expected:
                    problems.append(f"{language} {viewport['width']} {name}: {shown!r}")
                found = overlapping_cells(watched.page) + wrapped_headings(watched.page)
                found += broken_words(watched.page)
                problems.extend(f"{language} {viewport['width']} {name}: {p}" for p in found)
                watched.screenshot(f"clock-{language}-{name}")
            watched.page.context.close()
    assert not problems, "\n".join(problems)
