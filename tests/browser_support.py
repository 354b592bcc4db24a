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


# A date, an amount (with or without its ¥, grouped by thousands or with its fen), a rate or a
# per cent, and a loan's or application's reference (L20250331-17), as the portal and the
# workbench write them.
BROKEN_FIGURES_JS = r"""() => {
  const figure = new RegExp([
    String.raw`\d{4}-\d\d-\d\d`,
    String.raw`-?¥?\d{1,3}(?:,\d{3})+(?:\.\d+)?`,
    String.raw`-?¥\d+(?:\.\d+)?`,
    String.raw`\d+(?:\.\d+)? ?%(?:\/(?:day|year|日|年))?`,
    String.raw`\b[A-Z]\d{8}-\d+`,
  ].join("|"), "g");
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


# The words of a drawn chart (ECharts' SVG renderer writes each label, legend entry and axis name
# as a <text>, turned where a label is rotated): pairs whose boxes, turned as drawn, cover one
# another, and words cut off by the chart's edges.
CHART_CLASHES_JS = r"""(chart) => {
  const edge = chart.getBoundingClientRect();
  const slack = 1;  // a pixel of antialiasing is no overlap
  // The window a clip path leaves of a text, on the screen (null: not clipped).
  const clipOf = (text) => {
    for (let e = text.parentElement; e && e.tagName !== "svg"; e = e.parentElement) {
      const reference = (e.getAttribute("clip-path") || "").match(/#([^)"']+)/);
      const shape = reference && document.getElementById(reference[1]);
      if (!shape || !shape.firstElementChild) continue;
      const box = shape.firstElementChild.getBBox(), matrix = e.getScreenCTM(), svg = e.ownerSVGElement;
      const on = (x, y) => {
        const p = svg.createSVGPoint();
        p.x = x;
        p.y = y;
        return p.matrixTransform(matrix);
      };
      const a = on(box.x, box.y), b = on(box.x + box.width, box.y + box.height);
      return {left: Math.min(a.x, b.x), right: Math.max(a.x, b.x),
              top: Math.min(a.y, b.y), bottom: Math.max(a.y, b.y)};
    }
    return null;
  };
  const words = [...chart.querySelectorAll("svg text")].map(t => {
    const box = t.getBBox(), matrix = t.getScreenCTM(), svg = t.ownerSVGElement;
    const corners = [[box.x, box.y], [box.x + box.width, box.y], [box.x + box.width, box.y + box.height],
                     [box.x, box.y + box.height]].map(([x, y]) => {
      const point = svg.createSVGPoint();
      point.x = x; point.y = y;
      const on = point.matrixTransform(matrix);
      return [on.x, on.y];
    });
    return {text: t.textContent.trim(), corners, box, clip: clipOf(t)};
  }).filter(w => w.text && w.box.width > 0 && w.box.height > 0).flatMap(w => {
    if (!w.clip) return [w];
    // A scrolling legend's entries beyond its window are clipped away: only what shows counts.
    const xs = w.corners.map(c => c[0]), ys = w.corners.map(c => c[1]);
    const left = Math.max(Math.min(...xs), w.clip.left), right = Math.min(Math.max(...xs), w.clip.right);
    const top = Math.max(Math.min(...ys), w.clip.top), bottom = Math.min(Math.max(...ys), w.clip.bottom);
    if (right - left <= slack || bottom - top <= slack) return [];
    return [{...w, corners: [[left, top], [right, top], [right, bottom], [left, bottom]]}];
  });
  // Separating axes: two convex quadrilaterals are apart if, along one edge's normal of either,
  // their projections leave a gap.
  const apart = (a, b) => [a, b].some(quad => quad.some((p, i) => {
    const q = quad[(i + 1) % 4], normal = [q[1] - p[1], p[0] - q[0]];
    const length = Math.hypot(normal[0], normal[1]) || 1;
    const project = c => (c[0] * normal[0] + c[1] * normal[1]) / length;
    const pa = a.map(project), pb = b.map(project);
    return Math.min(...pa) >= Math.max(...pb) - slack || Math.min(...pb) >= Math.max(...pa) - slack;
  }));
  const found = [];
  for (let i = 0; i < words.length; i += 1) {
    const xs = words[i].corners.map(c => c[0]), ys = words[i].corners.map(c => c[1]);
    if (Math.min(...xs) < edge.left - slack || Math.max(...xs) > edge.right + slack ||
        Math.min(...ys) < edge.top - slack || Math.max(...ys) > edge.bottom + slack) {
      found.push(`'${words[i].text}' cut off at the chart's edge`);
    }
    for (let j = i + 1; j < words.length; j += 1) {
      if (!apart(words[i].corners, words[j].corners)) {
        found.push(`'${words[i].text}' over '${words[j].text}'`);
      }
    }
  }
  return found;
}"""


def chart_clashes(page, name: str) -> list[str]:
    """The labels of the chart `chart-<name>` that overlap one another or are cut off by its edges
    (the chart must be drawn, with the SVG renderer the charts use)."""
    return page.get_by_test_id(f"chart-{name}").evaluate(CHART_CLASHES_JS)


# Words drawn over other words. Two findings, in one pass over the page:
# - a table cell whose content (its text, as Range.getClientRects lays it out, and its boxes:
#   bars, images, inputs) reaches out of the cell's own box into its neighbours';
# - two visible texts of different elements that lie over one another.
# Not counted: what is hidden (display, visibility, opacity, a closed <details>'s content), what a
# scrolling or clipping box cuts away (only the part that shows counts), SVG (the charts have
# chart_clashes), form lists, and overlays: what sits in an absolutely or fixedly positioned box
# (a dropdown, a tooltip, a visually hidden label) is compared only with what shares its overlay.
# Two lines of one paragraph whose letters touch are not over one another: texts must share more
# than half a line's height and a few pixels' width.
OVERLAPPING_CELLS_JS = r"""() => {
  const slack = 2, limit = 12;
  const style = new Map();
  const css = (e) => {
    if (!style.has(e)) style.set(e, getComputedStyle(e));
    return style.get(e);
  };
  const skipped = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "SELECT", "OPTION", "TEXTAREA",
                           "svg", "SVG"]);
  const everywhere = {left: -1e9, top: -1e9, right: 1e9, bottom: 1e9};
  // Per element: hidden?, the window its clipping ancestors leave, and its overlay (or null).
  const info = new Map();
  const infoOf = (e) => {
    if (info.has(e)) return info.get(e);
    let result;
    if (!e || e === document.documentElement) {
      result = {hidden: false, clip: everywhere, overlay: null, clips: false};
    } else {
      const s = css(e), up = infoOf(e.parentElement);
      // checkVisibility: also what a closed <details> holds (its content is not rendered).
      const hidden = up.hidden || skipped.has(e.tagName) || s.display === "none" ||
        s.visibility === "hidden" || s.visibility === "collapse" || Number(s.opacity) === 0 ||
        (e.checkVisibility && !e.checkVisibility());
      const overlay = (s.position === "absolute" || s.position === "fixed") ? e : up.overlay;
      let clip = up.clip;
      if (overlay === e && s.position === "fixed") clip = everywhere;
      const clips = s.overflowX !== "visible" || s.overflowY !== "visible";
      if (clips) {
        const b = e.getBoundingClientRect();
        clip = {left: Math.max(clip.left, b.left), top: Math.max(clip.top, b.top),
                right: Math.min(clip.right, b.right), bottom: Math.min(clip.bottom, b.bottom)};
      }
      result = {hidden, clip, overlay, clips};
    }
    info.set(e, result);
    return result;
  };
  const cut = (r, c) => ({left: Math.max(r.left, c.left), top: Math.max(r.top, c.top),
                          right: Math.min(r.right, c.right), bottom: Math.min(r.bottom, c.bottom)});
  const shows = (r) => r.right - r.left > slack && r.bottom - r.top > slack;
  const short = (text) => {
    const t = text.replace(/\s+/g, " ").trim();
    return t.length > 40 ? t.slice(0, 39) + "…" : t;
  };
  const name = (e) => {
    let n = e.tagName.toLowerCase();
    if (e.dataset && e.dataset.testid) n += `[data-testid=${e.dataset.testid}]`;
    else if (e.id) n += `#${e.id}`;
    else if (e.classList && e.classList.length) n += "." + [...e.classList].join(".");
    return n;
  };
  const where = (e) => {
    const parts = [];
    for (let a = e; a && a !== document.body && parts.length < 3; a = a.parentElement) {
      if (a === e || (a.dataset && a.dataset.testid) || a.id || a.tagName === "TABLE") parts.unshift(name(a));
    }
    return parts.join(" ");
  };
  // Every visible text: its element and its boxes on screen, cut to what shows.
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim()) continue;
    const e = node.parentElement, i = infoOf(e);
    if (i.hidden || e.closest("svg")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      const shown = cut(r, i.clip);
      if (shows(shown)) texts.push({node, element: e, box: r, shown, overlay: i.overlay, height: r.height});
    }
  }
  const found = [];
  // 1. Cells: their texts and their boxes (a bar, an image, a field) inside their own box.
  const seen = new Set();
  for (const cell of document.querySelectorAll("td, th")) {
    const ci = infoOf(cell);
    if (ci.hidden || ci.clips) continue;
    const edge = cell.getBoundingClientRect();
    if (edge.width === 0 && edge.height === 0) continue;
    const boxes = [];
    const cw = document.createTreeWalker(cell, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = cw.nextNode(); n; n = cw.nextNode()) {
      if (n.nodeType === Node.TEXT_NODE) {
        if (!n.data.trim()) continue;
        const e = n.parentElement, i = infoOf(e);
        if (i.hidden || i.overlay !== ci.overlay || e.closest("svg")) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        for (const r of range.getClientRects()) boxes.push({r: cut(r, i.clip), what: n.data});
      } else if (!n.firstElementChild && !n.textContent.trim()) {
        const i = infoOf(n);
        if (i.hidden || i.overlay !== ci.overlay) continue;
        boxes.push({r: cut(n.getBoundingClientRect(), infoOf(n.parentElement).clip), what: name(n)});
      }
    }
    for (const {r, what} of boxes) {
      if (!shows(r)) continue;
      const out = Math.max(edge.left - r.left, r.right - edge.right,
                           edge.top - r.top, r.bottom - edge.bottom);
      if (out > slack && !seen.has(cell)) {
        seen.add(cell);
        found.push(`'${short(what)}' spills ${Math.round(out)} px out of its cell ` +
                   `'${short(cell.textContent)}' (${where(cell)})`);
      }
    }
  }
  // 2. Texts over texts: by their tops, each against the ones that start before it ends.
  texts.sort((a, b) => a.shown.top - b.shown.top);
  const pairs = new Set();
  for (let i = 0; i < texts.length; i += 1) {
    const a = texts[i];
    for (let j = i + 1; j < texts.length && texts[j].shown.top < a.shown.bottom; j += 1) {
      const b = texts[j];
      if (a.element === b.element || a.overlay !== b.overlay) continue;
      const x = Math.min(a.shown.right, b.shown.right) - Math.max(a.shown.left, b.shown.left);
      const y = Math.min(a.shown.bottom, b.shown.bottom) - Math.max(a.shown.top, b.shown.top);
      if (x > slack && y > Math.max(slack, Math.min(a.height, b.height) / 2)) {
        const key = `${short(a.node.data)}|${short(b.node.data)}`;
        if (pairs.has(key)) continue;
        pairs.add(key);
        found.push(`'${short(a.node.data)}' (${where(a.element)}) over ` +
                   `'${short(b.node.data)}' (${where(b.element)})`);
      }
    }
  }
  return found.length > limit ? [...found.slice(0, limit), `… and ${found.length - limit} more`] : found;
}"""


def overlapping_cells(page) -> list[str]:
    """Table cells whose content spills into their neighbours and texts drawn over other texts,
    each named by its words and where it is (OVERLAPPING_CELLS_JS); [] when every word stands
    clear. One evaluation of the page."""
    return page.evaluate(OVERLAPPING_CELLS_JS)


# A table's column headings as their words lie: a heading over more than two lines is broken up
# (会议链接 one character a line on a phone) where the table should scroll instead.
WRAPPED_HEADINGS_JS = r"""() => [...document.querySelectorAll("thead th")].filter(th => {
  if (!th.checkVisibility() || !th.textContent.trim()) return false;
  const range = document.createRange();
  range.selectNodeContents(th);
  const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
  return lines.size > 2;
}).map(th => th.textContent.trim())"""


def wrapped_headings(page) -> list[str]:
    """The visible column headings broken over more than two lines."""
    return page.evaluate(WRAPPED_HEADINGS_JS)


# A short word, date or figure in a table cell as it lies: 订单贷款 one character a line, or 2025-04
# broken after its dash, where the cell should keep it whole and the table scroll instead.
BROKEN_WORDS_JS = r"""() => [...document.querySelectorAll("tbody td")].filter(td => {
  const text = td.textContent.trim();
  if (!td.checkVisibility() || !text || /\s/.test(text) || text.length > 16) return false;
  const lines = new Set();
  const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) if (r.width > 0) lines.add(Math.round(r.top));
  }
  return lines.size > 1;
}).map(td => td.textContent.trim())"""


def broken_words(page) -> list[str]:
    """The visible table cells holding one short word (no space, at most 16 characters) broken
    over more than one line."""
    return page.evaluate(BROKEN_WORDS_JS)


# A radio button or checkbox and the words of its label as they lie: the control must share a line
# with the first of its words (Django's RadioSelect puts each <input> inside its <label>; a label
# laid out as a grid once set every radio button alone on a line above its words, "1 Strongly
# disagree" under a lone circle).
LOOSE_CONTROLS_JS = r"""() => [...document.querySelectorAll("label")].filter(label => {
  const control = label.querySelector(":scope > input[type=radio], :scope > input[type=checkbox]");
  if (!control || !label.checkVisibility() || !control.checkVisibility()) return false;
  const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.data.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const line = [...range.getClientRects()].find(r => r.width > 0);
    if (!line) continue;
    const box = control.getBoundingClientRect(), middle = (box.top + box.bottom) / 2;
    return middle < line.top || middle > line.bottom;
  }
  return false;
}).map(label => label.textContent.trim().replace(/\s+/g, " "))"""


def loose_controls(page) -> list[str]:
    """The visible labels whose radio button or checkbox does not sit on the line of its words."""
    return page.evaluate(LOOSE_CONTROLS_JS)


# A label's words as they lie: the pieces of one label (its text and the figures common/figures.js
# wraps in a <span>) flow as one text. A label laid out as a grid or a column of flex items set
# each piece on a line of its own ("Daily rate (0.0005 =" / "0.05 %" / ")") although the next
# piece fitted on the line before.
SPLIT_LABELS_JS = r"""() => [...document.querySelectorAll("label")].filter(label => {
  if (!label.checkVisibility()) return false;
  const edge = label.getBoundingClientRect();
  const pieces = [...label.childNodes].filter(n =>
    (n.nodeType === Node.TEXT_NODE && n.data.trim()) ||
    (n.nodeType === Node.ELEMENT_NODE && !n.matches("input, select, textarea, button, ul, ol, div, p, br") &&
     n.textContent.trim() && getComputedStyle(n).display.startsWith("inline")));
  const rects = pieces.map(n => {
    const range = document.createRange();
    range.selectNodeContents(n);
    return [...range.getClientRects()].filter(r => r.width > 0);
  });
  for (let i = 1; i < pieces.length; i += 1) {
    const before = rects[i - 1].at(-1), after = rects[i][0];
    if (!before || !after) continue;
    const newLine = after.top >= before.bottom - 1;
    if (newLine && before.right + after.width < edge.right - 1) return true;
  }
  return false;
}).map(label => label.textContent.trim().replace(/\s+/g, " ").slice(0, 60))"""


def split_labels(page) -> list[str]:
    """The visible labels whose words are set a piece a line although they fit on fewer lines."""
    return page.evaluate(SPLIT_LABELS_JS)
