"""The shop page's "Sales, 30 days" and daily sales are the last 30 days of the business clock,
as the portal's other dates are: with the business date far behind the calendar (as in the demo)
the merchant sees its sales up to the business date, not an empty calendar month."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from common.business_date import business_date_set
from tests.merchants.factories import MerchantFactory, OrderFactory

DAY = dt.date(2025, 3, 3)  # hundreds of days behind the calendar


def at(on: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(on, dt.time(hour)))


@pytest.fixture
def shop(db, client):
    assert abs((timezone.localdate() - DAY).days) > 60, "the business date must lie far from the calendar"
    business_date_set(on=DAY, allow_backwards=True)
    merchant = MerchantFactory()
    merchant.user = User.objects.create_user("clock-shop", password="x")
    merchant.save(update_fields=["user"])
    OrderFactory(merchant=merchant, amount_fen=10_000, placed_at=at(DAY - dt.timedelta(days=2), 10))
    OrderFactory(merchant=merchant, amount_fen=2_500, placed_at=at(DAY - dt.timedelta(days=10), 15))
    # Before the business clock's 30 days: not counted.
    OrderFactory(merchant=merchant, amount_fen=99_900, placed_at=at(DAY - dt.timedelta(days=45), 12))
    client.force_login(merchant.user)
    return merchant


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_shop_page_counts_the_sales_of_the_30_business_days_before_the_business_date(
    shop, client, language
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("portal:shop"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="sales-30d">125.00<' in html
    assert (
        f"{DAY - dt.timedelta(days=2):%m-%d}</td>" in html
        and f"{DAY - dt.timedelta(days=10):%m-%d}</td>" in html
    )
    assert f"{DAY - dt.timedelta(days=45):%m-%d}</td>" not in html
