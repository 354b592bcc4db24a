"""The model report's charts (templates/admin/scoring/model_report.html): ROC, KS, calibration and the
score distribution from what training stored in the model's report (`curves`, `calibration`;
models trained before the curves were stored show those charts empty), PSI over time from the
model's drift reports, predicted versus actual default by grade from its grade outcomes."""

import itertools

from django.utils.translation import gettext as _

from common.charts import axes_option, bar, category_axis, chart, line, stacked_bars, value_axis
from scoring.models import DriftReport, GradeOutcome, ScoringModel

TABLE_STEP = 10  # the tables under the curves show every tenth point


def _pct(value) -> str:
    """A probability or share (a float from the model's metrics, not money) in per cent."""
    return "" if value is None else f"{float(value) * 100:.2f}"


def _share(value) -> str:
    return "" if value is None else f"{float(value):.4f}"


def _roc(report: dict) -> dict:
    roc = ((report.get("curves") or {}).get("roc")) or {"fpr": [], "tpr": []}
    pairs = list(zip(roc["fpr"], roc["tpr"], strict=True))
    auc = (report.get("metrics") or {}).get("auc")
    return chart(
        name="roc",
        title=_("ROC curve (held out)"),
        option=axes_option(
            tooltip={"trigger": "item", "confine": True},
            x=value_axis(
                min=0,
                max=1,
                name=_("False positive rate"),
            ),
            y=value_axis(min=0, max=1),
            series=[
                line(
                    _("Scorecard"),
                    pairs,
                    showSymbol=False,
                ),
                line(
                    _("Chance"),
                    [[0, 0], [1, 1]],
                    showSymbol=False,
                    lineStyle={"type": "dashed"},
                ),
            ],
        ),
        value_format="share",
        columns=[_("False positive rate"), _("True positive rate")],
        rows=[[_share(f), _share(t)] for f, t in pairs[::TABLE_STEP]],
        caption=_("AUC %(auc)s") % {"auc": _share(auc)} if auc is not None else "",
    )


def _ks(report: dict) -> dict:
    ks = ((report.get("curves") or {}).get("ks")) or {"population": [], "bad": [], "good": []}
    population = [_pct(v) for v in ks["population"]]
    value = (report.get("metrics") or {}).get("ks")
    return chart(
        name="ks",
        title=_("KS: defaults and non-defaults caught, riskiest first"),
        option=axes_option(
            x=category_axis(
                population,
                _("Population (%)"),
            ),
            y=value_axis(min=0, max=100),
            series=[
                line(
                    _("Defaults"),
                    [_pct(v) for v in ks["bad"]],
                    showSymbol=False,
                ),
                line(
                    _("Non-defaults"),
                    [_pct(v) for v in ks["good"]],
                    showSymbol=False,
                ),
            ],
        ),
        value_format="percent",
        columns=[_("Population (%)"), _("Defaults (%)"), _("Non-defaults (%)")],
        rows=[
            [p, _pct(b), _pct(g)]
            for p, b, g in list(zip(population, ks["bad"], ks["good"], strict=True))[::TABLE_STEP]
        ],
        caption=_("KS %(ks)s: the largest gap between the two curves.") % {"ks": _share(value)}
        if value is not None
        else "",
    )


def _calibration(report: dict) -> dict:
    rows = report.get("calibration") or []
    groups = [str(r["group"]) for r in rows]
    return chart(
        name="calibration",
        title=_("Calibration: predicted and observed default rate"),
        option=axes_option(
            x=category_axis(
                groups,
                _("Group"),
            ),
            y=value_axis(),
            series=[
                bar(
                    _("Predicted"),
                    [_pct(r["predicted"]) for r in rows],
                ),
                bar(
                    _("Observed"),
                    [_pct(r["observed"]) for r in rows],
                ),
            ],
        ),
        value_format="percent",
        columns=[_("Group"), _("Rows"), _("Predicted (%)"), _("Observed (%)"), _("Defaults")],
        rows=[[r["group"], r["n"], _pct(r["predicted"]), _pct(r["observed"]), r["defaults"]] for r in rows],
        caption=_("Held-out rows in tenths by predicted probability, safest first."),
    )


