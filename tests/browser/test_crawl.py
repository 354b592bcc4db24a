"""Every page a role can reach, as that role, in Chinese and in English, on a 375 px phone and on
a 1280 px desktop: from the role's start pages, follow the links of each page (same site, GET
only, never the logout), one page per kind of address (ids and query strings aside), up to
CRAWL_LIMIT pages per role and language. Each page answers below 400 and logs no console error
or uncaught exception; at either width it does not scroll sideways, its charts' labels neither
lie over one another nor are cut off (browser_support.chart_clashes), no table cell spills into
its neighbours and no words lie over other words (browser_support.overlapping_cells); on the
phone it breaks no date, amount, rate or reference across two lines, workbench and portal alike,
each radio button and checkbox sits on the line of its label's words and a label's words flow as
one text (browser_support.loose_controls, split_labels); its headings, labels and buttons read in
the page's language (no English word left on a Chinese page, no Chinese on an English one). Each
page is opened once, on the phone, then the window is widened to the desktop's. Pages holding a
credit file are photographed for reviewers."""

import contextlib
import os
import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from tests.browser_support import (
    BROWSER_MARKS,
    CHART_CLASHES_JS,
    DESKTOP,
    NARROW,
    PASSWORD,
    broken_figures,
    log_in,
    loose_controls,
    overlapping_cells,
    playwright_sync,
    sideways_overflow,
    split_labels,
)
from tests.conftest import skip_unless_demo
from tests.page_catalogue import demo_world_build

pytestmark = BROWSER_MARKS

CRAWL_LIMIT = int(os.environ.get("XIAODAI_CRAWL_LIMIT", "250"))
ROLES = ["seller", "member", "officer", "inspector", "collections", "risk", "finance", "admin"]
LANGUAGES = ["zh-hans", "en"]
# Never followed: leaving (logout), the API and its docs, files, the language switch (a POST).
NOT_FOLLOWED = re.compile(r"^/(admin/)?logout/|^/api/|^/static/|^/media/|^/i18n/|^/favicon\.ico")


def _start_pages(username: str) -> list[str]:
    user = get_user_model().objects.get(username=username)
    if not user.is_staff:
        return ["/overview/"]
    starts = ["/admin/"]
    if username == "officer":
        starts.append("/ops/assembly-line/")
    if username == "risk":
        starts.append("/risk/sandbox/")
        with contextlib.suppress(NoReverseMatch):
            starts.append(reverse("risk:portfolio"))
    return starts


def _kind(path: str) -> str:
    """One page per kind of address: numbers and references stand for any."""
    return re.sub(r"/[^/]*[0-9][^/]*/", "/#/", path.split("?", 1)[0])


def _links(page, origin: str) -> list[str]:
    # Not the links in a read-only field's value (on a form or in an inline's row): Django's
    # admin links a foreign key shown read-only to the related object's change page without
    # asking whether the role may view it.
    hrefs = page.eval_on_selector_all(
        "a[href]",
        "links => links.filter(a => !a.closest('.readonly, .inline-group td') || "
        "a.classList.contains('inlinechangelink')).map(a => a.href)",
    )
    found = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin or NOT_FOLLOWED.search(parts.path):
            continue
        # With its query (a statement's month is part of the address); a page's filters and
        # sortings are one kind of page all the same, visited once.
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


# A page's own words: headings, column headings, labels, buttons, the workbench's menu. Not the
# object names and values these may hold (a shop's Chinese name on an English page).
OWN_WORDS = (
    "h1, thead th, label, dt, button, caption, legend, summary, .breadcrumbs > a:first-child, "
    "#nav-sidebar caption, #nav-sidebar th, .object-tools a, #changelist-filter h3"
)
# On a Chinese page a Latin word is a fragment left in English, save abbreviations (PAR30, KS,
# API, PDF), references and codes (words with a digit), the language switch's "English",
# "Webhook", which Chinese writes as it is (the catalogues' 管理 Webhook 端点), and the HTTP header
# named "Accept" (HTTP Accept 请求头) and the vintage analysis's name (账龄分析（Vintage）).
ENGLISH_WORD = re.compile(r"^[^0-9]*[a-z]{3,}[^0-9]*$")
HAN_CHARACTER = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
KEPT_AS_THEY_ARE = ("English", "中文", "Webhook", "Accept", "Vintage")
# The element's own text: not the options of a list inside a label (users' names).
OWN_TEXT_JS = """found => found.map(element => {
  const copy = element.cloneNode(true);
  copy.querySelectorAll("select, option, textarea").forEach(inner => inner.remove());
  return copy.textContent;
})"""


def data_words() -> set[str]:
    """What the world's people and shops wrote, in whatever language: names of shops, partners
    and people (masked), regions and categories."""
    from merchants.models import Merchant, Owner, PartnerPlatform

    words = set(PartnerPlatform.objects.values_list("name", flat=True))
    for merchant in Merchant.objects.all():
        words.update((merchant.shop_name, merchant.region, merchant.category))
    for owner in Owner.objects.all():
        words.add(owner.name_masked)
    return {word for word in words if word}


