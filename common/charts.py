"""Charts as data: what templates/components/chart.html draws with common/static/common/charts.js
(Apache ECharts) and shows again as a table for screen readers and browsers without scripts.

A view builds one dict per chart with `chart(...)`: the ECharts option (plain JSON, no functions),
how its values read ("yuan", "percent", "share", "number"), and the same numbers as table rows,
already formatted. Amounts go to the browser as yuan strings made from integer fen ("1234.50"),
never through float arithmetic here.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from common.money import fen_to_yuan, format_yuan

VALUE_FORMATS = ("yuan", "percent", "share", "number")
# The brand colour first, then colours that stay apart for the colour-blind (Okabe–Ito).
PALETTE = ["#ff6a00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#d55e00", "#999999"]


def yuan(fen: int) -> str:
    """Fen as the yuan string a chart plots: 123450 -> "1234.50"."""
    return str(fen_to_yuan(fen))


def yuan_text(fen: int) -> str:
    """Fen as a table cell: 123450 -> "¥1,234.50" (a minus sign before the ¥)."""
    return ("-¥" if fen < 0 else "¥") + format_yuan(abs(fen))


def percent(numerator: int, denominator: int) -> str:
    """An exact share in per cent with two places, as a string ("12.50"); "0.00" over nothing."""
    if not denominator:
        return "0.00"
    share = Fraction(numerator * 100, denominator)
    return str((Decimal(share.numerator) / Decimal(share.denominator)).quantize(Decimal("0.01")))


def chart(
    *,
    name: str,
    title: str,
    option: dict,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    value_format: str | None = None,
    height: int = 320,
    caption: str = "",
) -> dict:
    """One chart for components/chart.html: `name` makes its ids (`chart-<name>` for tests,
    `chart-data-<name>` for the data); `columns`/`rows` are the accessible table."""
    if value_format is not None and value_format not in VALUE_FORMATS:
        raise ValueError(f"value_format must be one of {VALUE_FORMATS}, not {value_format!r}")
    option = {"color": PALETTE, **option}
    option.setdefault("grid", {"left": 8, "right": 16, "top": 40, "bottom": 8, "containLabel": True})
    option.setdefault("tooltip", {"trigger": "axis", "confine": True})
    return {
        "name": name,
        "data_id": f"chart-data-{name}",
        "title": str(title),
        "caption": str(caption),
        "spec": {"option": option, "format": {"value": value_format}, "height": height},
        "columns": [str(c) for c in columns],
        "rows": [[str(v) for v in row] for row in rows],
        "empty": not rows,
    }


# The pieces of an option, so every chart spells a series, an axis and a legend one way.

LEGEND = {"top": 0}
SCROLLING_LEGEND = {"type": "scroll", "top": 0}
SHADOW_TOOLTIP = {"trigger": "axis", "confine": True, "axisPointer": {"type": "shadow"}}


def series(kind: str, name: str, data: Iterable, **style) -> dict:
    """One ECharts series: its name, its type ("line", "bar", ...), any style, then its data."""
    return {"name": name, "type": kind, **style, "data": list(data)}


def line(name: str, data: Iterable, **style) -> dict:
    return series("line", name, data, **style)


def bar(name: str, data: Iterable, **style) -> dict:
    return series("bar", name, data, **style)


def stacked_bars(stack: str, parts: Iterable[tuple[str, Iterable]]) -> list[dict]:
    """Bars of (name, data) pairs piled on one another in one stack."""
    return [bar(name, data, stack=stack) for name, data in parts]


def yuan_values(fens: Iterable[int]) -> list[str]:
    """Amounts in fen as the yuan strings a chart plots."""
    return [yuan(fen) for fen in fens]


def category_axis(labels: Iterable, name: str | None = None, **style) -> dict:
    axis = {"type": "category", "data": list(labels)}
    if name is not None:
        axis["name"] = name
    return {**axis, **style}


def value_axis(**style) -> dict:
    return {"type": "value", **style}


def axes_option(*, x: dict, y: dict, series: list[dict], legend: dict | None = LEGEND, **extra) -> dict:
    """A chart on two axes: its legend (None: none), any other option keys (tooltip, grid, ...),
    the axes and the series."""
    option = {"legend": legend} if legend is not None else {}
    return {**option, **extra, "xAxis": x, "yAxis": y, "series": series}
