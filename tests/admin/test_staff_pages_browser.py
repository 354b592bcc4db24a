"""The workbench's amounts in yuan in a real browser (Debian's Chromium), on a 375 px phone and a
1280 px desktop in both languages: a product's, a hold's and a loan's amounts read in yuan under
labels that say so, a questionnaire as statements and answers, a user's roles by their names;
and an officer who types a product's largest amount in yuan saves the exact fen."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.browser_support import BROWSER_MARKS, DESKTOP, NARROW, PASSWORD, log_in, screenshot
from tests.conftest import skip_unless_demo

pytestmark = BROWSER_MARKS

SHOWN_WRONG = r"\w+_fen\b|\bfen\b|lending\.stages\.|\{\s*\""


@pytest.fixture
def world():
    from django.contrib.auth import get_user_model

    from lending.models import Loan, Product
    from merchants.models import QuestionnaireResponse
    from payments.models import Hold
    from tests.page_catalogue import demo_world_build

    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    users = get_user_model().objects
    users.create_superuser("chief", "chief@xiaodai.example", PASSWORD)
    officer = users.filter(groups__isnull=False, is_staff=True).order_by("pk").first()
    pages = {
        "product": reverse("admin:lending_product_change", args=[Product.objects.order_by("pk").first().pk]),
        "loan": reverse("admin:lending_loan_change", args=[Loan.objects.order_by("-pk").first().pk]),
        "hold": reverse("admin:payments_hold_change", args=[Hold.objects.order_by("-pk").first().pk]),
        "questionnaire": reverse(
            "admin:merchants_questionnaireresponse_change",
            args=[QuestionnaireResponse.objects.order_by("-pk").first().pk],
        ),
        "user": reverse("admin:auth_user_change", args=[officer.pk]),
        "holds": reverse("admin:payments_hold_changelist"),
    }
    return pages


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("viewport", [NARROW, DESKTOP], ids=["375px", "1280px"])
def test_the_workbench_reads_in_yuan_on_a_phone_and_a_desktop(
    new_page, live_server, world, language, viewport
):
    page = new_page(viewport=viewport)
    cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
    page.context.add_cookies([cookie])
    log_in(page, live_server, "chief")
    for name, url in world.items():
        assert page.goto(live_server.url + url).status == 200, name
        text = page.locator("#content").inner_text()
        found = page.evaluate(
            "([text, pattern]) => (text.match(new RegExp(pattern, 'gi')) || []).slice(0, 3)",
            [text, SHOWN_WRONG],
        )
        assert found == [], (language, name, found)
        assert "¥" in text or name in ("questionnaire", "user"), (language, name)
        screenshot(page, f"workbench-yuan-{name}-{language}-{viewport['width']}")
    page.context.close()


def test_an_officer_types_yuan_and_the_product_keeps_the_exact_fen(new_page, live_server, world):
    from lending.models import Product

    product = Product.objects.order_by("pk").first()
    wanted = product.amount_max_fen - 123_457  # 1,234.57 yuan less: no float sums to it exactly
    assert wanted > product.amount_min_fen
    page = new_page(viewport=DESKTOP)
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    log_in(page, live_server, "chief")
    page.goto(live_server.url + world["product"])
    field = page.locator("#id_amount_max_fen")
    assert field.input_value() == f"{product.amount_max_fen / 100:.2f}"  # display only: yuan, two places
    field.fill(f"{wanted // 100}.{wanted % 100:02d}")
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state()
    assert page.locator(".errorlist").count() == 0, page.locator(".errorlist").all_inner_texts()
    product.refresh_from_db()
    assert product.amount_max_fen == wanted
    page.context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_list_on_a_phone_keeps_a_few_characters_a_line_and_scrolls_sideways(
    new_page, live_server, world, language
):
    """A changelist's columns shrank to fit 375 px: a shop's Chinese name stood one character a
    line. Each cell keeps room for a few characters; the list scrolls inside itself."""
    page = new_page(viewport=NARROW)
    cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
    page.context.add_cookies([cookie])
    log_in(page, live_server, "chief")
    for name in ("lending_application", "merchants_merchant", "lending_loan", "payments_hold"):
        assert page.goto(live_server.url + reverse(f"admin:{name}_changelist")).status == 200, name
        squeezed = page.evaluate(
            """() => [...document.querySelectorAll('#result_list td:not(.action-checkbox)')]
                .filter(td => td.innerText.trim().length > 4)
                .filter(td => td.clientWidth < 4.5 * parseFloat(getComputedStyle(td).fontSize))
                .map(td => td.innerText.trim()).slice(0, 3)"""
        )
        assert page.locator("#result_list tbody tr").count() > 0, name
        assert squeezed == [], (language, name, squeezed)
        # the page itself does not scroll sideways: the list does, inside its own box
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), name
        screenshot(page, f"workbench-list-{name}-{language}-375")
    page.context.close()
