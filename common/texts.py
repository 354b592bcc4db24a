"""Texts a row keeps and a person reads later (a stage's or an application's reasons, a warning's
reasons): stored as a stable code, the English msgid and its parameters, and rendered in the
reader's language when shown — the portal, the workbench and the API follow the request's
language. The English text is stored beside them, so a row written before its text was
translatable (or with a msgid no catalogue knows) still reads as it was written."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import get_language, gettext


def stored_reason(code: str, msgid: str, params: Mapping[str, Any] | None = None) -> dict:
    """The JSON a row keeps for one reason: its code, the English text, the msgid and, when it
    has placeholders (`%(name)s`), their values (strings or numbers, already formatted, or
    stored reasons themselves: one, or a list read joined by "; ")."""
    params = dict(params or {})
    english = {name: _value(value, stored_only=True) for name, value in params.items()}
    stored = {"code": code, "text": msgid % english if params else msgid, "msgid": msgid}
    if params:
        stored["params"] = params
    return stored


def stored_words(code: str, *, zh: str, en: str) -> dict:
    """The JSON a row keeps for a reason that is bilingual by nature (a rating's reasons, stored
    in both languages where they were worded): its code, the English text and the Chinese."""
    return {"code": code, "text": en or zh, "zh": zh, "en": en}


def matched_reason(patterns: Iterable[tuple[str, Any, str]], words: str) -> dict | None:
    """The stored reason fixed words written by the system read as: the first of `patterns`
    (code, compiled regex, msgid whose placeholders are the regex's named groups) that matches
    the whole of `words`, or None (a person's words, read as written)."""
    for code, regex, msgid in patterns:
        found = regex.fullmatch(words)
        if found:
            return stored_reason(code, msgid, found.groupdict())
    return None


def stored_text(item: Mapping[str, Any]) -> str:
    """A stored reason's text in the active language (the one of its two languages, for words
    stored in both); the stored text when it has no msgid (rows written before) or its
    parameters no longer fit the translation."""
    msgid = item.get("msgid")
    if not msgid:
        if "zh" in item and "en" in item:
            chinese = (get_language() or "zh-hans").startswith("zh")
            return str((item["zh"] if chinese else item["en"]) or item.get("text", ""))
        return str(item.get("text", ""))
    params = item.get("params")
    try:
        if not params:
            return gettext(msgid)
        return gettext(msgid) % {name: _value(value) for name, value in params.items()}
    except (KeyError, TypeError, ValueError):
        return str(item.get("text", ""))


def _is_reason(value: Any) -> bool:
    return isinstance(value, Mapping) and "text" in value


def _value(value: Any, *, stored_only: bool = False) -> Any:
    """A parameter as its sentence reads it: a stored reason (or a list of them) in the active
    language, or as stored (`stored_only`); anything else as it is."""
    if _is_reason(value):
        return str(value["text"]) if stored_only else stored_text(value)
    if isinstance(value, list) and value and all(_is_reason(v) for v in value):
        return "; ".join(str(v["text"]) if stored_only else stored_text(v) for v in value)
    return value


def stored_texts(items: Iterable[Mapping[str, Any]] | None, fallback: str = "") -> str:
    """Stored reasons as one line in the active language ("; " between them), or `fallback`
    (a row's text written before it kept its reasons) when there are none."""
    return "; ".join(stored_text(item) for item in items or []) or fallback


def localized(items: Iterable[Mapping[str, Any]] | None) -> list[dict]:
    """Stored reasons as a reader gets them: code and text in the active language."""
    return [{"code": item.get("code", ""), "text": stored_text(item)} for item in items or []]
