"""What a person reads of a refusal, as a sentence of its language: a service's message (often
written lower-case, for the API, "cannot draw 500.00 yuan: ...") begins with a capital and ends
with a full stop (。 in Chinese); one that names codes or internal figures, or that has no
translation in the reader's language, is replaced by plain words (`sentence_of`)."""

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from common.api_language import spoken
from common.errors import ApplicationError

_STOPS = ".!?。！？"


# CJK ideographs, CJK punctuation and full-width forms, by code point.
_CHINESE = ((0x4E00, 0x9FFF), (0x3000, 0x303F), (0xFF00, 0xFFEF))


def _is_chinese(text: str) -> bool:
    return any(low <= ord(c) <= high for c in text for low, high in _CHINESE)


def sentence(text) -> str:
    """`text` with a capital first letter and a closing stop; empty stays empty."""
    text = str(text).strip()
    if not text:
        return text
    chinese = _is_chinese(text)
    if not chinese and text[0].islower():
        text = text[0].upper() + text[1:]
    if text[-1] not in _STOPS:
        text += "。" if chinese else "."
    return text


def _reader_reads_chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def reads_chinese(text: str) -> bool:
    """Whether the reader reads Chinese and `text` is Chinese (a rule's message written through
    gettext, in the request's language)."""
    return _reader_reads_chinese() and _is_chinese(str(text))


def sentence_of(exc: ApplicationError | str) -> str:
    """A refusal as the portal shows it: known internal refusals in plain words, the rule's own
    reason when it reads in the reader's language (a message the rule wrote in English, found in
    the catalogues, is turned as the API turns it), anything else replaced by a plain request to
    check and try again."""
    if isinstance(exc, ApplicationError):
        fields = exc.extra.get("fields") or {}
        text = str(exc.message)
    else:
        fields, text = {}, str(exc)
    problems = " ".join(str(p) for values in fields.values() for p in (values or []))
    if "accepted_sha256" in fields:
        return _("The agreement has changed since it was shown. Please read it again and accept it.")
    if "idempotency_key" in fields:
        return _("This request was already sent with other details. Please reload the page and try again.")
    if "pool" in fields or "funding pool" in problems or "funding pool" in text:
        return _("We cannot lend this amount at the moment. Please try a smaller amount, or try again later.")
    if _reader_reads_chinese() and not _is_chinese(text):
        text = spoken(text)
    if _reader_reads_chinese() and not _is_chinese(text):
        return _("This could not be done. Please check what you entered and try again.")
    return sentence(text)