def foreign_words(page, language: str, data: set[str]) -> list[str]:
    """The page's own words (OWN_WORDS) that are not in its language, the world's data aside and
    the object the workbench's page is about (its name in the breadcrumbs, after the model's)."""
    texts = page.eval_on_selector_all(OWN_WORDS, OWN_TEXT_JS)
    crumbs = page.locator(".breadcrumbs").first
    if crumbs.count():
        data = data | set(" ".join(crumbs.inner_text().split("›")[3:]).split())
    foreign = set()
    for text in texts:
        for word in text.split():
            for kept in KEPT_AS_THEY_ARE:
                word = word.replace(kept, "")
            if not word or any(word in value or (len(value) > 1 and value in word) for value in data):
                continue
            foreign_pattern = HAN_CHARACTER if language == "en" else ENGLISH_WORD
            if foreign_pattern.search(word):
                foreign.add(word)
    return sorted(foreign)


def _chart_clashes(page, *, resized: bool = False) -> dict[str, list[str]]:
    """The drawn charts' labels over one another or cut off (tests/browser_support.chart_clashes)."""
    charts = page.locator("div.chart[data-rendered='1']")
    if not charts.count():
        return {}
    if resized:
        page.wait_for_timeout(400)  # charts.js lays charts out again 100 ms after a resize
    found = {}
    for index in range(charts.count()):
        chart = charts.nth(index)
        if clashes := chart.evaluate(CHART_CLASHES_JS):
            found[chart.get_attribute("data-testid")] = clashes
    return found


def _crawl(
    watched, origin: str, starts: list[str], language: str, data: set[str]
) -> tuple[list[str], list[str]]:
    """The pages visited and the problems met."""
    page = watched.page
    queue, seen, visited, problems = deque(starts), set(), [], []
    while queue and len(visited) < CRAWL_LIMIT:
        path = queue.popleft()
        if _kind(path) in seen:
            continue
        seen.add(_kind(path))
        try:
            response = page.goto(origin + path)
        except playwright_sync.Error as exc:
            # A download (a PDF, a CSV) is not a page, and an error without a body is no page
            # either: ask for it to learn its status.
            status = page.request.get(origin + path).status
            visited.append(path)
            if status >= 400 or "Download is starting" not in str(exc):
                problems.append(f"{path}: status {status} ({str(exc).splitlines()[0]})")
            continue
        visited.append(path)
        if response is None or response.status >= 400:
            problems.append(f"{path}: status {response and response.status}")
            continue
        page.wait_for_load_state()
        overflow = sideways_overflow(page)
        if overflow > 0:
            problems.append(f"{path}: {overflow} px sideways scroll")
        if broken := broken_figures(page):
            problems.append(f"{path}: breaks {broken} across lines")
        if overlaps := overlapping_cells(page):
            problems.append(f"{path}: words over words: {overlaps}")
        if loose := loose_controls(page):
            problems.append(f"{path}: radio buttons or checkboxes off their words' line: {loose[:5]}")
        if split := split_labels(page):
            problems.append(f"{path}: labels set a piece a line: {split[:5]}")
        if foreign := foreign_words(page, language, data):
            problems.append(f"{path}: not in the page's language: {foreign}")
        if clashes := _chart_clashes(page):
            problems.append(f"{path}: chart labels unreadable: {clashes}")
        page.set_viewport_size(DESKTOP)
        overflow = sideways_overflow(page)
        if overflow > 0:
            problems.append(f"{path}: {overflow} px sideways scroll on a desktop")
        if overlaps := overlapping_cells(page):
            problems.append(f"{path}: words over words on a desktop: {overlaps}")
        if clashes := _chart_clashes(page, resized=True):
            problems.append(f"{path}: chart labels unreadable on a desktop: {clashes}")
        page.set_viewport_size(NARROW)
        if page.get_by_test_id("credit-file").count():
            watched.screenshot("credit-file-crawl")
        queue.extend(link for link in _links(page, origin) if _kind(link) not in seen)
    problems.extend(watched.errors)
    watched.errors.clear()
    return visited, problems


def test_every_page_each_role_reaches_works_on_a_phone_and_a_desktop_in_both_languages(
    watched_page, live_server
):
    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    for user in get_user_model().objects.all():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    report, problems, data = {}, [], data_words()
    for language in LANGUAGES:
        for username in ROLES:
            watched = watched_page(base_url=live_server.url, viewport=NARROW, language=language)
            log_in(watched.page, live_server, username)
            visited, found = _crawl(watched, live_server.url, _start_pages(username), language, data)
            report[f"{language}/{username}"] = len(visited)
            problems.extend(f"{language}/{username} {problem}" for problem in found)
            watched.page.context.close()
    assert all(count > 1 for count in report.values()), report
    assert not problems, "\n".join(problems)
