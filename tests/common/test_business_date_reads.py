"""The business date is read at the interfaces (commands, tasks, views, admin, API views, the
demo) and passed down: services, selectors, calculations and feature builders take it as an
argument. An AST scan of those modules finds every read of `business_date_today`."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("common", "merchants", "payments", "lending", "scoring", "riskcontrol", "demo")
NAME = "business_date_today"

# Modules that may read the date themselves, each for a reason that belongs to the module.
ALLOWED = {
    # The ledger defines "today" for an entry posted without a date (a single transfer from the
    # portal or the partner API): on PostgreSQL it reads the calendar inside the posting statement
    # to save a round trip, elsewhere through business_date_today(). Bulk posting passes the date.
    "payments/ledger.py",
    # The demo's day loop, like lending.cob.close_through: it starts where the calendar stands and
    # each close it runs moves the calendar on, so the date is read afresh for every day.
    "demo/services.py",
    # A withdrawal's business date (`Payout.requested_on`) when its caller gives none: the
    # portal's view, the demo and the API pass it; the services' older callers (the payout
    # channel's tests and benchmarks) still rely on the default, as the ledger's do.
    "payments/services.py",
}


def below_the_interfaces() -> list[Path]:
    """Services, selectors, calculations and feature builders of every app, at any depth."""
    patterns = (
        "**/services.py",
        "**/services/**/*.py",
        "**/selectors.py",
        "**/calculations.py",
        "**/calculations/**/*.py",
        "**/features/**/*.py",
    )
    found: set[Path] = set()
    for app in APPS:
        for pattern in patterns:
            found.update((ROOT / app).glob(pattern))
    found.update({ROOT / "payments/ledger.py", ROOT / "payments/bulk.py"})
    return sorted(path for path in found if path.is_file())


def reads(source: str) -> list[int]:
    """Lines that import, call or name business_date_today (also as `module.business_date_today`)."""

    def names_it(node: ast.AST) -> bool:
        if isinstance(node, ast.ImportFrom):
            return any(alias.name == NAME for alias in node.names)
        return (isinstance(node, ast.Name) and node.id == NAME) or (
            isinstance(node, ast.Attribute) and node.attr == NAME
        )

    return sorted({node.lineno for node in ast.walk(ast.parse(source)) if names_it(node)})


def test_the_scan_sees_every_way_of_reading_the_date():
    assert reads("from common.business_date import business_date_today\n") == [1]
    assert reads("import common.business_date as b\nx = b.business_date_today()\n") == [2]
    assert reads("def f(on=None):\n    return on or business_date_today()\n") == [2]
    assert reads("def f(*, on):\n    return on\n") == []


def test_the_scan_covers_the_modules_below_the_interfaces():
    scanned = {path.relative_to(ROOT).as_posix() for path in below_the_interfaces()}
    assert {
        "payments/ledger.py",
        "payments/bulk.py",
        "lending/services/loans.py",
        "lending/services/lines.py",
        "lending/selectors.py",
        "scoring/selectors.py",
        "scoring/services/offers.py",
        "scoring/features/aggregates.py",
        "scoring/monitoring/services.py",
        "scoring/sandbox/services.py",
        "scoring/calculations.py",
        "lending/calculations/schedules.py",
    } <= scanned


def test_services_selectors_and_calculations_take_the_business_date_as_an_argument():
    offenders = {}
    for path in below_the_interfaces():
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED:
            continue
        found = reads(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert offenders == {}, (
        "read the business date at the interface (command, task, view, admin action, API view) and "
        f"pass it down as `on=` / `as_of=`: {offenders}"
    )


def test_every_allowed_module_still_reads_the_date():
    # An exception that is no longer needed leaves the list.
    for name in ALLOWED:
        assert reads((ROOT / name).read_text(encoding="utf-8")), f"{name} no longer reads the date"
