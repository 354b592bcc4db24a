"""A loan's schedule as a chart (common.charts; drawn by templates/portal/_schedule_chart.html):
principal and interest by due date, what fell due beside what has been paid."""

from django.utils.translation import gettext as _

from common.charts import (
    SCROLLING_LEGEND,
    SHADOW_TOOLTIP,
    axes_option,
    bar,
    category_axis,
    chart,
    value_axis,
    yuan_text,
    yuan_values,
)
from lending.models import Installment


def schedule_chart(installments: list[Installment]) -> dict:
    """From the installments already read for the page (no query of its own)."""
    dates = [i.due_on.isoformat() for i in installments]
    parts = (
        (_("Principal due"), "due", "principal_fen"),
        (_("Interest due"), "due", "interest_fen"),
        (_("Principal paid"), "paid", "paid_principal_fen"),
        (_("Interest paid"), "paid", "paid_interest_fen"),
    )
    return chart(
        name="schedule",
        title=_("Schedule: due and paid by due date"),
        option=axes_option(
            legend=SCROLLING_LEGEND,
            tooltip=SHADOW_TOOLTIP,
            x=category_axis(dates),
            y=value_axis(),
            series=[
                bar(name, yuan_values(getattr(i, field) for i in installments), stack=stack)
                for name, stack, field in parts
            ],
        ),
        value_format="yuan",
        height=280,
        columns=[_("Due date"), *[name for name, _stack, _field in parts]],
        rows=[
            [i.due_on.isoformat(), *[yuan_text(getattr(i, field)) for _name, _stack, field in parts]]
            for i in installments
        ],
    )
