"""What a page says in one language: its Han characters outside scripts, styles and data."""

import re

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def han_labels(page: str, *data: str) -> str:
    """The Han characters of a page's text outside its scripts and styles, the language switch's
    endonym and the merchant's own data (a shop or person's name may be Chinese in any language)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S | re.I)
    for value in (*data, "中文"):
        page = page.replace(value, "")
    return "".join(HAN.findall(page))
