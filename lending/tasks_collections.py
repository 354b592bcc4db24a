"""The collections queue's nightly work, for the last business date closed: open and close
cases, then mark promises to pay kept or broken. Close of business will call the same services
(lending.collections.cases_sync and promises_check) as its last steps; both are idempotent for a
date, so running them here as well changes nothing."""

import datetime as dt

from celery import shared_task

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
    """Sync the cases and check the promises for `on` (ISO date), or the last date closed."""
    day = dt.date.fromisoformat(on) if on else _last_closed_on()
    if day is None:
        return None
    return {"on": day.isoformat(), **collections.cases_sync(on=day), **collections.promises_check(on=day)}
