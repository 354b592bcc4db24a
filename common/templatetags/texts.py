"""`{% load texts %}` then `{{ reason|stored_text }}`: a stored reason in the reader's language
(common.texts)."""

from django import template

from common import texts

register = template.Library()


@register.filter
def stored_text(item) -> str:
    return texts.stored_text(item) if hasattr(item, "get") else str(item)
