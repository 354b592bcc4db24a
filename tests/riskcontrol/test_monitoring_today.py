"""Post-loan monitoring reads no business date of its own: the interface that starts it (the
`monitor` command, the nightly task) reads the calendar and passes it down. A repayment it
demands falls due on the first business date after the monitored one — the calendar's date when
an officer runs an earlier date later."""

import datetime as dt

from django.core.management import call_command

from common.business_date import business_date_today
from lending import cob
from lending.models import Loan
from riskcontrol import tasks
from riskcontrol.models import RiskAction
from tests.riskcontrol.test_actions import ON, closed_by_platform, lent, pool  # noqa: F401 - pool is a fixture


def test_an_earlier_date_monitored_later_makes_the_demand_due_today_as_the_command_read_it(pool):  # noqa: F811
    line, loan = lent()
    closed_by_platform(line.merchant)
    cob.close_through(through=ON + dt.timedelta(days=2))
    today = business_date_today()
    assert today == ON + dt.timedelta(days=3)

    call_command("monitor", "--on", ON.isoformat())

    assert RiskAction.objects.filter(merchant=line.merchant, kind="demand_repayment").exists()
    assert Loan.objects.get(pk=loan.pk).oldest_unpaid_due_on == today


def test_the_nightly_task_sends_each_chunk_the_date_it_read(pool, monkeypatch):  # noqa: F811
    lent()
    sent = []
    monkeypatch.setattr(tasks.monitoring_chunk, "apply_async", lambda args, queue: sent.append(args))

    tasks.monitoring_nightly.run(on=ON.isoformat(), dispatch=True)

    assert sent and all(args[2] == (ON + dt.timedelta(days=1)).isoformat() for args in sent)
    for args in sent:
        tasks.monitoring_chunk(*args)
