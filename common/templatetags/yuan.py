"""Amounts in templates: `{{ fen|yuan }}` writes integer fen as yuan ("1,234.50"), none as "-"."""

from django import template

from common.money import format_yuan

register = template.Library()


@register.filter
def yuan(fen) -> str:
    if fen is None or fen == "" or isinstance(fen, bool):
        return "-"
    return format_yuan(int(fen))
