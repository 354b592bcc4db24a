"""What every browser test shares: Debian's Chromium driven by Playwright against pytest-django's
live server, its marks, fresh pages, signing in, the console-error and sideways-scroll checks and
screenshots under var/screenshots/ for reviewers (var/ is not committed).

A browser test module sets `pytestmark = BROWSER_MARKS` and asks for the fixtures below by name;
tests/conftest.py makes them known to every test (`pytest_plugins`)."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

try:
    from playwright import sync_api as playwright_sync
except ImportError:  # pragma: no cover - the browser tests skip, saying why
    playwright_sync = None

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
PHONE_WIDTH = 375
PHONE = {"width": 390, "height": 844}
NARROW = {"width": PHONE_WIDTH, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(playwright_sync is None, reason="playwright is not installed"),
    pytest.mark.skipif(
        not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)),
        reason=f"no Chromium executable at {CHROMIUM} (install Debian's chromium or set "
        "XIAODAI_CHROMIUM); Playwright must not download a browser",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fast_password_hashing"),
]


def expect(target, *args, **kwargs):
    """Playwright's `expect` (imported only where Playwright is installed)."""
    return playwright_sync.expect(target, *args, **kwargs)


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse
    # ORM calls (creating test data, flushing the database) as async-unsafe. Django's docs suggest
    # this switch for Playwright; it is set only while the browser runs, so it does not leak
    # into the rest of the suite.
    with pytest.MonkeyPatch.context() as patch, playwright_sync.sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def fast_password_hashing(settings):
    # The live server runs in this process, so it checks passwords with the same cheap hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts (own cookies), closed after the test."""
    contexts = []

    def open_page(**context_options):
        context = browser.new_context(**context_options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Through the portal's sign-in form, as a person does."""
    page.goto(f"{live_server.url}/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def signed_in_page(new_page, live_server, user, **context_options):
    """A page whose context carries a session of `user` (no sign-in form, no password)."""
    page = new_page(**context_options)
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": urlsplit(live_server.url).hostname,
                "path": "/",
            }
        ]
    )
    return page


def watch_console(page) -> list[str]:
    """Console errors and uncaught exceptions, with the page they came on, as they happen; the
    browser's own favicon request is not the page's."""
    errors: list[str] = []

    def on_console(message) -> None:
        source = (message.location or {}).get("url") or ""
        if message.type == "error" and not source.endswith("/favicon.ico"):
            errors.append(f"{page.url}: {message.text} [{source}]")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: uncaught {exc}"))
    return errors


def sideways_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# A date, an amount or a rate in running text, as the portal writes them.
BROKEN_FIGURES_JS = r"""() => {
  const figure = /\d{4}-\d\d-\d\d|-?¥[\d,]+\.\d\d|\d+(?:\.\d+)? ?%\/(?:day|year)/g;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(figure)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const boxes = [...range.getClientRects()].filter(r => r.width > 0);
      const lines = new Set(boxes.map(r => Math.round(r.bottom)));
      if (lines.size > 1) found.push(match[0]);
    }
  }
  return found;
}"""


def broken_figures(page) -> list[str]:
    """Dates, amounts and rates the window breaks across two lines ("2026-" / "12-20" on a phone)."""
    return page.evaluate(BROKEN_FIGURES_JS)


def assert_fits(page) -> None:
    assert sideways_overflow(page) <= 0, f"{page.url} scrolls sideways"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class Watched:
    """A page whose console errors and uncaught exceptions are kept, with the URL they came on."""

    def __init__(self, page):
        self.page = page
        self.errors = watch_console(page)

    def check(self) -> None:
        """No console error so far and, on a narrow window, no sideways scroll and no date, amount
        or rate broken across two lines."""
        assert not self.errors, self.errors
        if self.page.viewport_size and self.page.viewport_size["width"] <= PHONE["width"]:
            assert_fits(self.page)
            # The workbench's pages (Django admin's own layout) are not checked for it yet.
            if not urlsplit(self.page.url).path.startswith("/admin/"):
                assert not broken_figures(self.page), f"{self.page.url} breaks {broken_figures(self.page)}"

    def screenshot(self, name: str) -> None:
        width = (self.page.viewport_size or DESKTOP)["width"]
        screenshot(self.page, f"{name}-{'phone' if width <= PHONE['width'] else 'desktop'}")


@pytest.fixture
def watched_page(new_page):
    """Watched pages in fresh browser contexts: a window as narrow as a phone is a touch phone's;
    `language` sets the site's language cookie."""

    def open_page(*, base_url: str, viewport=None, language: str | None = None, **options):
        if viewport and viewport["width"] <= PHONE["width"]:
            options.update(is_mobile=True, has_touch=True)
        page = new_page(viewport=viewport or DESKTOP, **options)
        if language:
            page.context.add_cookies(
                [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}]
            )
        return Watched(page)

    return open_page
