"""Every reason code a stage writes, every early-warning kind and every risk action shown to a
merchant has a plain sentence in the merchant's language; an unknown code never shows raw."""

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

from riskcontrol import plain_words
from riskcontrol.models import RiskAction
from riskcontrol.models import Warning as RiskWarning

STAGES = ["lending/stages.py", "riskcontrol/stages.py", "scoring/stages.py", "riskcontrol/rules.py"]


def codes_in_stages() -> set[str]:
    """The literal codes the stages and rules write: Reason("code", …), Finding(…, ("code",)),
    and codes appended to a finding."""
    found = set()
    for name in STAGES:
        text = (Path(settings.BASE_DIR) / name).read_text()
        found |= set(re.findall(r'Reason\(\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'codes\.append\("([a-z_]+)"\)', text))
        found |= set(re.findall(r'Finding\(DECLINE, \("([a-z_]+)",\)', text))
    return found - {"not_needed", "too_few_orders"}


def test_every_stage_code_has_plain_words():
    codes = codes_in_stages()
    assert {"overdue", "blacklisted", "grade_below_cutoff", "group_limit", "shop_too_young"} <= codes
    unknown = str(plain_words.UNKNOWN_REASON)
    assert sorted(c for c in codes if plain_words.reason_words(c) == unknown) == []


def test_composed_codes_are_worded():
    assert plain_words.reason_words("tax_failed") == str(plain_words.VERIFICATION_KINDS["tax"])
    assert plain_words.reason_words("business_licence_unverified") == str(
        plain_words.VERIFICATION_KINDS["business_licence"]
    )
    assert plain_words.reason_words("video_check_decline") == str(plain_words.PERSON_OUTCOMES["decline"])
    assert plain_words.reason_words("owner_phone_missing") == str(plain_words.REASONS["owner_phone_missing"])
    assert plain_words.reason_words("something_new") == str(plain_words.UNKNOWN_REASON)


def test_every_warning_and_shown_action_is_worded_in_both_languages():
    assert set(plain_words.WARNINGS) == set(RiskWarning.Kind)
    assert set(plain_words.ACTIONS) < set(RiskAction.Kind)
    for words in [
        *plain_words.WARNINGS.values(),
        *plain_words.ACTIONS.values(),
        *plain_words.REASONS.values(),
    ]:
        with translation.override("en"):
            english = str(words)
        with translation.override("zh-hans"):
            chinese = str(words)
        assert english != chinese and not re.search(r"[A-Za-z]{3}", chinese), english


def test_stored_reasons_become_distinct_sentences_in_order():
    stored = [{"code": "overdue", "text": "x"}, {"code": "overdue", "text": "y"}, {"code": "blacklisted"}]
    with translation.override("en"):
        assert plain_words.reasons_words(stored) == [
            str(plain_words.REASONS["overdue"]),
            str(plain_words.REASONS["blacklisted"]),
        ]
