"""The risk manager's portfolio page (/risk/portfolio/): each figure of scoring.portfolio as a chart
with its table. Who may see it: the same as the sandbox (views_risk.risk_manager_required)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common.business_date import business_date_today
from common.charts import (
    SCROLLING_LEGEND,
    SHADOW_TOOLTIP,
    axes_option,
    bar,
    category_axis,
    chart,
    line,
    percent,
    stacked_bars,
    value_axis,
    yuan_text,
    yuan_values,
)
from lending.models import product_label
from payments.models import pool_label
from scoring import portfolio as pf
from scoring.views_risk import risk_manager_required

GRADE_ORDER = ("A", "B", "C", "D", "E", pf.UNGRADED)


def _grades(found) -> list[str]:
    present = set(found)
    return [g for g in GRADE_ORDER if g in present] + sorted(present - set(GRADE_ORDER))


def _by_product_grade(data: pf.Portfolio) -> dict:
    rows = data.by_product_grade
    grades = _grades(r["grade"] for r in rows)
    # The seed's products read in the reader's language, a typed name as typed (product_label).
    products = dict.fromkeys((r["product_code"], product_label(r["product"])) for r in rows)
    cell = {(r["product_code"], r["grade"]): r["outstanding_fen"] for r in rows}
    bars = stacked_bars(
        "outstanding",
        [(name, yuan_values(cell.get((code, g), 0) for g in grades)) for code, name in products],
    )
    return chart(
        name="outstanding",
        title=_("Outstanding principal by product and grade"),
        option=axes_option(
            legend=SCROLLING_LEGEND,
            x=category_axis(
                grades,
                _("Grade"),
            ),
            y=value_axis(),
            series=bars,
        ),
        value_format="yuan",
        columns=[_("Product"), _("Grade"), _("Loans"), _("Outstanding principal")],
        rows=[
            [product_label(r["product"]), r["grade"], r["loans"], yuan_text(r["outstanding_fen"])]
            for r in rows
        ],
        caption=_(
            "Open loans (current and overdue); a loan's grade is its credit line's, '-' without a line."
        ),
    )


def _classification(data: pf.Portfolio) -> dict:
    rows = data.classification
    total = sum(r["outstanding_fen"] for r in rows)
    labels = [str(r["label"]) for r in rows]
    return chart(
        name="classification",
        title=_("Five-tier classification"),
        option=axes_option(
            legend=None,
            tooltip={"trigger": "axis", "confine": True},
            x=category_axis(labels, axisLabel={"interval": 0, "rotate": 30}),
            y=value_axis(),
            series=[
                bar(
                    _("Outstanding principal"),
                    yuan_values(r["outstanding_fen"] for r in rows),
                    colorBy="data",
                )
            ],
        ),
        value_format="yuan",
        columns=[_("Class"), _("Loans"), _("Outstanding principal"), _("Share (%)")],
        rows=[
            [r["label"], r["loans"], yuan_text(r["outstanding_fen"]), percent(r["outstanding_fen"], total)]
            for r in rows
        ],
    )


def par_series(history: list[dict]) -> list[dict]:
    """Per month end: principal outstanding and PAR1/30/90 (exact per cent strings)."""
    by_day: dict = {}
    for r in history:
        day = by_day.setdefault(r["on"], {"on": r["on"], "total": 0, "par1": 0, "par30": 0, "par90": 0})
        day["total"] += r["outstanding_fen"]
        if r["bucket"] != "M0":
            day["par1"] += r["outstanding_fen"]
        if r["bucket"] in ("M2", "M3", "M4+"):
            day["par30"] += r["outstanding_fen"]
        if r["bucket"] == "M4+":
            day["par90"] += r["outstanding_fen"]
    out = []
    for day in sorted(by_day.values(), key=lambda d: d["on"]):
        if not day["total"] and not out:
            continue  # before the first loan
        out.append(
            {
                **day,
                "par1_pct": percent(day["par1"], day["total"]),
                "par30_pct": percent(day["par30"], day["total"]),
                "par90_pct": percent(day["par90"], day["total"]),
            }
        )
    return out


def _par(data: pf.Portfolio) -> dict:
    days = par_series(data.history)
    labels = [d["on"].isoformat() for d in days]
    lines = [
        line(name, [d[key] for d in days], symbolSize=6)
        for name, key in (("PAR1", "par1_pct"), ("PAR30", "par30_pct"), ("PAR90", "par90_pct"))
    ]
    return chart(
        name="par",
        title=_("Portfolio at risk (PAR 1/30/90) by month end"),
        option=axes_option(x=category_axis(labels), y=value_axis(), series=lines),
        value_format="percent",
        columns=[_("Month end"), _("Outstanding principal"), "PAR1 (%)", "PAR30 (%)", "PAR90 (%)"],
        rows=[
            [label, yuan_text(d["total"]), d["par1_pct"], d["par30_pct"], d["par90_pct"]]
            for label, d in zip(labels, days, strict=True)
        ],
        caption=_(
            "Share of principal outstanding 1 or more, over 30 and over 90 days past due, "
            "rebuilt from installments and repayments at each month end."
        ),
    )


def vintage_curves(vintages: list[dict], last_closed) -> list[dict]:
    """Per cohort: its loans and the cumulative share bad (per cent string) by month on book,
    for the months on book seen so far."""
    cohorts: dict[int, dict] = {}
    for r in vintages:
        entry = cohorts.setdefault(r["cohort"], {"loans": 0, "bad_by_mob": {}})
        entry["loans"] += r["loans"]
        if r["mob"] is not None:
            entry["bad_by_mob"][r["mob"]] = entry["bad_by_mob"].get(r["mob"], 0) + r["loans"]
    last = pf.month_index(last_closed)
    out = []
    for index in sorted(cohorts):
        entry = cohorts[index]
        running, shares = 0, []
        for mob in range(0, last - index + 1):
            running += entry["bad_by_mob"].get(mob, 0)
            shares.append(percent(running, entry["loans"]))
        out.append({"cohort": pf.month_of(index), "loans": entry["loans"], "shares": shares})
    return out


def _vintages(data: pf.Portfolio) -> dict:
    curves = vintage_curves(data.vintages, data.as_of)
    longest = max((len(c["shares"]) for c in curves), default=0)
    mobs = [str(m) for m in range(longest)]
    return chart(
        name="vintage",
        title=_("Vintage curves: loans reaching 30 days past due, by month of disbursement"),
        option=axes_option(
            legend=SCROLLING_LEGEND,
            x=category_axis(
                mobs,
                _("Months on book"),
            ),
            y=value_axis(),
            series=[line(c["cohort"].strftime("%Y-%m"), c["shares"], symbolSize=4) for c in curves],
        ),
        value_format="percent",
        columns=[_("Month of disbursement"), _("Loans"), *[_("MOB %(n)s (%%)") % {"n": m} for m in mobs]],
        rows=[
            [c["cohort"].strftime("%Y-%m"), c["loans"], *c["shares"], *[""] * (longest - len(c["shares"]))]
            for c in curves
        ],
        caption=_(
            "Cumulative share of each month's loans that reached 30 days past due or were written off, "
            "by months on book (0 = the month of disbursement)."
        ),
    )


NEXT_STATES = (*pf.BUCKETS, pf.REPAID, pf.WRITTEN_OFF)


def roll_matrix(history: list[dict]) -> dict:
    """Loans by bucket at one month end against their state at the next, summed over the months."""
    counts = {(b, n): 0 for b in pf.BUCKETS for n in NEXT_STATES}
    for r in history:
        if r["next"] is not None:
            counts[(r["bucket"], r["next"])] += r["loans"]
    totals = {b: sum(counts[(b, n)] for n in NEXT_STATES) for b in pf.BUCKETS}
    return {"counts": counts, "totals": totals}


def _roll_rates(data: pf.Portfolio) -> dict:
    matrix = roll_matrix(data.history)
    counts, totals = matrix["counts"], matrix["totals"]
    labels = {pf.REPAID: _("Repaid"), pf.WRITTEN_OFF: _("Written off")}
    to_names = [str(labels.get(n, n)) for n in NEXT_STATES]
    cells = [
        [x, y, percent(counts[(b, n)], totals[b])]
        for y, b in enumerate(pf.BUCKETS)
        for x, n in enumerate(NEXT_STATES)
        if totals[b]
    ]
    return chart(
        name="roll-rates",
        title=_("Roll rates between delinquency buckets, month to month"),
        option=axes_option(
            legend=None,
            tooltip={"trigger": "item", "confine": True},
            grid={"left": 8, "right": 8, "top": 8, "bottom": 8, "containLabel": True},
            visualMap={"show": False, "min": 0, "max": 100, "inRange": {"color": ["#f7f8fa", "#ff6a00"]}},
            x=category_axis(to_names, axisLabel={"interval": 0, "rotate": 30}),
            y=category_axis(pf.BUCKETS, inverse=True),
            series=[{"type": "heatmap", "data": cells, "label": {"show": True, "fontSize": 10}}],
        ),
        value_format="percent",
        height=360,
        columns=[_("This month"), _("Loans"), *[f"{name} (%)" for name in to_names]],
        rows=[[b, totals[b], *[percent(counts[(b, n)], totals[b]) for n in NEXT_STATES]] for b in pf.BUCKETS],
        caption=_(
            "Rows: the bucket at one month end; columns: where those loans are at the next. M0 current, "
            "M1 1–30 days past due, M2 31–60, M3 61–90, M4+ over 90; each row adds up to 100 %."
        ),
    )


def _approval_loss(data: pf.Portfolio) -> dict:
    approvals = {r["grade"]: r for r in data.approvals}
    losses = {r["grade"]: r for r in data.losses}
    grades = _grades([*approvals, *losses])
    rows, approval_rates, loss_rates = [], [], []
    for g in grades:
        a = approvals.get(g, {"approved": 0, "declined": 0})
        loss = losses.get(g, {"loans": 0, "disbursed_fen": 0, "written_off_fen": 0, "recovered_fen": 0})
        net = loss["written_off_fen"] - loss["recovered_fen"]
        approval = percent(a["approved"], a["approved"] + a["declined"])
        loss_rate = percent(net, loss["disbursed_fen"])
        approval_rates.append(approval)
        loss_rates.append(loss_rate)
        rows.append(
            [
                g,
                a["approved"],
                a["declined"],
                approval,
                yuan_text(loss["disbursed_fen"]),
                yuan_text(net),
                loss_rate,
            ]
        )
    return chart(
        name="approval-loss",
        title=_("Approval rate and loss by grade"),
        option=axes_option(
            x=category_axis(
                grades,
                _("Grade"),
            ),
            y=value_axis(),
            series=[
                bar(
                    _("Approval rate"),
                    approval_rates,
                ),
                bar(
                    _("Loss rate"),
                    loss_rates,
                ),
            ],
        ),
        value_format="percent",
        columns=[
            _("Grade"),
            _("Approved"),
            _("Declined"),
            _("Approval rate (%)"),
            _("Disbursed principal"),
            _("Written off less recovered"),
            _("Loss rate (%)"),
        ],
        rows=rows,
        caption=_(
            "Approval rate: decided applications by the grade they were decided on. Loss rate: write-offs "
            "less recoveries over principal disbursed, by the loans' line grade."
        ),
    )


def _funding(data: pf.Portfolio) -> dict:
    pools = data.pools
    names = [pool_label(p["name"]) for p in pools]
    parts = (
        (_("Lent out"), "outstanding_fen"),
        (_("Lost"), "losses_fen"),
        (_("Still available"), "capacity_fen"),
    )
    return chart(
        name="funding",
        title=_("Funding capacity used"),
        option=axes_option(
            tooltip=SHADOW_TOOLTIP,
            # Room on the right for the last amount on the axis.
            grid={"left": 8, "right": 48, "top": 40, "bottom": 8, "containLabel": True},
            x=value_axis(splitNumber=2),
            y=category_axis(names),
            series=stacked_bars(
                "pool", [(label, yuan_values(p[key] for p in pools)) for label, key in parts]
            ),
        ),
        value_format="yuan",
        height=max(200, 90 + 50 * len(pools)),
        columns=[
            _("Funding pool"),
            _("Capital and borrowings"),
            _("Lent out"),
            _("Lost"),
            _("Still available"),
            _("Used (%)"),
        ],
        rows=[
            [
                pool_label(p["name"]),
                yuan_text(p["limit_fen"]),
                yuan_text(p["outstanding_fen"]),
                yuan_text(p["losses_fen"]),
                yuan_text(p["capacity_fen"]),
                percent(p["outstanding_fen"] + p["losses_fen"], p["limit_fen"]),
            ]
            for p in pools
        ],
    )


@risk_manager_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    data = pf.portfolio_get(on=business_date_today())
    par = par_series(data.history)
    latest = par[-1] if par else None
    charts = [
        _by_product_grade(data),
        _classification(data),
        _par(data),
        _vintages(data),
        _roll_rates(data),
        _approval_loss(data),
        _funding(data),
    ]
    context = {
        "as_of": data.as_of,
        "charts": charts,
        "outstanding": yuan_text(sum(r["outstanding_fen"] for r in data.by_product_grade)),
        "loans": sum(r["loans"] for r in data.by_product_grade),
        "par30": latest["par30_pct"] if latest else "0.00",
    }
    return render(request, "risk/portfolio.html", context)
