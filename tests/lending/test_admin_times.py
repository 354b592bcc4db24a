"""The workbench shows times in Asia/Shanghai, as the portal does: an agreement's acceptance on
the loan's page and a risk action's reversal, never UTC."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from lending.models import Contract, Loan
from tests.lending.test_applications import STRONG, instant, world  # noqa: F401 - a fixture
from tests.scoring.factories import rated_merchant

pytestmark = pytest.mark.django_db

# 18:05:09 UTC on 27 February is 02:05:09 on 28 February in Shanghai.
AT = dt.datetime(2026, 2, 27, 18, 5, 9, tzinfo=dt.UTC)


def test_the_loan_page_shows_the_agreement_accepted_in_shanghai_time(world):  # noqa: F811
    _, application = instant(rated_merchant(**STRONG))
    loan = Loan.objects.get(pk=application.loan_id)
    Contract.objects.filter(loan=loan).update(accepted_at=AT)
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw"))

    html = client.get(reverse("admin:lending_loan_change", args=[loan.pk])).content.decode()

    assert "2026-02-28 02:05:09" in html
    assert "2026-02-27 18:05" not in html


@pytest.mark.parametrize(
    ("language", "accepted"),
    [
        ("en", "2025-03-31 via application "),
        ("zh-hans", "2025-03-31 经 申请 "),
    ],
)
def test_the_loan_page_says_the_agreement_was_accepted_on_the_business_date(world, language, accepted):  # noqa: F811
    """The workbench once dated the acceptance by the calendar clock alone (the portal shows the
    business date) and named the channel by its code ("经 application A…" on a Chinese page)."""
    _, application = instant(rated_merchant(**STRONG))
    loan = Loan.objects.get(pk=application.loan_id)
    Contract.objects.filter(loan=loan).update(
        accepted_at=AT, accepted_on=dt.date(2025, 3, 31), accepted_via=f"application {application.reference}"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(User.objects.create_superuser("root", password="pw"))

    html = client.get(reverse("admin:lending_loan_change", args=[loan.pk])).content.decode()

    assert accepted + application.reference in html
    assert "2026-02-28 02:05:09" in html  # the record's own time, said to be the calendar's
    assert "经 application" not in html


@pytest.mark.parametrize(
    ("language", "decided"), [("en", "automatic check: "), ("zh-hans", "系统自动判断：")]
)
def test_the_case_page_names_a_machine_stages_decider_in_words(world, language, decided):  # noqa: F811
    """The case page's stages once showed who decided a machine stage as its code
    ("machine:rules-1")."""
    _, application = instant(rated_merchant(**STRONG))
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(User.objects.create_superuser("root", password="pw"))

    html = client.get(reverse("admin:lending_case", args=[application.pk])).content.decode()

    assert f"<td>{decided}" in html
    assert "<td>machine:" not in html
