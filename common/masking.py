"""How personal data is shown where it is not needed in clear: API replies, pages, the audit log
and, as a second line behind encrypted columns, log records."""

import logging
import re

from common.crypto import mask


def mask_name(value: str) -> str:
    """'张三' -> '张*', '欧阳娜娜' -> '欧***': the family name's first character stays."""
    value = (value or "").strip()
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_phone(value: str) -> str:
    """'13812345678' -> '138****5678'."""
    value = "".join((value or "").split())
    return mask(value, keep_start=3, keep_end=4) if value else ""


def mask_address(value: str) -> str:
    """'杭州市西湖区文三路1号' -> '杭州市西湖****': the area stays, the street and number go; the
    stars do not tell the length."""
    value = (value or "").strip()
    if not value:
        return ""
    return value[: min(5, len(value) // 2)] + "****"


def mask_value(value: str) -> str:
    """A masking for any personal value whose kind is not known (the audit log's changed fields):
    numbers keep their first three and last four characters, words their first character."""
    value = (value or "").strip()
    if not value:
        return ""
    if sum(ch.isdigit() for ch in value) * 2 >= len(value):
        return mask(value, keep_start=3, keep_end=4)
    if len(value) <= 4:
        return mask_name(value)
    return mask_address(value)


# Identifiers that have a shape: an 18-character national ID, a bank card of 15–19 digits, a
# mainland mobile number. Names and addresses have none, which is why the columns are encrypted.
_PATTERNS = [
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
    re.compile(r"(?<![0-9A-Za-z])\d{15,19}(?![0-9A-Za-z])"),
    re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9A-Za-z])"),
]


def mask_text(text: str) -> str:
    """Every national ID, bank card and mobile number in free text, masked."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: mask("".join(m.group(0).split()), keep_start=3, keep_end=4), text)
    return text


class PiiLogFilter(logging.Filter):
    """Masks identifiers in a log record's message and traceback before any handler writes it.
    Attached to every handler in settings.LOGGING (and to Celery's), so a database error that
    quotes a row, or a debug line that quotes a request, cannot carry them out."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logged as it is, not lost
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True
