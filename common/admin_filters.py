"""List filters of the workbench."""

import datetime as dt

from django.contrib import admin
from django.db import models
from django.utils import timezone

from common.business_date import business_date_today


class BusinessDateFieldListFilter(admin.DateFieldListFilter):
    """Django's date filter with "today", "past 7 days", "this month" and "this year" counted
    from the business date, not the calendar's: for fields written on the business date or the
    business clock (a date submitted, raised, issued or posted on). The demo fast-forwards the
    business date and close of business moves it a few minutes after midnight, so the calendar's
    today would show the wrong day's rows. Fields of the calendar's time (created_at,
    updated_at, decided_at...) keep Django's filter."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        on = business_date_today()
        if isinstance(field, models.DateTimeField):
            # Midnight of the business date in the platform's time zone, as Django's filter
            # takes midnight of the calendar's date.
            today = timezone.make_aware(dt.datetime.combine(on, dt.time.min))
        else:
            today = on
        tomorrow = today + dt.timedelta(days=1)
        next_month = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        next_year = today.replace(year=today.year + 1, month=1, day=1)
        ranges = (
            (today, tomorrow),
            (today - dt.timedelta(days=7), tomorrow),
            (today.replace(day=1), next_month),
            (today.replace(month=1, day=1), next_year),
        )
        # Django's links in Django's order and words: "any date", the four ranges, then "no date"
        # and "has date" for a field that may be empty.
        links = list(self.links)
        for i, (since, until) in enumerate(ranges, start=1):
            links[i] = (links[i][0], {self.lookup_kwarg_since: since, self.lookup_kwarg_until: until})
        self.links = tuple(links)
