"""`{% load report_words %}`: a scoring report's sentences in the reader's language
(scoring.report_words): `{{ message|report_message }}`, `{{ reason|report_reason }}`, a
feature's name for its code: `{{ code|feature_title }}`, and a figure with its thousands
grouped: `{{ value|figure }}`; a sandbox population's region and segment in the reader's
language: `{{ run.region|region_title }}`, `{{ run.segment|segment_title }}`."""

from decimal import Decimal

from django import template
from django.utils import formats

from merchants.models import PartnerPlatform, category_label, region_label
from scoring import report_words, words

register = template.Library()


@register.filter
def report_message(words) -> str:
    return report_words.message_text(words)


@register.filter
def report_reason(words) -> str:
    return report_words.reason_text(words)


@register.filter
def feature_title(name: str) -> str:
    return words.feature_title(name)


@register.filter
def source_title(source: str) -> str:
    return words.source_title(source)


@register.filter
def region_title(code: str) -> str:
    return region_label(code) if code else ""


@register.filter
def segment_title(code: str) -> str:
    """A sandbox segment is a partner kind (b2c, b2b) or a merchant category."""
    if not code:
        return ""
    return str(dict(PartnerPlatform.Kind.choices).get(code) or category_label(code))


@register.filter
def figure(value) -> str:
    """A number with its thousands grouped as the reader's language groups them ("40,394.92");
    anything else (none, a word) as written."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return "-" if value is None else value
    return formats.number_format(value, use_l10n=True, force_grouping=True)
