"""The merchant portal walked as each kind of visitor a merchant can be: a B2C seller, a B2B
member, a merchant whose application was declined and an anonymous visitor, in Chinese and in
English, on a 375 px phone and a 1280 px desktop (tests/browser/test_crawl.py's checks: status,
console errors, sideways scroll, broken figures, words over words, chart labels, controls off
their labels, words in the wrong language). The pages are photographed for reviewers."""

import re

from django.contrib.auth import get_user_model

from lending.models import Application
from tests.browser.test_crawl import LANGUAGES, _crawl, data_words
from tests.browser_support import BROWSER_MARKS, NARROW, PASSWORD, log_in, screenshot
from tests.conftest import skip_unless_demo
from tests.page_catalogue import demo_world_build

pytestmark = BROWSER_MARKS

ANONYMOUS_STARTS = ["/", "/login/", "/overview/", "/loans/", "/apply/?product=order_loan", "/admin/"]


def _declined_login() -> str:
    """A login onto a shop whose latest application was declined (the demo declines some)."""
    User = get_user_model()
    declined = (
        Application.objects.filter(status=Application.Status.DECLINED, merchant__user__isnull=True)
        .select_related("merchant")
        .order_by("-submitted_at")
        .first()
    )
    assert declined is not None, "the demo declined no application"
    user = User.objects.create_user(username="declined", password=PASSWORD)
    declined.merchant.user = user
    declined.merchant.save(update_fields=["user"])
    return user.username


def _photograph(page, origin: str, paths: list[str], name: str) -> None:
    """Each page visited (files aside), on the phone, under var/screenshots/ for reviewers."""
    for index, path in enumerate(paths):
        if re.search(r"\.(pdf|csv)(\?|$)", path):
            continue
        page.goto(origin + path)
        page.wait_for_load_state()
        slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
        screenshot(page, f"{name}-{index:02d}-{slug}")


def test_the_portal_walked_as_seller_member_declined_and_anonymous(watched_page, live_server):
    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    for user in get_user_model().objects.all():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    visitors = ["seller", "member", _declined_login(), None]
    report, problems, data = {}, [], data_words()
    for language in LANGUAGES:
        for username in visitors:
            watched = watched_page(base_url=live_server.url, viewport=NARROW, language=language)
            if username is not None:
                log_in(watched.page, live_server, username)
            starts = ["/overview/", "/apply/?product=order_loan", "/admin/"] if username else ANONYMOUS_STARTS
            visited, found = _crawl(watched, live_server.url, starts, language, data)
            report[f"{language}/{username or 'anonymous'}"] = visited
            _photograph(watched.page, live_server.url, visited, f"walk-{language}-{username or 'anonymous'}")
            problems.extend(f"{language}/{username or 'anonymous'} {problem}" for problem in found)
            watched.page.context.close()
    print({who: len(pages) for who, pages in report.items()})
    for who, pages in report.items():
        print(who, " ".join(pages))
    assert all(len(pages) > 1 for pages in report.values()), report
    assert not problems, "\n".join(problems)
