"""What the browser tests share: Debian's Chromium through Playwright (the fixtures follow
tests/test_portal_browser.py), pages that record console errors and uncaught exceptions, the
phone-width check and screenshots under var/screenshots/ for reviewers."""

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("XIAODAI_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery-staple"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 375, "height": 740}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)),
        reason=f"no Chromium executable at {CHROMIUM} (install Debian's chromium or set "
        "XIAODAI_CHROMIUM); Playwright must not download a browser",
    ),
    pytest.mark.django_db(transaction=True),
]

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_sync.expect


@pytest.fixture(scope="module")
def browser():
    # As in tests/test_portal_browser.py: Playwright's event loop makes Django refuse ORM calls in
    # this thread unless async-unsafe calls are allowed, only while the browser runs.
    with pytest.MonkeyPatch.context() as patch, playwright_sync.sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Watched:
    """A page whose console errors and uncaught exceptions are kept, with the URL they came on."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))

    def _console(self, message) -> None:
        if message.type == "error":
            source = (message.location or {}).get("url") or ""
            self.errors.append(f"{self.page.url}: {message.text} [{source}]")

    def sideways_overflow(self) -> int:
        """How many CSS pixels the page is wider than the window (0: no sideways scroll)."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )

    def check(self) -> None:
        """No console error so far and, on a narrow window, no sideways scroll."""
        assert not self.errors, self.errors
        if self.page.viewport_size and self.page.viewport_size["width"] <= PHONE["width"]:
            assert self.sideways_overflow() <= 0, f"{self.page.url} scrolls sideways"

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width = (self.page.viewport_size or DESKTOP)["width"]
        kind = "phone" if width <= PHONE["width"] else "desktop"
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{kind}.png"), full_page=True)


@pytest.fixture
def watched_page(browser):
    """Watched pages in fresh browser contexts (own cookies), closed after the test."""
    contexts = []

    def open_page(*, base_url: str, viewport=None, language: str | None = None, **options):
        if viewport and viewport["width"] <= PHONE["width"]:
            options.update(is_mobile=True, has_touch=True)
        context = browser.new_context(viewport=viewport or DESKTOP, **options)
        contexts.append(context)
        if language:
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}])
        return Watched(context.new_page())

    yield open_page
    for context in contexts:
        context.close()


def log_in(watched: Watched, url: str, username: str, password: str = PASSWORD) -> None:
    page = watched.page
    page.goto(f"{url}/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
