"""A training report as text for the command line: the same figures as the JSON, laid out to
read (metrics side by side, calibration, information value, the points table)."""

from collections.abc import Iterable


def _num(value, places: int = 4) -> str:
    return "-" if value is None else f"{value:.{places}f}"


def _table(headers: list[str], rows: Iterable[list], right: set[int] | None = None) -> list[str]:
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    right = right or set()

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(headers), line(["-" * w for w in widths]), *[line(r) for r in rows]]


def report_lines(*, version: str, status: str, report: dict) -> list[str]:
    """The report as lines of text."""
    out = [f"Model {version} ({status}), target '{report.get('target')}', source {report.get('source')}"]
    rows = report.get("rows", {})
    out.append(
        f"Rows: {rows.get('given')} given, {rows.get('used')} used ({rows.get('train')} train, "
        f"{rows.get('holdout')} held out); default rate {_num(rows.get('default_rate'))}"
    )
    outcome = report.get("outcome")
    if outcome:
        out.append(
            f"Outcome: {outcome['definition']}: {outcome['bad_loans']} bad of {outcome['loans']} loans"
        )
    split = report.get("split", {})
    if split.get("kind") == "time":
        out.append(
            f"Held out: the latest rows by {split.get('column')}, {split.get('holdout_from')} .. "
            f"{split.get('holdout_to')} ({split.get('holdout_share')} of rows)"
        )
    else:
        out.append(f"Held out: a stratified {split.get('holdout_share')} of rows (seed {split.get('seed')})")
    messages = report.get("messages") or []
    if messages:
        out += ["", "Messages:"] + [f"  - {m}" for m in messages]

    metrics = report.get("metrics", {})
    challenger = report.get("challenger") or {}
    comparison = report.get("comparison") or {}
    champion = comparison.get("champion") or {}
    headers = ["metric (held out)", "scorecard"]
    if challenger:
        headers.append("challenger (GBM)")
    if champion:
        headers.append(f"champion {report.get('champion_version') or ''}".strip())
    metric_rows = []
    for key in ("auc", "ks", "gini", "brier"):
        row = [key.upper() if key != "gini" else "Gini", _num(metrics.get(key))]
        if challenger:
            row.append(_num(challenger.get(key)))
        if champion:
            row.append(_num(champion.get(key)))
        metric_rows.append(row)
    metric_rows.append(
        ["defaults / rows", f"{metrics.get('defaults')} / {metrics.get('n')}"] + [""] * (len(headers) - 2)
    )
    out += ["", *_table(headers, metric_rows, right=set(range(1, len(headers))))]
    out.append(
        f"Train AUC {_num(metrics.get('train_auc'))} (a large gap to the held-out AUC means overfitting)"
    )
    if comparison:
        out.append(
            f"Against the champion on the same held-out rows: AUC {_num(comparison.get('auc_gain'), 4)}, "
            f"KS {_num(comparison.get('ks_gain'), 4)}, "
            f"Brier improvement {_num(comparison.get('brier_gain'), 4)}"
        )
        missing = comparison.get("champion_features_not_in_data") or []
        if missing:
            out.append(
                f"  (the champion's features missing from this data, scored as missing: {', '.join(missing)})"
            )
    else:
        out.append("No champion yet: nothing to compare with.")

    calibration = report.get("calibration") or []
    if calibration:
        out += ["", "Calibration (held out, by predicted probability):"]
        out += _table(
            ["group", "rows", "predicted", "observed", "defaults"],
            [
                [c["group"], c["n"], _num(c["predicted"]), _num(c["observed"]), c["defaults"]]
                for c in calibration
            ],
            right={1, 2, 3, 4},
        )
    iv = report.get("iv") or {}
    if iv:
        out += ["", "Information value per feature:"]
        out += _table(
            ["feature", "IV"], [[k, _num(v)] for k, v in sorted(iv.items(), key=lambda kv: -kv[1])], {1}
        )
    table = report.get("points_table") or []
    if table:
        model = report.get("model", {})
        out += [
            "",
            f"Points table (intercept {model.get('intercept_points')}, range {model.get('points_range')}, "
            f"scaling {model.get('scaling')}):",
        ]
        out += _table(
            ["feature", "bin", "points", "rows", "default rate"],
            [[r["feature"], r["bin"], r["points"], r["count"], _num(r["default_rate"])] for r in table],
            right={2, 3, 4},
        )
    unused = report.get("unused_columns") or {}
    if unused:
        out += ["", "Columns not used:"] + [f"  {k}: {v}" for k, v in unused.items()]
    promotion = report.get("promotion")
    if promotion:
        out += [
            "",
            f"Promotion: {'promoted' if promotion['promoted'] else 'not promoted'}: {promotion['reason']}",
        ]
    return out
