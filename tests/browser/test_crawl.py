"""Every page a role can reach, as that role, on a 375 px phone in Chinese and in English: from
the role's start pages, follow the links of each page (same site, GET only, never the logout),
one page per kind of address (ids and query strings aside), up to CRAWL_LIMIT pages per role and
language. Each page answers below 400, logs no console error or uncaught exception, does not
scroll sideways and, outside the workbench, breaks no date, amount or rate across two lines.
Pages holding a credit file are photographed for reviewers."""

import contextlib
import os
import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

from django.contrib.auth import get_user_model
from django.urls import NoReverseMatch, reverse

from tests.browser_support import (
    BROWSER_MARKS,
    NARROW,
    PASSWORD,
    broken_figures,
    log_in,
    playwright_sync,
    sideways_overflow,
)
from tests.conftest import skip_unless_demo
from tests.page_catalogue import demo_world_build

pytestmark = BROWSER_MARKS

CRAWL_LIMIT = int(os.environ.get("XIAODAI_CRAWL_LIMIT", "25"))
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
    return re.sub(r"/[A-Z]?[0-9][0-9A-Za-z-]*/", "/#/", path.split("?", 1)[0])


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


def _crawl(watched, origin: str, starts: list[str]) -> tuple[list[str], list[str]]:
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
        # Not yet on the workbench's pages (Django admin's own layout).
        if not path.startswith("/admin/") and (broken := broken_figures(page)):
            problems.append(f"{path}: breaks {broken} across lines")
        if page.get_by_test_id("credit-file").count():
            watched.screenshot("credit-file-crawl")
        queue.extend(link for link in _links(page, origin) if _kind(link) not in seen)
    problems.extend(watched.errors)
    watched.errors.clear()
    return visited, problems


def test_every_page_each_role_reaches_works_on_a_phone_in_both_languages(watched_page, live_server):
    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    for user in get_user_model().objects.all():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    report, problems = {}, []
    for language in LANGUAGES:
        for username in ROLES:
            watched = watched_page(base_url=live_server.url, viewport=NARROW, language=language)
            log_in(watched.page, live_server, username)
            visited, found = _crawl(watched, live_server.url, _start_pages(username))
            report[f"{language}/{username}"] = len(visited)
            problems.extend(f"{language}/{username} {problem}" for problem in found)
            watched.page.context.close()
    assert all(count > 1 for count in report.values()), report
    assert not problems, "\n".join(problems)
