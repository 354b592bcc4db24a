"""Words drawn over other words (browser_support.overlapping_cells): what the check finds and
spares on a page made for it, and the officer's credit file on a 375 px phone, whose ratings table
once pushed each probability over the next column with a bar as wide as a share of its cell."""

import struct
import zlib
from pathlib import Path

from tests.browser_support import BROWSER_MARKS, NARROW, expect, log_in, overlapping_cells

pytestmark = BROWSER_MARKS

MADE_FOR_IT = """<!doctype html><html><body style="font: 16px sans-serif; margin: 0">
<table id="spill" style="table-layout: fixed; width: 200px; border-collapse: collapse">
  <tr><td style="width: 100px; white-space: nowrap">a rather long figure 12.34%</td><td>next</td></tr>
</table>
<table id="bar" style="border-collapse: collapse">
  <tr><td style="white-space: nowrap"><span style="display: inline-block; width: 90%; height: 8px"></span>
    9.99%</td>
    <td>after</td></tr>
</table>
<p id="clear">Plain words, each clear of the others.</p>
<div style="position: relative; height: 40px">
  <span style="position: relative; left: 0">under</span><span
    style="position: relative; left: -30px; color: red">over</span>
</div>
<div style="overflow: hidden; width: 50px; white-space: nowrap">cut off by its box, and that is fine</div>
<div style="position: relative; height: 40px"><span>a page</span>
  <ul style="position: absolute; top: 0; left: 0; margin: 0; background: white"><li>a dropdown</li></ul></div>
<p style="visibility: hidden; margin-top: -20px">hidden words</p>
<details style="position: relative"><summary>the menu</summary>
  <p style="position: relative; top: -1.2em; margin: 0">folded away</p></details>
<table style="border-collapse: collapse; width: 100%"><tr><td>fits</td><td>well</td></tr></table>
</body></html>"""


def test_overlapping_cells_finds_spills_and_words_over_words_and_spares_what_does_not_show(page):
    page.set_viewport_size(NARROW)
    page.set_content(MADE_FOR_IT)
    found = overlapping_cells(page)
    assert any("12.34%" in f and "spills" in f and "table#spill" in f for f in found), found
    assert any("'9.99%' spills" in f and "table#bar" in f for f in found), found
    assert any("'under'" in f and "'over'" in f for f in found), found
    shown = " ".join(found)
    for spared in (
        "Plain words",
        "cut off",
        "a dropdown",
        "hidden words",
        "the menu",
        "folded",
        "fits",
        "well",
    ):
        assert spared not in shown, (spared, found)


def test_the_credit_file_s_tables_stand_clear_on_a_phone_in_both_languages(new_page, live_server):
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from common.roles import LOAN_OFFICER, roles_sync
    from merchants.models import Merchant
    from tests.browser_support import PASSWORD, broken_words
    from tests.conftest import skip_unless_demo
    from tests.page_catalogue import demo_world_build

    skip_unless_demo()
    demo_world_build(merchants=8, days=30, closed_days=10)
    roles_sync()
    officer = User.objects.create_user(username="officer-on-duty", password=PASSWORD, is_staff=True)
    officer.groups.add(Group.objects.get(name=LOAN_OFFICER))
    merchant = Merchant.objects.filter(user__username="seller").get()
    url = live_server.url + reverse("credit-file", args=[merchant.pk])
    for language in ("zh-hans", "en"):
        page = new_page(viewport=NARROW, is_mobile=True, has_touch=True)
        cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
        page.context.add_cookies([cookie])
        log_in(page, live_server, "officer-on-duty")
        assert page.goto(url).status == 200
        # The ratings hold a bar and a probability per row: the case the check is for.
        expect(page.get_by_test_id("credit-file-scores").locator("tbody tr").first).to_be_visible()
        assert overlapping_cells(page) == [], (language, overlapping_cells(page))
        assert broken_words(page) == [], (language, broken_words(page))
        page.context.close()


def test_the_video_check_queue_keeps_its_column_headings_whole_on_a_phone(new_page, live_server):
    """Its eight headings once wrapped a character a line (进/入/时/间) on a 375 px phone."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from common.roles import LOAN_OFFICER, roles_sync
    from tests.browser_support import PASSWORD, wrapped_headings

    roles_sync()
    officer = User.objects.create_user(username="officer-on-duty", password=PASSWORD, is_staff=True)
    officer.groups.add(Group.objects.get(name=LOAN_OFFICER))
    for language in ("zh-hans", "en"):
        page = new_page(viewport=NARROW, is_mobile=True, has_touch=True)
        cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
        page.context.add_cookies([cookie])
        log_in(page, live_server, "officer-on-duty")
        assert page.goto(live_server.url + reverse("admin:lending_queue", args=["video_check"])).status == 200
        expect(page.locator("#result_list thead th").first).to_be_visible()
        assert wrapped_headings(page) == [], (language, wrapped_headings(page))
        assert overlapping_cells(page) == [], (language, overlapping_cells(page))
        page.context.close()


def test_a_portal_table_cut_by_a_phone_s_edge_shows_a_shade_where_it_goes_on(page):
    """On a 375 px phone the loans' table scrolls inside its box with its last column half shown
    (2025-05-): a shade at the cut edge says there is more, and none shows at the other edge."""
    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "common" / "static" / "portal" / "portal.css").read_text()
    page.set_viewport_size(NARROW)
    page.set_content(
        "<!doctype html><html><body><main><div class='card'><div class='table-wrap' id='wrap'><table>"
        "<tr><th>Reference</th><th>Owed</th><th>Status</th><th>Next due</th></tr>"
        "<tr><td class='num'>L20250413-151</td><td class='num'>¥469.30</td><td>Normal</td>"
        "<td class='num'>2025-05-13</td></tr></table></div></div></main></body></html>"
    )
    page.add_style_tag(content=css)
    page.add_style_tag(content="#wrap { height: 8rem; }")  # bare background below the rows
    wrap = page.locator("#wrap")
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth"), "the table should be wider than the phone"

    def shade(x: int) -> int:
        """How dark the wrap's bare background is at column x of its box (0: white)."""
        box = wrap.bounding_box()
        clip = {"x": box["x"] + x, "y": box["y"] + box["height"] * 0.75, "width": 1, "height": 1}
        return 255 * 3 - sum(_one_pixel(page.screenshot(clip=clip)))

    width = int(wrap.bounding_box()["width"])
    assert shade(width - 2) > 20, "no shade at the edge that cuts the table"
    assert shade(1) < 10, "a shade at the edge where the table starts"
    wrap.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    assert shade(1) > 20 and shade(width - 2) < 10, "the shades do not follow the scroll"


def _one_pixel(png: bytes) -> tuple[int, int, int]:
    """The colour of a 1 × 1 PNG (Chromium's screenshot of one pixel): its one row, whatever its
    filter, is the pixel as it is."""
    at, data = 8, b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        if png[at + 4 : at + 8] == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    row = zlib.decompress(data)
    return row[1], row[2], row[3]
