"""lending.pipeline.stage_title keeps each stage's title per language: the reader's language
still decides it, a missing stage is named by its last part, and a changed setting forgets them."""

from django.test import override_settings
from django.utils import translation

from lending import pipeline


def test_each_language_gets_its_own_title_however_often_asked():
    for _round in range(2):
        with translation.override("en"):
            assert pipeline.stage_title("lending.stages.eligibility") == "Eligibility"
        with translation.override("zh-hans"):
            title = pipeline.stage_title("lending.stages.eligibility")
            assert title != "Eligibility"
            assert title == str(translation.gettext("Eligibility"))


def test_a_stage_no_longer_configured_is_named_by_its_last_part():
    with translation.override("en"):
        assert pipeline.stage_title("lending.stages.gone_since") == "gone_since"


def test_a_changed_setting_forgets_the_titles():
    with translation.override("en"):
        pipeline.stage_title("lending.stages.exposure")
    assert pipeline._titles
    with override_settings(LANGUAGE_CODE="en"):
        assert not pipeline._titles
