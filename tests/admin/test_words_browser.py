"""The pages whose machine text became words, in a real browser (Debian's Chromium) on a 375 px
phone and a 1280 px desktop in both languages: the scoring policy's grid, a sandbox run's policy
on the workbench and on its risk page, a hold's purpose, and a user's page whose two-box pickers
explain themselves in the reader's language. A risk manager who types a bad cell is told which."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.browser_support import (
    BROWSER_MARKS,
    DESKTOP,
    NARROW,
    Watched,
    screenshot,
    sideways_overflow,
    signed_in_page,
)

pytestmark = BROWSER_MARKS

JSON_OR_CODES = (
    r"\{\s*\"|\"\s*:\s*\"|\b(?:max_pd|line_multiple|rate_markup|acceptance_rate_target|odds_factor)\b"
)
PICKER_ENGLISH = r"by selecting them|arrow button|click to clear|Choose all|Remove all|Available |Chosen "


@pytest.fixture
def world():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from payments import services
    from scoring.models import SandboxRun, ScoringPolicy, default_grade_terms
    from scoring.sandbox import simulate
    from tests.merchants.factories import MerchantFactory

    users = get_user_model().objects
    chief = users.create_superuser("chief", "chief@xiaodai.example", "x")
    officer = users.create_user("officer-words", password="x", is_staff=True)
    officer.groups.add(Group.objects.get_or_create(name="loan_officer")[0])
    ScoringPolicy.objects.create(pk=1, grade_terms=default_grade_terms())
    today = {
        "cutoff_grade": "D",
        "acceptance_rate_target": "0.300",
        "capacity_share": "0.500",
        "grade_terms": default_grade_terms(),
    }
    candidate, assumptions = simulate.policy_parse(
        {
            "cutoff_grade": "C",
            "acceptance_rate_target": "0.25",
            "line_max_yuan": "250000",
            "odds_factor": "1.25",
        },
        today=today,
    )
    run = SandboxRun.objects.create(
        created_by=chief,
        name="tighter C",
        policy={**candidate.as_json(), "assumptions": assumptions.as_json()},
        baseline=today,
    )
    wallet = services.wallet_open(merchant=MerchantFactory())
    services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="fund-browser")
    payout = services.withdrawal_request(wallet=wallet, amount_fen=12_345, idempotency_key="browser-1")
    pages = {
        "policy": reverse("admin:scoring_scoringpolicy_change", args=[1]),
        "sandbox-admin": reverse("admin:scoring_sandboxrun_change", args=[run.pk]),
        "sandbox-risk": reverse("risk:sandbox-run", args=[run.pk]),
        "hold": reverse("admin:payments_hold_change", args=[payout.hold.pk]),
        "user": reverse("admin:auth_user_change", args=[officer.pk]),
    }
    return chief, pages


def _open(new_page, live_server, user, language, viewport):
    page = signed_in_page(new_page, live_server, user, viewport=viewport)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    return page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("viewport", [NARROW, DESKTOP], ids=["375px", "1280px"])
def test_the_pages_read_as_words_on_a_phone_and_a_desktop(new_page, live_server, world, language, viewport):
    chief, pages = world
    page = _open(new_page, live_server, chief, language, viewport)
    watched = Watched(page)
    overflow = {}
    for name, url in pages.items():
        assert page.goto(live_server.url + url).status == 200, name
        page.wait_for_load_state()
        if name == "user":
            page.wait_for_selector(".selector .selector-chooseall")  # drawn by SelectFilter2.js
        root = "main" if name == "sandbox-risk" else "#content"
        if name == "sandbox-risk":
            page.locator("[data-testid=run-policy] summary").click()
        text = page.locator(root).inner_text()
        found = page.evaluate(
            "([text, pattern]) => (text.match(new RegExp(pattern, 'g')) || []).slice(0, 3)",
            [text, JSON_OR_CODES],
        )
        assert found == [], (language, name, found)
        if name == "user":
            pickers = page.locator(".selector").all_inner_texts()
            helps = page.locator(
                ".selector .helptext, .selector-available-title .helptext, .selector p"
            ).all_inner_texts()
            assert pickers, "the two-box pickers are drawn"
            if language == "zh-hans":
                english = page.evaluate(
                    "([text, pattern]) => (text.match(new RegExp(pattern, 'g')) || [])",
                    ["\n".join(pickers + helps), PICKER_ENGLISH],
                )
                assert english == [], english
        if name == "policy":
            assert page.locator("input[name='grade_terms.B.rate_markup']").input_value() == "0.005"
        if name == "hold":
            assert page.locator("#content a[href*='/payments/payout/']").count() >= 1
        overflow[name] = sideways_overflow(page)
        screenshot(page, f"words-{name}-{language}-{viewport['width']}")
    assert not watched.errors, watched.errors
    if viewport is NARROW:
        # Our grids scroll inside their own box; the page itself may not scroll sideways.
        assert overflow["sandbox-risk"] <= 0, overflow


def test_a_bad_cell_is_named_beside_the_grid_and_nothing_is_saved(new_page, live_server, world):
    from scoring.models import ScoringPolicy

    chief, pages = world
    before = ScoringPolicy.objects.get().grade_terms
    page = _open(new_page, live_server, chief, "zh-hans", DESKTOP)
    page.goto(live_server.url + pages["policy"])
    page.locator("input[name='grade_terms.B.rate_markup']").fill("-1")
    page.locator("input[name='_continue']").click()
    page.wait_for_load_state()
    errors = " ".join(page.locator(".errorlist").all_inner_texts())
    assert "grade_terms.B.rate_markup" in errors and "B 级" in errors, errors
    assert page.locator("input[name='grade_terms.B.rate_markup'][aria-invalid=true]").count() == 1
    assert ScoringPolicy.objects.get().grade_terms == before
    screenshot(page, "words-policy-error-zh-hans-1280")
