"""A declined seller is told when it may apply again by the business clock, from the decline that
governs (the latest of the product's, an appeal's included): a date only while it is ahead,
otherwise that it may apply now; the appeal stays offered until it is used."""

import datetime as dt

from django.urls import reverse

from common.business_date import business_date_set
from lending.models import Application
from scoring.selectors import policy_get
from tests.lending import test_portal_apply as base

world = base.world
TODAY = base.TODAY


def declined(client):
    merchant = base.seller(client, gmv=2_000.0, refund=0.4)
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    base.apply_post(client, "credit_loan", "2000.00", accept=False)
    application = Application.objects.get(merchant=merchant)
    assert application.status == Application.Status.DECLINED
    assert application.reapply_on == TODAY + dt.timedelta(days=30)
    return merchant, application


def pages(client, application) -> dict[str, str]:
    urls = {
        "application": reverse("portal:application", args=[application.reference]),
        "home": reverse("portal:overview"),
    }
    return {name: client.get(url).content.decode() for name, url in urls.items()}


def test_the_date_is_shown_while_it_is_ahead_on_the_business_clock(world, client):
    # The business date (2026-03-01) is behind the calendar: the date is ahead of the business
    # clock, so it is shown although the calendar has passed it.
    _merchant, application = declined(client)
    for name, html in pages(client, application).items():
        assert 'data-testid="reapply-on"' in html, name
        assert "2026-03-31" in html, name
        assert 'data-testid="reapply-now"' not in html, name


def test_once_the_business_date_reaches_it_the_seller_may_apply_now(world, client):
    _merchant, application = declined(client)
    business_date_set(on=TODAY + dt.timedelta(days=30))
    for name, html in pages(client, application).items():
        # (the header shows the business date itself: the sentence is looked for)
        assert 'data-testid="reapply-on"' not in html, name
        assert 'data-testid="reapply-now"' in html, name
        assert f"{reverse('portal:apply')}?product=credit_loan" in html, name
    html = client.get(reverse("portal:application", args=[application.reference])).content.decode()
    assert "现在可以再次申请该产品" in html
    # The appeal is still offered, and the page says nothing of a date in the past.
    assert 'data-testid="appeal"' in html


def test_after_an_appeal_is_declined_both_pages_give_the_appeal_s_date(world, client):
    _merchant, application = declined(client)
    business_date_set(on=TODAY + dt.timedelta(days=5))
    url = reverse("portal:application-appeal", args=[application.reference])
    client.post(url, {"reason": "sales are up this month"})
    appeal = Application.objects.get(appeal_of=application)
    assert appeal.status == Application.Status.DECLINED
    assert appeal.reapply_on == TODAY + dt.timedelta(days=35)
    original = client.get(reverse("portal:application", args=[application.reference])).content.decode()
    # The original's own date (2026-03-31) is stale: the appeal's decline governs.
    assert "2026-04-05" in original and "2026-03-31" not in original.split('data-testid="declined"')[1]
    assert 'data-testid="appeal"' not in original
    business_date_set(on=TODAY + dt.timedelta(days=31))
    # Past the original's date, still before the appeal's: not "apply now".
    for name, html in pages(client, appeal).items():
        assert "2026-04-05" in html and 'data-testid="reapply-now"' not in html, name
