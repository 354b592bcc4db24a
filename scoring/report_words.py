"""A scoring model's report sentences in the reader's language. Training writes them into the
report as fixed English words with values in them (scoring/modeling/dataset.py, scorecard.py,
pipeline.py: a column left out and why, rows left out, the challenger not trained), and the
model page reads them here, reports written before included: each sentence the system writes is
a regex whose named groups are its msgid's placeholders. Words that are not here read as
written."""

import re

from django.utils.translation import gettext, gettext_noop

from common.texts import matched_reason, stored_text
from scoring.words import feature_title

_COLUMN = r"column '(?P<column>.+?)'"
_NUMBER = r"(?P<%s>-?\d[\d.]*)"

# Why a column is not used (`unused_columns`' values and the middle of "column '…' …: not used").
REASONS: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"holds dates \(derive numbers from it, e\.g\. days since\)"),
        gettext_noop("holds dates (derive numbers from it, e.g. days since)"),
    ),
    (re.compile(r"is empty"), gettext_noop("is empty")),
    (re.compile(r"is constant"), gettext_noop("is constant")),
    (
        re.compile(r"looks like an identifier \(a different whole number on every row\)"),
        gettext_noop("looks like an identifier (a different whole number on every row)"),
    ),
    (
        re.compile(rf"has {_NUMBER % 'count'} distinct text values"),
        gettext_noop("has %(count)s distinct text values"),
    ),
    (
        re.compile(rf"says almost nothing about default \(information value {_NUMBER % 'iv'}\)"),
        gettext_noop("says almost nothing about default (information value %(iv)s)"),
    ),
    (
        re.compile(r"weight came out reversed next to the other columns"),
        gettext_noop("weight came out reversed next to the other columns"),
    ),
]
# The report's messages.
MESSAGES: list[tuple[re.Pattern, str]] = [
    (
        re.compile(rf"{_NUMBER % 'rows'} rows without a target were left out"),
        gettext_noop("%(rows)s rows without a target were left out"),
    ),
    (
        re.compile(rf"{_NUMBER % 'rows'} rows without a value in time {_COLUMN} were left out"),
        gettext_noop("%(rows)s rows without a value in time column '%(column)s' were left out"),
    ),
    (
        re.compile(rf"{_COLUMN}: {_NUMBER % 'count'} values that are not numbers were treated as missing"),
        gettext_noop("column '%(column)s': %(count)s values that are not numbers were treated as missing"),
    ),
    (
        re.compile(
            rf"{_COLUMN} says almost nothing about default \(information value {_NUMBER % 'iv'} "
            rf"< {_NUMBER % 'least'}\): not used"
        ),
        gettext_noop(
            "column '%(column)s' says almost nothing about default (information value %(iv)s "
            "< %(least)s): not used"
        ),
    ),
    (
        re.compile(
            rf"{_COLUMN} was left out: next to the other columns its weight came out reversed "
            r"\(it overlaps with stronger columns\)"
        ),
        gettext_noop(
            "column '%(column)s' was left out: next to the other columns its weight came out "
            "reversed (it overlaps with stronger columns)"
        ),
    ),
    (
        re.compile(
            rf"the challenger was not trained: the training part has {_NUMBER % 'defaults'} defaults "
            rf"among {_NUMBER % 'rows'} rows, and calibrating it needs at least {_NUMBER % 'least'} "
            r"of each class"
        ),
        gettext_noop(
            "the challenger was not trained: the training part has %(defaults)s defaults among "
            "%(rows)s rows, and calibrating it needs at least %(least)s of each class"
        ),
    ),
]
NOT_USED = re.compile(rf"{_COLUMN} (?P<reason>.+): not used")
NOT_USED_MSGID = gettext_noop("column '%(column)s' %(reason)s: not used")


def _matched(patterns: list[tuple[re.Pattern, str]], words: str) -> str | None:
    """The words in the reader's language when `patterns` knows them (common.texts), else None;
    a column the scoring features know reads by its name."""
    matched = matched_reason([("report", regex, msgid) for regex, msgid in patterns], words)
    if matched is None:
        return None
    params = matched.get("params") or {}
    if "column" in params:
        matched = {**matched, "params": {**params, "column": feature_title(params["column"])}}
    return stored_text(matched)


def reason_text(words: str) -> str:
    """Why a column is not used, in the reader's language (other words as written)."""
    return _matched(REASONS, str(words)) or str(words)


def message_text(words: str) -> str:
    """A report message in the reader's language (other words as written)."""
    words = str(words)
    matched = _matched(MESSAGES, words)
    if matched is not None:
        return matched
    found = NOT_USED.fullmatch(words)
    reason = _matched(REASONS, found["reason"]) if found else None
    if reason is not None:
        return gettext(NOT_USED_MSGID) % {"column": feature_title(found["column"]), "reason": reason}
    return words
