"""The application page (portal:application, reached from the list of applications) of a B2B
member's declined application: it says why, and offers nothing more to do on it: no interview to
book, no documents to upload, no agreement to accept, no approved limit (the walk through every
page found all three links, and "Approved limit" on a declined seller's application)."""

from django.urls import reverse

from lending.models import Application
from tests.lending.test_portal_member import form_data, member, upload, world  # noqa: F401 (fixture)


def test_a_declined_member_application_s_page_offers_nothing_more_to_do(world, client):  # noqa: F811
    client.force_login(member().user)
    declined = {**form_data(amount="10.00"), "doc_business_licence": upload()}
    client.post(reverse("portal:member-apply"), declined)
    application = Application.objects.get()
    assert application.status == Application.Status.DECLINED
    page = client.get(reverse("portal:application", args=[application.reference])).content.decode()
    assert 'data-testid="declined"' in page
    for name in ("portal:application-book", "portal:application-documents", "portal:member-application"):
        assert reverse(name, args=[application.reference]) not in page, name
    assert "Approved limit" not in page and "批准额度" not in page
