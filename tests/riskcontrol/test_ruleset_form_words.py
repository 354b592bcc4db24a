"""The rule-set form in the workbench names the third parties' checks by their titles in the
reader's language (营业执照, Business licence), never by their codes (business_licence); the
codes stay the form's values and the stored params. Its help texts read in the page's language."""

import re

import pytest
from django.contrib.auth.models import Group, User

from riskcontrol import rulesets
from riskcontrol.models import RuleSet

URL = "/admin/riskcontrol/ruleset/"
CODES = ("business_licence", "tax", "customs")
TITLES = {
    "zh-hans": ("营业执照", "纳税记录", "海关记录"),
    "en": ("Business licence", "Tax records", "Customs records"),
}


@pytest.fixture
def draft(client):
    user = User.objects.create_user("rita", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="risk_manager"))
    client.force_login(user)
    active = rulesets.ruleset_active()
    client.post(URL, {"action": "copy_to_draft", "_selected_action": [active.pk]})
    return RuleSet.objects.get(status="draft")


def _labels(html: str) -> list[str]:
    """The words of each checkbox's label, its input aside."""
    return [
        re.sub(r"<[^>]+>", "", label).strip()
        for label in re.findall(r"<label[^>]*>\s*<input[^>]*type=\"checkbox\"[^>]*>(.*?)</label>", html, re.S)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("language", sorted(TITLES))
def test_the_draft_s_checks_read_as_titles_in_the_reader_s_language(client, draft, language):
    page = client.get(f"{URL}{draft.pk}/change/", HTTP_ACCEPT_LANGUAGE=language)
    html = page.content.decode()
    labels = _labels(html)
    # Three fields of checks (B2C, B2B, decline on failed), each with every check by its title.
    assert len(labels) == 3 * len(CODES), labels
    assert set(labels) == set(TITLES[language]), labels
    assert 'value="business_licence"' in html  # the code stays the value posted
    # The help texts in the page's language: no code, and in Chinese no English sentence.
    assert "business_licence" not in re.sub(r'value="[^"]*"', "", html).split("</form>")[0].split("<form")[-1]
    if language == "zh-hans":
        assert "B2C sellers are known" not in html and "加上营业执照即要求先行核验" in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", sorted(TITLES))
def test_the_thresholds_and_the_changes_name_checks_by_their_titles(client, draft, language):
    form = {p.name: p.default for p in rulesets.PARAMS if p.kind != "kinds"}
    form.update(
        identity_decline_on_failed=["business_licence", "tax"],
        identity_required_kinds_b2b=["business_licence", "customs"],
        note="licence first",
    )
    assert client.post(f"{URL}{draft.pk}/change/", form).status_code == 302
    draft.refresh_from_db()
    assert draft.params["identity_required_kinds_b2b"] == ["business_licence", "customs"]
    client.post(URL, {"action": "activate", "_selected_action": [draft.pk]})
    html = client.get(f"{URL}{draft.pk}/change/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    licence, tax, customs = TITLES[language]
    assert f"{licence}, {customs}" in html  # the change, after, and the thresholds
    assert f"{licence}, {tax}" in html
    assert not re.search(r"\b(business_licence|customs)\b|'tax'", html), "a check's code on the page"
    assert "<td>[]</td>" not in html and "<td>-</td>" in html  # no check (B2C) shows as "-"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("zh-hans", "拒绝倍数不能低于转人工倍数"),
        ("en", "the decline multiple must not be below the refer multiple"),
    ],
)
def test_thresholds_out_of_order_are_refused_with_the_reason_in_the_reader_s_language(
    client, draft, language, reason
):
    form = {p.name: p.default for p in rulesets.PARAMS if p.kind != "kinds"}
    form.update(antifraud_repeat_refer_multiple="8", antifraud_repeat_decline_multiple="5", note="tighter")

    page = client.post(f"{URL}{draft.pk}/change/", form, HTTP_ACCEPT_LANGUAGE=language)

    assert page.status_code == 200
    html = page.content.decode()
    assert reason in html
    if language == "zh-hans":
        assert "refer multiple" not in html
    draft.refresh_from_db()
    assert draft.params["antifraud_repeat_decline_multiple"] != "5"


@pytest.mark.django_db
def test_the_active_set_is_read_without_a_save_button_that_fails(client, draft):
    """The active set's page offered Save to a risk manager, and saving it failed with a server
    error (its form holds no field): it is read only; a copy is what is changed."""
    active = rulesets.ruleset_active()
    page = client.get(f"{URL}{active.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"{URL}{active.pk}/change/", {"note": "x", "_save": "1"}).status_code == 403
    assert 'name="_save"' in client.get(f"{URL}{draft.pk}/change/").content.decode()
