"""A loan's schedule as a chart (common.charts; drawn by templates/portal/_schedule_chart.html):
principal and interest by due date, what fell due beside what has been paid."""

from django.utils.translation import gettext as _

from common.charts import chart, yuan, yuan_text
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
        option={
            "legend": {"type": "scroll", "top": 0},
            "tooltip": {"trigger": "axis", "confine": True, "axisPointer": {"type": "shadow"}},
            "xAxis": {"type": "category", "data": dates},
            "yAxis": {"type": "value"},
            "series": [
                {
                    "name": name,
                    "type": "bar",
                    "stack": stack,
                    "data": [yuan(getattr(i, field)) for i in installments],
                }
                for name, stack, field in parts
            ],
        },
        value_format="yuan",
        height=280,
        columns=[_("Due date"), *[name for name, _stack, _field in parts]],
        rows=[
            [i.due_on.isoformat(), *[yuan_text(getattr(i, field)) for _name, _stack, field in parts]]
            for i in installments
        ],
    )
