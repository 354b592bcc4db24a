"""What the workbench tells an officer after an action is in the officer's language: no message
handed to `message_user` is English text written in the code. A message may put translated text
beside what is not a word of any language (a loan's reference, a number)."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ("common", "lending", "merchants", "payments", "riskcontrol", "scoring")
WORD = re.compile(r"[A-Za-z]{2,}")


def _written_words(node: ast.AST) -> list[str]:
    """The words of a message's literal text that no gettext call wraps."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return WORD.findall(node.value)
    if isinstance(node, ast.JoinedStr):
        return [w for part in node.values if isinstance(part, ast.Constant) for w in WORD.findall(part.value)]
    if isinstance(node, ast.BinOp):
        return _written_words(node.left) + _written_words(node.right)
    return []


def _messages():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in ast.walk(tree):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "message_user"
                    and len(call.args) >= 2
                ):
                    yield path.relative_to(ROOT), call.lineno, call.args[1]


def test_workbench_messages_are_translated():
    found = [f"{path}:{line}: {words}" for path, line, node in _messages() if (words := _written_words(node))]
    assert found == []


def test_the_scan_sees_messages():
    assert sum(1 for _ in _messages()) > 20
    assert _written_words(ast.parse('f"revoked {n} key(s)"', mode="eval").body) == ["revoked", "key"]
    assert _written_words(ast.parse('f"{ref}: {text} → {where}"', mode="eval").body) == []
