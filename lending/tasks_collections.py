"""The collections queue's nightly work: open and close cases, then mark promises to pay kept or
broken for the last business date closed. Close of business calls the same services
(lending.collections.cases_sync and promises_check) as its last steps; both are idempotent for a
date, so running them here as well changes nothing that the close already did.

The task runs after the close (beat: 00:10 closes date D and moves the business date to D + 1;
this runs at 00:30), while the partner API and the workbench already work on D + 1: a loan repaid,
written off or sent to collections in between. The cases are therefore synced as of the current
business date, the date of what they act on (a case is never closed the day before the repayment
that closed it, or before it was opened); the promises are checked for D, the last date closed
(a promise falls due only on a date that has closed)."""

import datetime as dt

from celery import shared_task

from common.business_date import business_date_today
from lending import collections
from lending.models import CobRun


def _last_closed_on() -> dt.date | None:
    return (
        CobRun.objects.filter(status=CobRun.Status.DONE)
        .order_by("-business_on")
        .values_list("business_on", flat=True)
        .first()
    )


@shared_task(acks_late=True)
def collections_nightly(on: str | None = None) -> dict | None:
    """Check the promises for `on` (ISO date) and sync the cases as of it; without `on`, the
    promises for the last date closed and the cases as of the current business date."""
    if on:
        day = cases_on = dt.date.fromisoformat(on)
    else:
        day = _last_closed_on()
        if day is None:
            return None
        cases_on = max(day, business_date_today())
    return {
        "on": day.isoformat(),
        **collections.cases_sync(on=cases_on),
        **collections.promises_check(on=day),
    }
