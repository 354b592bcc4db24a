"""The workbench's lists and field tables on a 375 px phone, in both languages (Debian's
Chromium): a list of ten pages once cut off its last page's number and squeezed its count ("983
冻结") to a character a line, and an audit entry's table of changes set each field's name one
character a line (common/static/common/workbench.css)."""

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.browser_support import BROWSER_MARKS, NARROW, PASSWORD, signed_in_page
from tests.merchants.factories import MerchantFactory

pytestmark = BROWSER_MARKS

# The paginator's links and count that reach past its right edge (or are cut by it).
PAGINATOR_SPILLS_JS = """paginator => [...paginator.children, paginator].filter(element => {
  const box = element.getBoundingClientRect(), edge = paginator.getBoundingClientRect().right;
  return box.right > edge + 1 || element.scrollWidth > element.clientWidth + 1;
}).map(element => element.textContent.trim())"""


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_ten_page_list_and_an_audit_entrys_changes_read_on_a_phone(
    new_page, live_server, monkeypatch, language
):
    root = get_user_model().objects.create_superuser("root", "root@xiaodai.example", PASSWORD)
    while LogEntry.objects.count() < 10:
        MerchantFactory()
    newest = list(LogEntry.objects.order_by("-pk").values_list("pk", flat=True))
    assert len(newest) >= 10
    LogEntry.objects.exclude(pk__in=newest[:10]).delete()
    monkeypatch.setattr(admin.site._registry[LogEntry], "list_per_page", 1)  # ten pages
    entry = max(LogEntry.objects.all(), key=lambda row: len(row.changes_dict))
    # A value of a sentence (a loan's accrual mode) beside the field names, as the audit keeps.
    changes = entry.changes_dict
    first = next(iter(changes))
    changes[first] = ["-", "a period's planned interest spread evenly over its days " * 2]
    LogEntry.objects.filter(pk=entry.pk).update(changes=changes)
    headers = {"Accept-Language": language}
    page = signed_in_page(new_page, live_server, root, viewport=NARROW, extra_http_headers=headers)

    page.goto(live_server.url + reverse("admin:auditlog_logentry_changelist"))
    paginator = page.locator("p.paginator")
    assert paginator.locator("a", has_text="10").count() == 1
    spills = paginator.evaluate(PAGINATOR_SPILLS_JS)

    page.goto(live_server.url + reverse("admin:auditlog_logentry_change", args=[entry.pk]))
    names = page.locator(".field-msg .readonly table tr td:nth-child(2)")
    assert names.count() >= 3
    narrowest = min(box["width"] for box in (names.nth(i).bounding_box() for i in range(names.count())))
    assert (spills, narrowest >= 48) == ([], True), f"field names {narrowest:.0f} px wide"
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
