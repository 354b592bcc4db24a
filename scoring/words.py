"""A rating's words in both languages. A scorecard's labels and a score's reasons are stored with
both languages side by side (a model is trained once and read by merchants and staff in either);
they are written once, in English, as msgids, and their Chinese comes from the catalogue. A page
shows the one of the reader's language."""

from django.utils.translation import get_language, override


def both(text, **params) -> tuple[str, str]:
    """A lazy msgid (its named placeholders filled from `params`) as (zh-Hans, English), read from
    the catalogues."""
    pair = []
    for language in ("zh-hans", "en"):
        with override(language):
            pair.append(str(text) % params if params else str(text))
    return pair[0], pair[1]


def active(zh: str, en: str) -> str:
    """The one of the two in the active language (the other when that one is empty)."""
    if (get_language() or "zh-hans").startswith("zh"):
        return zh or en
    return en or zh
