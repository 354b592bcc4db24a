"""No label in two languages at once: no string literal of the source tree's Python (models'
choices and names, messages, demo data, console output) and no text of its templates puts
Chinese next to English words ("淘宝 Taobao", "loan officer 信贷员"). A label is one msgid, shown
in the reader's language; data is one name as it was typed. Failures name the file and line.

The tests are not scanned: their data includes rows written in two languages before, to check
they are read right. Docstrings are not labels either (a word's Chinese in parentheses)."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
HAN = r"[\u3400-\u9fff\uf900-\ufaff]"
# What may stand between a Chinese word and an English one in a two-language label.
BETWEEN = r"[\s()（）/·:：,，\-–—]*"
BILINGUAL = re.compile(rf"{HAN}{BETWEEN}[A-Za-z]{{2,}}|[A-Za-z]{{2,}}{BETWEEN}{HAN}")
# Placeholders (%(name)s, %s, {name}) are values, not words.
PLACEHOLDERS = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0 +]*\d*(?:\.\d+)?[sdfr]|\{[^{}]*\}")
SKIPPED_DIRS = {".venv", ".git", "node_modules", "locale", "migrations", "static", "tests", "var", "media"}
# Files allowed to hold both languages, with the Chinese they may put next to English ("*": any).
ALLOWED: dict[str, set[str]] = {
    # The agreement as merchants accepted it before it was rendered per language: hashed, so kept
    # word for word for the applications accepted then (docs/architecture.md, "Languages").
    "lending/agreements_legacy.py": {"*"},
    # API examples: an agreement's "Borrower:" line followed by a Chinese shop's name (a proper
    # noun) and its reference.
    "lending/api/examples.py": {"西湖茶叶店"},
}


def _allowed(path: str, text: str) -> bool:
    allowed = ALLOWED.get(path, set())
    return "*" in allowed or any(word in text for word in allowed)


def bilingual(text: str) -> bool:
    return bool(BILINGUAL.search(PLACEHOLDERS.sub(" ", text)))


def python_hits(path: Path, rel: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{rel}:{node.lineno}: {node.value[:80]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and bilingual(node.value)
        and not _allowed(rel, node.value)
    ]


def template_hits(path: Path, rel: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    # Comments are no page's words; tags and variables are replaced by a space, keeping lines.
    text = re.sub(
        r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}|<!--.*?-->",
        lambda m: "\n" * m.group(0).count("\n"),
        text,
        flags=re.S,
    )
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", text)
    return [
        f"{rel}:{number}: {line.strip()[:80]}"
        for number, line in enumerate(text.splitlines(), 1)
        if bilingual(line) and not _allowed(rel, line)
    ]


def source_files() -> list[tuple[Path, str]]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if SKIPPED_DIRS & set(rel.split("/")[:-1]) or not path.is_file():
            continue
        if path.suffix == ".py" or (path.suffix in {".html", ".txt"} and "templates" in rel.split("/")):
            found.append((path, rel))
    return found


@pytest.mark.parametrize(
    "text",
    ["淘宝 Taobao", "B2C seller 淘宝卖家 (portal)", "七天无理由退货 no-reason return", "Xiaodai 小贷 demo"],
)
def test_the_scan_finds_a_label_in_two_languages(text):
    assert bilingual(text)


@pytest.mark.parametrize("text", ["额度 %(line)s", "{name} 的额度", "淘宝", "B2C seller (portal)", "1688"])
def test_the_scan_leaves_one_language_and_placeholders_alone(text):
    assert not bilingual(text)


def test_no_source_file_holds_a_label_in_two_languages():
    files = source_files()
    assert any(rel.startswith("demo/") for _, rel in files) and any(rel.endswith(".html") for _, rel in files)
    hits = []
    for path, rel in files:
        hits += python_hits(path, rel) if path.suffix == ".py" else template_hits(path, rel)
    assert not hits, "\n".join(hits)
