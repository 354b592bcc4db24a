"""A member's declined application, on the application page: no empty "Member credit" card (no
interview was booked and no step is left), and when it may apply again."""

from django.urls import reverse

from lending.models import Application
from tests.lending import test_portal_member as base

world = base.world


def test_a_declined_member_application_shows_no_empty_card(world, client):
    client.force_login(base.member().user)
    client.post(reverse("portal:member-apply"), base.form_data(amount="10.00"))
    application = Application.objects.get()
    assert application.status == Application.Status.DECLINED
    html = client.get(reverse("portal:application", args=[application.reference])).content.decode()
    assert 'data-testid="declined"' in html
    assert 'data-testid="member-credit"' not in html and "<h2>会员授信</h2>" not in html
    assert 'data-testid="reapply-on"' in html or 'data-testid="reapply-now"' in html
