"""The demo's clock: the marketplace trades a business date, then that date closes.

Close of business knows nothing of the simulator; in the demo this is what moves time, so loans
live among real sales: borrowers draw, spend and repay on the day's trading (the demo's receivers),
settled pledged orders repay their loans, and then the day closes."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from common.business_date import business_date_today
from common.errors import ApplicationError
from demo.models import SimulatorState
from demo.receivers import features_deferred
from demo.simulator import marketplace_trade_through
from lending import cob, cob_dispatch
from lending.models import CobRun
from payments.reconciliation import reconcile


@dataclass(frozen=True)
class DayClosed:
    on: dt.date
    days_traded: int  # marketplace days traded before the close (more than one when it was behind)
    run: CobRun


def demo_days_trade_and_close(
    *, through: dt.date, dispatch: bool = False, on_closed: Callable[[DayClosed, int], None] | None = None
) -> list[DayClosed]:
    """Trade, then close, each business date from the current one through `through`, in order.

    Not one transaction: each traded day and each close commits on its own, so a run stopped
    half-way resumes where it stopped (a traded day is never traded again, a closed date never
    closed again). `on_closed(day, days_left)` hears of each date as it closes.

    Closed here, the dates leave the ledger's proof (which reads every posting) to one check
    after the last of them, of every entry (of that date's if it was the only one); a date
    fanned out over the workers checks its own."""
    if not SimulatorState.objects.filter(pk=1).exists():
        raise ApplicationError("no demo marketplace yet: run `manage.py seed_demo` first")
    closed = []
    on = business_date_today()
    with features_deferred(through=through):
        while on <= through:
            traded = marketplace_trade_through(through=on)
            closed.append(DayClosed(on=on, days_traded=len(traded), run=_close(on=on, dispatch=dispatch)))
            if on_closed is not None:
                on_closed(closed[-1], (through - on).days)
            on += dt.timedelta(days=1)
    if closed and not dispatch:
        report = reconcile(on=closed[-1].on, entries_of=closed[0].on if len(closed) == 1 else None)
        if not report.is_clean:
            raise ApplicationError(
                "the books do not balance after close of business: " + "; ".join(report.differences[:5])
            )
    return closed


def _close(*, on: dt.date, dispatch: bool) -> CobRun:
    """Close the date in this process, or fanned out over the running workers (as the nightly
    task does) and waited for here."""
    if not dispatch:
        return cob.close_of_business(on=on, ledger_check=False)
    runs = cob_dispatch.cob_close_dispatch(through=on, timeout=settings.LENDING_COB_CHUNK_TIMEOUT_SECONDS)
    return next(run for run in runs if run.business_on == on)
