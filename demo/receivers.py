"""The demo's part when its marketplace moves: its borrowers act, and scoring's daily aggregates
follow the traded dates. The production apps offer the signals (merchants/signals.py); only the
demo listens here, so a production install runs none of this."""

import datetime as dt
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from celery import bootsteps
from celery.signals import beat_init, worker_ready
from django.dispatch import receiver

from common.business_date import business_date_today
from config.celery import app as celery_app
from demo import borrowers
from merchants.signals import marketplace_day_traded, marketplace_seeded
from scoring.features import merchant_days_catch_up, snapshots_refresh


@receiver(marketplace_seeded, dispatch_uid="demo.lending.seeded")
def on_marketplace_seeded(sender, *, first_on: dt.date, last_on: dt.date, **kwargs) -> None:
    borrowers.on_seeded(first_on=first_on, last_on=last_on)


@receiver(marketplace_day_traded, dispatch_uid="demo.lending.day_traded")
def on_marketplace_day_traded(sender, *, on: dt.date, **kwargs) -> None:
    borrowers.on_day_traded(on=on)


@receiver(marketplace_seeded, dispatch_uid="demo.scoring.seeded")
def on_marketplace_seeded_build_features(sender, *, first_on: dt.date, last_on: dt.date, **kwargs) -> None:
    # The seeded history is closed (the business date is the day after it): build it final and
    # give every merchant features for the first business date.
    merchant_days_catch_up(through=last_on, as_of=business_date_today())
    snapshots_refresh(as_of=last_on + dt.timedelta(days=1))


# While the demo trades and closes a run of dates, nothing reads scoring's daily aggregates until
# the run ends: they are built then, in one pass over the run (the same rows, see
# `features_deferred`), not one date at a time.
_features_deferred: ContextVar[bool] = ContextVar("demo_features_deferred", default=False)


@contextmanager
def features_deferred(*, through: dt.date):
    """Trading inside the block builds no daily aggregates; leaving it builds every date not yet
    built final up to the day before the last one traded (`through`), as trading that date one
    at a time would have, also when the block ends with an error."""
    token = _features_deferred.set(True)
    try:
        yield
    finally:
        _features_deferred.reset(token)
        # The last date traded (`through`, or the current date if the block stopped early): the
        # day before it, as trading that date would have built.
        last_traded = min(through, business_date_today())
        merchant_days_catch_up(through=last_traded - dt.timedelta(days=1), as_of=business_date_today())


@receiver(marketplace_day_traded, dispatch_uid="demo.scoring.day_traded")
def on_marketplace_day_traded_build_features(sender, *, on: dt.date, **kwargs) -> None:
    # Trading `on` opens that date's close of business, so the day before has fully closed
    # (wallet deductions included): build it. `on` itself is built once it has closed too.
    if not _features_deferred.get():
        merchant_days_catch_up(through=on - dt.timedelta(days=1), as_of=business_date_today())


def hold_until_built(sender=None, **kwargs) -> None:
    """Under `run_demo --build`, web, beat and each worker start while the demo's database is
    still being built: they load everything, then wait here until run_demo says the build is done
    (the file named by HOLD_FILE_ENV exists) — beat before its first tick, a worker once its
    consumer is set up but before it takes a message, the web server before it listens — and
    leave `<that file>.<pid>` meanwhile to say they are waiting. Nothing of theirs touches the
    database before the build is done."""
    hold = os.environ.get(HOLD_FILE_ENV)
    if hold and not Path(hold).exists():
        Path(f"{hold}.{os.getpid()}").touch()
        while not Path(hold).exists():
            time.sleep(0.1)


def on_celery_ready(sender=None, **kwargs) -> None:
    """Under run_demo, beat and each worker leave a file when they are up, so the welcome it prints
    comes after their start-up and stays the last thing on the screen."""
    folder = os.environ.get(READY_DIR_ENV)
    if folder:
        name = getattr(sender, "hostname", None) or "beat"
        (Path(folder) / name.replace("/", "_")).touch()


READY_DIR_ENV = "XIAODAI_DEMO_READY_DIR"
HOLD_FILE_ENV = "XIAODAI_DEMO_HOLD_FILE"


class HoldUntilBuilt(bootsteps.StartStopStep):
    """A worker's consumer step: after its queues and remote control are declared (on the broker
    only), before its event loop takes a message and before `worker_ready`'s receivers run (some
    write to the database)."""

    requires = ("celery.worker.consumer.tasks:Tasks", "celery.worker.consumer.control:Control")

    def start(self, parent) -> None:
        hold_until_built()


celery_app.steps["consumer"].add(HoldUntilBuilt)
# Before on_celery_ready: beat says it is up only once it is let go.
beat_init.connect(hold_until_built, dispatch_uid="demo.run_demo.beat_hold")
worker_ready.connect(on_celery_ready, dispatch_uid="demo.run_demo.worker_ready")
beat_init.connect(on_celery_ready, dispatch_uid="demo.run_demo.beat_init")
