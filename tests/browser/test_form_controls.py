"""Labels on the portal's forms as a phone shows them: each radio button and checkbox sits on the
line of its label's words, and a label's words flow as one text. The B2B member's questionnaire
(Django's RadioSelect: each <input> inside its <label>) once showed every answer as a lone circle
centred above its words, and the risk sandbox's "Daily rate (0.0005 = 0.05 %)" took three lines
("0.05 %" wrapped in a span by common/figures.js, then ")"), because the portal's stacked forms
and the sandbox's form laid every label out as a grid or a column
(browser_support.loose_controls, split_labels)."""

from pathlib import Path

from django import forms

from tests.browser_support import BROWSER_MARKS, NARROW, loose_controls, split_labels

pytestmark = BROWSER_MARKS


class _Questionnaire(forms.Form):
    answer = forms.ChoiceField(
        label="I plan my shop's stock and cash three months ahead.",
        choices=[(str(n), f"{n} {word}") for n, word in enumerate(("Strongly disagree", "Neutral"), 1)],
        widget=forms.RadioSelect,
    )
    agree = forms.BooleanField(label="I accept the agreement")


def _portal_form_page(page, css: str, *, extra: str = "") -> None:
    form = _Questionnaire()
    page.set_viewport_size(NARROW)
    page.set_content(
        "<!doctype html><html><head><meta name='viewport' content='width=device-width'></head><body>"
        "<main><div class='card'><form class='stack'>"
        f"<fieldset><legend>{form['answer'].label}</legend>{form['answer']}</fieldset>"
        f"<label>{form['agree']} {form['agree'].label}</label>"
        "<label id='rate'>Daily rate (0.0005 = <span class='fig'>0.05 %</span>) <input type='text'></label>"
        "</form></div></main></body></html>"
    )
    page.add_style_tag(content=css + extra)


def test_loose_controls_finds_a_radio_button_set_apart_from_its_words(page):
    """The check itself: a label laid out as a grid puts its radio button on a line of its own."""
    _portal_form_page(page, "", extra="form.stack label { display: grid; }")
    found = loose_controls(page)
    assert "1 Strongly disagree" in found and "2 Neutral" in found, found
    assert split_labels(page) == ["Daily rate (0.0005 = 0.05 %)"]


def test_the_portal_s_radio_buttons_and_checkboxes_sit_on_their_words_line_on_a_phone(page):
    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "common" / "static" / "portal" / "portal.css").read_text()
    _portal_form_page(page, css)
    assert page.locator("input[type=radio]").first.is_visible()
    assert loose_controls(page) == []
    assert split_labels(page) == []
    assert page.locator("#rate input").bounding_box()["width"] > 250, "the field under its words, full width"


def test_the_sandbox_form_s_labels_keep_their_words_together_on_a_phone(page):
    """The risk sandbox's own form style (templates/risk/sandbox.html), beside the portal's."""
    import re

    from django.conf import settings

    base = Path(settings.BASE_DIR)
    css = (base / "common" / "static" / "portal" / "portal.css").read_text()
    template = (base / "templates" / "risk" / "sandbox.html").read_text()
    own = re.search(r"<style[^>]*>(.*?)</style>", template, re.S).group(1)
    page.set_viewport_size(NARROW)
    page.set_content(
        "<!doctype html><html><body><main><div class='card'><form class='sandbox-form'><div class='grid'>"
        "<label>Daily rate (0.0005 = <span class='fig'>0.05 %</span>) <input type='text'></label>"
        "<label>Region <select><option>All</option></select></label>"
        "</div></form></div></main></body></html>"
    )
    page.add_style_tag(content=css + own)
    assert split_labels(page) == []
