"""The Content-Security-Policy in Debian's Chromium: the portal (its inline script included), the
workbench and the API docs load and work with no violation; the portal's sign-in lockout at a
phone's width."""

import pytest
from django.contrib.auth.models import User

from tests.browser_support import BROWSER_MARKS, NARROW, PASSWORD, assert_fits, expect, log_in
from tests.lending.test_apply_browser import seller_with_an_offer_and_orders
from tests.merchants.factories import ApiKeyFactory

pytestmark = BROWSER_MARKS

# Every violation the browser reports, from the page's own event (console wording varies).
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile);
});
"""


def policy_watched(new_page, **options):
    page = new_page(**options)
    page.add_init_script(WATCH)
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.console_violations = console
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__violations") + page.console_violations


def test_the_portal_works_under_the_policy_and_its_inline_script_runs(new_page, live_server):
    seller_with_an_offer_and_orders()
    page = policy_watched(new_page)
    log_in(page, live_server, "seller")
    expect(page).to_have_url(f"{live_server.url}/overview/")
    seen = {}
    for path in ["/overview/", "/shop/", "/wallet/", "/loans/", "/credit/", "/applications/"]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy.split("script-src")[1].split(";")[0]
        seen[path] = violations(page)
    assert all(not found for found in seen.values()), seen

    # The apply page's inline script (nonce'd) runs: ticking orders fills in the amount it allows.
    page.goto(f"{live_server.url}/overview/")
    page.get_by_test_id("apply-order_loan").click()
    maximum = page.get_by_test_id("order-max")
    expect(maximum).to_have_text("0.00")
    page.locator("input[name=orders]").first.check()
    expect(maximum).not_to_have_text("0.00")
    assert violations(page) == []


def test_the_workbench_works_under_the_policy(new_page, live_server):
    User.objects.create_superuser(username="admin", password=PASSWORD, email="admin@example.com")
    ApiKeyFactory()
    page = policy_watched(new_page)
    log_in(page, live_server, "admin")
    expect(page).to_have_url(f"{live_server.url}/admin/")
    for path in [
        "/admin/",
        "/admin/merchants/apikey/",
        "/admin/merchants/partnerplatform/",
        "/ops/assembly-line/",
    ]:
        assert page.goto(f"{live_server.url}{path}").status == 200, path
    # The admin's own scripts run: "select all" ticks every row of a change list.
    page.goto(f"{live_server.url}/admin/merchants/apikey/")
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1")
    assert violations(page) == []


@pytest.mark.parametrize(
    ("path", "marker"), [("/api/docs/", "#swagger-ui .info .title"), ("/api/redoc/", "h1")]
)
def test_the_api_docs_render_under_the_policy(new_page, live_server, path, marker):
    page = policy_watched(new_page)
    page.goto(f"{live_server.url}{path}")
    expect(page.locator(marker).first).to_contain_text("Xiaodai partner API", timeout=20_000)
    page.wait_for_load_state("networkidle")
    # Nothing of ours is blocked. The policy does stop what the docs would fetch from elsewhere
    # (Redoc's badge image from its vendor's site): the page loads nothing from the internet.
    blocked = [v.split()[1] for v in page.evaluate("window.__violations")]
    ours = [uri for uri in blocked if not uri.startswith("http") or uri.startswith(live_server.url)]
    assert ours == [], blocked


def test_the_portal_locks_sign_in_after_repeated_failures_on_a_phone(new_page, live_server, settings):
    User.objects.create_user(username="seller", password=PASSWORD)
    page = policy_watched(new_page, viewport=NARROW, is_mobile=True, has_touch=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(page, live_server, "seller", password="not-the-password")
        expect(page.locator("main .errorlist")).to_be_visible()
    log_in(page, live_server, "seller", password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in temporarily locked")
    # The right password no longer gets in while the lock lasts (the browser asks for English).
    log_in(page, live_server, "seller")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in temporarily locked")
    expect(page).not_to_have_url(f"{live_server.url}/overview/")
    assert_fits(page)
    assert violations(page) == []
