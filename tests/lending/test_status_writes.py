"""A loan's and a line's status is written in one place, lending/lifecycle.py (`transition`,
`transition_many`, and `moves_sql` inside close of business's one UPDATE, recorded by
`moves_record`). A scan of the production apps finds every other way of writing it: assigning
`<loan or line>.status`, `.update(status=…)` / `bulk_update([... "status" ...])` on loans or
lines, and SQL that sets `status` in lending_loan or lending_creditline."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("common", "merchants", "payments", "lending", "scoring", "riskcontrol", "demo")
HOME = "lending/lifecycle.py"
# An object that is a loan or a line, by the name the code gives it.
LOAN_OR_LINE = re.compile(r"(^|[^a-z])(loan|line|creditline)s?([^a-z]|$)", re.IGNORECASE)
# SQL that updates a loan or a line and sets its status: the SET list up to WHERE / FROM / RETURNING.
SQL_SET_STATUS = re.compile(
    r"UPDATE\s+\"?lending_(loan|creditline)\"?\s+(AS\s+\w+\s+|\w+\s+)?SET\b(?P<set>.*?)(\bWHERE\b|\bFROM\b|\bRETURNING\b|$)",
    re.IGNORECASE | re.DOTALL,
)
STATUS_ASSIGNED = re.compile(r"(^|[\s,.])status\s*=(?!=)", re.IGNORECASE)


def production_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.relative_to(ROOT).as_posix() != HOME
    )


def _text(node: ast.AST) -> str:
    return ast.unparse(node)


def status_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) of every write of a loan's or a line's status in `source`."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and LOAN_OR_LINE.search(_text(target.value))
                ):
                    found.append((node.lineno, f"{_text(target)} = …"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = _text(node.func.value)
            if not (LOAN_OR_LINE.search(receiver) or re.search(r"\b(Loan|CreditLine)\b", receiver)):
                continue
            if node.func.attr in ("update", "update_or_create") and any(
                k.arg == "status" for k in node.keywords
            ):
                found.append((node.lineno, f"{receiver}.{node.func.attr}(status=…)"))
            if node.func.attr == "bulk_update" and "'status'" in _text(node):
                found.append((node.lineno, f"{receiver}.bulk_update(…status…)"))
    # SQL: the source's text, so f-strings and concatenations are read whole. `status = {status}`
    # is close of business's CASE built by lifecycle.moves_sql, allowed where the module calls it.
    for match in SQL_SET_STATUS.finditer(source):
        assignments = match.group("set")
        for hit in STATUS_ASSIGNED.finditer(assignments):
            rest = assignments[hit.end() :].lstrip()
            if rest.startswith("{status}") and "lifecycle.moves_sql(" in source:
                continue
            line = source.count("\n", 0, match.start()) + 1
            found.append((line, f"lending_{match.group(1)}: status set to {rest[:30]!r}"))
    return sorted(found)


def test_the_scan_sees_every_way_of_writing_a_status():
    assert status_writes("loan.status = 'repaid'\n") == [(1, "loan.status = …")]
    assert status_writes("current_line.status = x\n") == [(1, "current_line.status = …")]
    assert status_writes("run.status = 'done'\n") == []  # not a loan or a line
    assert status_writes("Loan.objects.filter(pk=1).update(status='repaid')\n") == [
        (1, "Loan.objects.filter(pk=1).update(status=…)")
    ]
    assert status_writes("CreditLine.objects.bulk_update(lines, ['status'])\n")
    assert status_writes("Payout.objects.filter(pk=1).update(status='failed')\n") == []
    assert status_writes(
        "sql = \"UPDATE lending_loan SET recovered_fen = 1, status = 'repaid' WHERE id = 1\"\n"
    )
    assert status_writes('sql = "UPDATE lending_creditline l SET status = %s WHERE l.id = 1"\n')
    assert (
        status_writes("sql = \"UPDATE lending_loan SET recovered_fen = 1 WHERE status = 'active'\"\n") == []
    )
    assert (
        status_writes(
            's = lifecycle.moves_sql(x)\nsql = f"UPDATE lending_loan SET status = {status}, a = 1"\n'
        )
        == []
    )
    assert status_writes('sql = f"UPDATE lending_loan SET status = {status}, a = 1"\n')


def test_no_module_but_the_lifecycle_writes_a_loans_or_a_lines_status():
    offenders = {}
    for path in production_modules():
        found = status_writes(path.read_text(encoding="utf-8"))
        if found:
            offenders[path.relative_to(ROOT).as_posix()] = found
    assert offenders == {}, (
        "change a loan's or a line's status through lending.lifecycle (a transition table entry and "
        f"a service named after the event): {offenders}"
    )
