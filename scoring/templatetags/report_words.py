"""`{% load report_words %}`: a scoring report's sentences in the reader's language
(scoring.report_words): `{{ message|report_message }}`, `{{ reason|report_reason }}`."""

from django import template

from scoring import report_words

register = template.Library()


@register.filter
def report_message(words) -> str:
    return report_words.message_text(words)


@register.filter
def report_reason(words) -> str:
    return report_words.reason_text(words)
