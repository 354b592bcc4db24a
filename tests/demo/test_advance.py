"""The demo's clock: each business date the marketplace trades first, then the date closes; the
command and the nightly task do it day by day, once, in place of lending's nightly close."""

import datetime as dt
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from common.business_date import business_date_today
from demo.models import SimulatorState
from demo.tasks import demo_days_trade_and_close_nightly
from lending.models import CobRun, Loan
from merchants.models import Order
from merchants.signals import marketplace_day_traded
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres

END = dt.date(2025, 3, 31)
pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    run("seed_demo", "--merchants", "30", "--days", "40", f"--end-date={END}")
    assert business_date_today() == END + dt.timedelta(days=1)


@pytest.fixture
def traded_days():
    """(date traded, whether that date had begun closing when it traded), in order."""
    seen: list[tuple[dt.date, bool]] = []

    def record(sender, *, on, **kwargs):
        seen.append((on, CobRun.objects.filter(business_on=on).exists()))

    marketplace_day_traded.connect(record, dispatch_uid="test.traded_days")
    yield seen
    marketplace_day_traded.disconnect(dispatch_uid="test.traded_days")


def test_demo_advance_trades_each_date_before_it_closes(seeded, traded_days):
    first = END + dt.timedelta(days=1)
    out = run("demo_advance", "--days", "3")
    days = [first + dt.timedelta(days=k) for k in range(3)]
    assert traded_days == [(day, False) for day in days]
    assert list(CobRun.objects.order_by("business_on").values_list("business_on", "status")) == [
        (day, CobRun.Status.DONE) for day in days
    ]
    assert SimulatorState.objects.get().last_simulated_on == days[-1]
    assert business_date_today() == days[-1] + dt.timedelta(days=1)
    assert Order.objects.filter(placed_at__date__gt=END).exists()
    assert f"{days[0]}: traded 1 day(s); closed:" in out
    assert reconcile().is_clean


def test_demo_advance_again_through_a_closed_date_does_nothing(seeded, traded_days):
    through = END + dt.timedelta(days=2)
    run("demo_advance", "--through", through.isoformat())
    orders, loans = Order.objects.count(), list(Loan.objects.order_by("pk").values())
    traded_days.clear()
    out = run("demo_advance", "--through", through.isoformat())
    assert traded_days == []
    assert (Order.objects.count(), list(Loan.objects.order_by("pk").values())) == (orders, loans)
    assert CobRun.objects.count() == 2
    assert out.strip() == f"business date is now {through + dt.timedelta(days=1)}"


def test_demo_advance_trades_days_the_marketplace_missed_before_closing(seeded, traded_days):
    # The business date moved on without the marketplace (a bare close of business): the next
    # advance trades the missed day too, in order, before it closes the current date.
    call_command("close_of_business", "--days", "1", stdout=StringIO())
    traded_days.clear()
    run("demo_advance", "--days", "1")
    missed, current = END + dt.timedelta(days=1), END + dt.timedelta(days=2)
    assert [on for on, _ in traded_days] == [missed, current]
    assert traded_days[-1] == (current, False)
    assert SimulatorState.objects.get().last_simulated_on == current


def test_demo_advance_refuses_without_a_marketplace_or_with_bad_input():
    with pytest.raises(CommandError, match="seed_demo"):
        run("demo_advance", "--days", "1")
    with pytest.raises(CommandError, match="at least 1"):
        run("demo_advance", "--days", "0")
    with pytest.raises(CommandError, match="not a date"):
        run("demo_advance", "--through", "tomorrow")
    with pytest.raises(CommandError, match="one of the arguments --days --through is required"):
        run("demo_advance")
    assert not CobRun.objects.exists()


def test_nightly_task_trades_and_closes_through_yesterday_once(seeded, traded_days, monkeypatch):
    monkeypatch.setattr("demo.tasks.timezone.localdate", lambda: END + dt.timedelta(days=3))
    expected = [(END + dt.timedelta(days=k)).isoformat() for k in (1, 2)]
    assert demo_days_trade_and_close_nightly() == expected
    assert [(on.isoformat(), began) for on, began in traded_days] == [(d, False) for d in expected]
    assert demo_days_trade_and_close_nightly() == []
    assert business_date_today() == END + dt.timedelta(days=3)


def test_nightly_task_without_a_marketplace_does_nothing():
    assert demo_days_trade_and_close_nightly(through="2025-04-02") == []
    assert not CobRun.objects.exists()


def test_in_the_demo_beat_closes_only_through_the_demo_task():
    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "demo.tasks.demo_days_trade_and_close" in tasks
    # Lending's own nightly close would close dates the marketplace has not traded.
    assert not [task for task in tasks if task.startswith("lending.tasks.close_of_business")]
    assert settings.CELERY_TASK_ROUTES["demo.tasks.*"]["queue"] == settings.CELERY_QUEUE_BATCH


# A worker thread writing while this thread polls needs a server database (see
# tests/lending/test_close_of_business.py).
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_demo_advance_dispatch_closes_each_date_on_the_workers(seeded, traded_days, monkeypatch):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from lending import cob

    def in_process(**kwargs):
        raise AssertionError("closed in process, not on the workers")

    monkeypatch.setattr(cob, "close_of_business", in_process)
    first = END + dt.timedelta(days=1)
    days = [first, first + dt.timedelta(days=1)]
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=settings.CELERY_QUEUES_ALL
    ):
        out = run("demo_advance", "--days", "2", "--dispatch")
    assert traded_days == [(day, False) for day in days]
    assert list(CobRun.objects.order_by("business_on").values_list("business_on", "status")) == [
        (day, CobRun.Status.DONE) for day in days
    ]
    assert business_date_today() == days[-1] + dt.timedelta(days=1)
    assert f"{days[1]}: traded 1 day(s); closed:" in out
    assert reconcile().is_clean
