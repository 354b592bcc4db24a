"""The shop page's daily sales as a chart (common.charts; drawn by templates/portal/_sales_chart.html)."""

import datetime as dt

from django.utils.translation import gettext as _

from common.charts import axes_option, bar, category_axis, chart, value_axis, yuan_text, yuan_values


def sales_chart(days: list[dict]) -> dict:
    """Sales per day from merchant_sales_by_day's rows; days without orders show as zero."""
    found = {d["day"]: d for d in days}
    dates: list[dt.date] = []
    if found:
        day, last = min(found), max(found)
        while day <= last:
            dates.append(day)
            day += dt.timedelta(days=1)
    amounts = [int(found[d]["amount_fen"] or 0) if d in found else 0 for d in dates]
    orders = [found[d]["orders"] if d in found else 0 for d in dates]
    return chart(
        name="sales",
        title=_("Daily sales"),
        option=axes_option(
            legend=None,
            x=category_axis(d.strftime("%m-%d") for d in dates),
            y=value_axis(),
            series=[
                bar(
                    _("Sales"),
                    yuan_values(amounts),
                )
            ],
        ),
        value_format="yuan",
        height=260,
        columns=[_("Date"), _("Orders"), _("Sales")],
        rows=[[d.isoformat(), n, yuan_text(a)] for d, n, a in zip(dates, orders, amounts, strict=True)],
    )
