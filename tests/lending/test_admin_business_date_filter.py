"""The workbench's date filters count "today", "past 7 days", "this month" and "this year" from
the business date on fields written on the business date or clock; Django's filter counted them
from the calendar's date, so a demo or a book behind the calendar showed the wrong day's rows."""

import datetime as dt
import re
from urllib.parse import parse_qs

import pytest
from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.models import User
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from common.admin_filters import BusinessDateFieldListFilter
from common.business_date import business_date_set
from lending.models import Application
from riskcontrol.models import Warning
from tests.lending.test_applications import STRONG, TODAY, instant, world  # noqa: F401 - a fixture
from tests.scoring.factories import rated_merchant

pytestmark = pytest.mark.django_db


def today_link(html: str) -> str:
    """The query string of the date filter's "Today" link, as the page offers it."""
    found = re.findall(r'<a href="(\?[^"]*submitted_at__gte[^"]*)"[^>]*>\s*Today', html)
    assert len(found) == 1, found
    return found[0].replace("&amp;", "&")


def test_the_application_list_filtered_by_today_shows_the_business_dates_applications(world):  # noqa: F811
    assert timezone.localdate() != TODAY  # the business date lies far from the calendar's
    _, on_business_date = instant(rated_merchant(**STRONG))
    Application.objects.filter(pk=on_business_date.pk).update(
        submitted_at=timezone.make_aware(dt.datetime.combine(TODAY, dt.time(10, 30)))
    )
    _, on_calendar_date = instant(rated_merchant(**STRONG))
    Application.objects.filter(pk=on_calendar_date.pk).update(
        submitted_at=timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(10, 30)))
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.create_superuser("root", password="pw"))

    changelist = reverse("admin:lending_application_changelist")
    html = client.get(changelist).content.decode()
    assert on_business_date.reference in html and on_calendar_date.reference in html

    listed = client.get(changelist + today_link(html)).content.decode()
    assert on_business_date.reference in listed
    assert on_calendar_date.reference not in listed


def filter_links(field_name: str, model, on: dt.date) -> dict:
    business_date_set(on=on, allow_backwards=True)
    field = model._meta.get_field(field_name)
    request = RequestFactory().get("/")
    found = BusinessDateFieldListFilter(field, request, {}, model, admin.site._registry[model], field_name)
    with translation.override("en"):
        return {str(title): (p["raised_on__gte"], p["raised_on__lt"]) for title, p in found.links if p}


def test_a_date_fields_ranges_run_from_the_business_date():
    links = filter_links("raised_on", Warning, dt.date(2025, 12, 31))

    new_year = dt.date(2026, 1, 1)
    assert links["Today"] == (dt.date(2025, 12, 31), new_year)
    assert links["Past 7 days"] == (dt.date(2025, 12, 24), new_year)
    assert links["This month"] == (dt.date(2025, 12, 1), new_year)
    assert links["This year"] == (dt.date(2025, 1, 1), new_year)


def test_every_business_date_field_filter_is_the_business_dates():
    """A changelist filtering a field written on the business date by Django's plain date filter
    would count "today" from the calendar again; calendar-time fields keep Django's."""
    calendar_fields = {"created_at", "updated_at", "timestamp", "attempt_time", "logout_time"}
    plain = []
    for model, model_admin in admin.site._registry.items():
        for entry in model_admin.list_filter:
            path, kind = entry if isinstance(entry, (list, tuple)) else (entry, None)
            if not isinstance(path, str):
                continue
            field = get_fields_from_path(model, path)[-1]
            if not isinstance(field, models.DateField) or field.name in calendar_fields:
                continue
            if kind is None or (
                issubclass(kind, DateFieldListFilter) and not issubclass(kind, BusinessDateFieldListFilter)
            ):
                plain.append(f"{model._meta.label}.{path}")
    assert plain == []


def business_date_filtered() -> list[tuple[type, str]]:
    return [
        (model, entry[0])
        for model, model_admin in admin.site._registry.items()
        for entry in model_admin.list_filter
        if isinstance(entry, (list, tuple)) and entry[1] is BusinessDateFieldListFilter
    ]


def test_every_list_filtered_on_a_business_date_offers_the_business_dates_today():
    business_date_set(on=TODAY, allow_backwards=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.create_superuser("root", password="pw"))
    lists = business_date_filtered()
    assert len(lists) >= 10

    for model, path in lists:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        html = client.get(url).content.decode()
        field = get_fields_from_path(model, path)[-1]
        since = (
            TODAY
            if not isinstance(field, models.DateTimeField)
            else (timezone.make_aware(dt.datetime.combine(TODAY, dt.time.min)))
        )
        link = re.findall(rf'<a href="(\?[^"]*{path}__gte=[^"]*)"[^>]*>\s*Today', html)
        assert link, url
        query = parse_qs(link[0].replace("&amp;", "&").lstrip("?"))
        assert query[f"{path}__gte"] == [str(since)], (url, link[0])
        assert client.get(url + link[0].replace("&amp;", "&")).status_code == 200, url