def _distribution(report: dict) -> dict:
    dist = ((report.get("curves") or {}).get("distribution")) or {"edges": [], "bad": [], "good": []}
    edges = dist["edges"]
    labels = [f"{_pct(lo)}–{_pct(hi)}" for lo, hi in itertools.pairwise(edges)]
    return chart(
        name="distribution",
        title=_("Score distribution: predicted default probability"),
        option=axes_option(
            x=category_axis(labels, "%"),
            y=value_axis(),
            series=stacked_bars(
                "rows",
                [
                    (
                        _("Non-defaults"),
                        dist["good"],
                    ),
                    (
                        _("Defaults"),
                        dist["bad"],
                    ),
                ],
            ),
        ),
        value_format="number",
        columns=[_("Probability (%)"), _("Non-defaults"), _("Defaults")],
        rows=[[label, g, b] for label, g, b in zip(labels, dist["good"], dist["bad"], strict=True)],
    )


def _psi(drift: list[DriftReport]) -> dict:
    labels = sorted({r.period_start.isoformat() for r in drift})
    lines = []
    for period, label in DriftReport.Period.choices:
        values = {r.period_start.isoformat(): r.psi for r in drift if r.period == period}
        if values:
            lines.append(
                line(
                    str(label),
                    [_share(values[d]) if d in values else None for d in labels],
                    connectNulls=True,
                )
            )
    return chart(
        name="psi",
        title=_("Population stability (PSI) of the score over time"),
        option=axes_option(x=category_axis(labels), y=value_axis(), series=lines),
        value_format="share",
        columns=[_("Period from"), _("Period"), _("PSI"), _("Status")],
        rows=[
            [r.period_start.isoformat(), r.get_period_display(), _share(r.psi), r.get_status_display()]
            for r in sorted(drift, key=lambda r: (r.period_start, r.period))
        ],
        caption=_("Below 0.1 stable, from 0.1 a warning, from 0.25 an alert."),
    )


def _by_grade(outcomes: list[GradeOutcome]) -> dict:
    grades: dict[str, dict] = {}
    for o in outcomes:
        g = grades.setdefault(o.grade, {"loans": 0, "predicted": 0.0, "matured": 0, "actual": 0.0})
        g["loans"] += o.loans
        g["predicted"] += o.predicted_default_rate * o.loans
        if o.matured and o.actual_default_rate is not None:
            g["matured"] += o.loans
            g["actual"] += o.actual_default_rate * o.loans
    names = sorted(grades)
    predicted = [grades[g]["predicted"] / grades[g]["loans"] if grades[g]["loans"] else None for g in names]
    actual = [grades[g]["actual"] / grades[g]["matured"] if grades[g]["matured"] else None for g in names]
    return chart(
        name="grade-outcomes",
        title=_("Predicted and actual default rate by grade"),
        option=axes_option(
            x=category_axis(
                names,
                _("Grade"),
            ),
            y=value_axis(),
            series=[
                bar(
                    _("Predicted"),
                    [_pct(v) or None for v in predicted],
                ),
                bar(
                    _("Actual"),
                    [_pct(v) or None for v in actual],
                ),
            ],
        ),
        value_format="percent",
        columns=[_("Grade"), _("Loans"), _("Predicted (%)"), _("Matured loans"), _("Actual (%)")],
        rows=[
            [g, grades[g]["loans"], _pct(p), grades[g]["matured"], _pct(a)]
            for g, p, a in zip(names, predicted, actual, strict=True)
        ],
        caption=_("Loans by the grade of the rating they were disbursed on; actual only for matured months."),
    )


def model_report_charts(model: ScoringModel) -> list[dict]:
    """Six charts; two queries (the model's drift reports of the score and its grade outcomes)."""
    report = model.report or {}
    drift = list(DriftReport.objects.filter(model=model, subject="score").order_by("period_start"))
    outcomes = list(GradeOutcome.objects.filter(model=model))
    return [
        _roc(report),
        _ks(report),
        _calibration(report),
        _distribution(report),
        _psi(drift),
        _by_grade(outcomes),
    ]
