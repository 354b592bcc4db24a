"""A scoring model's report sentences read in the reader's language (scoring/report_words.py):
every message and reason a training writes (an awkward table's columns left out, rows without a
target, a weak column, a reversed weight, the challenger not trained) reads in Chinese to a
Chinese reader on the model page and as written in English; other words read as written."""

import re

from django.template.loader import render_to_string
from django.utils import translation

from tests.scoring.test_modeling import awkward_csv  # noqa: F401 (the trained fixture)

HAN = re.compile(r"[\u4e00-\u9fff]")
# The English of a sentence once its column names are taken out.
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
WRITTEN = [
    "column 'age' says almost nothing about default (information value 0.0012 < 0.02): not used",
    "column 'y' was left out: next to the other columns its weight came out reversed "
    "(it overlaps with stronger columns)",
    "the challenger was not trained: the training part has 3 defaults among 100 rows, and "
    "calibrating it needs at least 20 of each class",
    "5 rows without a value in time column 'month' were left out",
]
REASONS = [
    "says almost nothing about default (information value 0.0012)",
    "weight came out reversed next to the other columns",
    "holds dates (derive numbers from it, e.g. days since)",
]


def chinese(sentence: str) -> bool:
    without_columns = re.sub(r"“[^”]*”", "", sentence)
    return bool(HAN.search(sentence)) and not ENGLISH_WORD.search(without_columns)


def test_every_sentence_of_a_training_reads_in_chinese_and_as_written_in_english(awkward_csv):  # noqa: F811
    from scoring.report_words import message_text, reason_text

    _, result = awkward_csv
    messages = [*result.messages, *WRITTEN]
    reasons = [*result.report["unused_columns"].values(), *REASONS]
    with translation.override("zh-hans"):
        assert [m for m in messages if not chinese(message_text(m))] == []
        assert [r for r in reasons if not chinese(reason_text(r))] == []
        assert message_text("a note of the lender's own") == "a note of the lender's own"
    with translation.override("en"):
        assert [message_text(m) for m in messages] == messages
        assert [reason_text(r) for r in reasons] == reasons


def test_the_model_page_shows_the_report_sentences_in_chinese(awkward_csv):  # noqa: F811
    _, result = awkward_csv
    with translation.override("zh-hans"):
        page = render_to_string("admin/scoring/model_report.html", {"report": result.report})
    assert "not used" not in page and "were left out" not in page
    assert "列“country”取值恒定：未使用" in page
