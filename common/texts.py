"""Texts a row keeps and a person reads later (a stage's or an application's reasons, a warning's
reasons): stored as a stable code, the English msgid and its parameters, and rendered in the
reader's language when shown — the portal, the workbench and the API follow the request's
language. The English text is stored beside them, so a row written before its text was
translatable (or with a msgid no catalogue knows) still reads as it was written."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext


def stored_reason(code: str, msgid: str, params: Mapping[str, Any] | None = None) -> dict:
    """The JSON a row keeps for one reason: its code, the English text, the msgid and, when it
    has placeholders (`%(name)s`), their values (strings or numbers, already formatted)."""
    params = dict(params or {})
    stored = {"code": code, "text": msgid % params if params else msgid, "msgid": msgid}
    if params:
        stored["params"] = params
    return stored


def stored_text(item: Mapping[str, Any]) -> str:
    """A stored reason's text in the active language; the stored text when it has no msgid (rows
    written before) or its parameters no longer fit the translation."""
    msgid = item.get("msgid")
    if not msgid:
        return str(item.get("text", ""))
    params = item.get("params")
    try:
        return gettext(msgid) % params if params else gettext(msgid)
    except (KeyError, TypeError, ValueError):
        return str(item.get("text", ""))


def localized(items: Iterable[Mapping[str, Any]] | None) -> list[dict]:
    """Stored reasons as a reader gets them: code and text in the active language."""
    return [{"code": item.get("code", ""), "text": stored_text(item)} for item in items or []]
