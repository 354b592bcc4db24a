"""A merchant who opens the workbench (/admin/) is sent to its portal home with a message, not
shown Django's "authenticated as … but not authorized" sign-in; an anonymous visitor still sees
the staff sign-in, and so does any other account that is not staff."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.mark.parametrize("path", ["/admin/", "/admin/lending/loan/", "/admin/login/?next=/admin/"])
def test_a_signed_in_merchant_is_sent_to_its_portal_with_a_message(client, path):
    merchant = MerchantFactory()
    merchant.user = User.objects.create_user("shopkeeper", password="x")
    merchant.save(update_fields=["user"])
    client.force_login(merchant.user)
    response = client.get(path, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.redirect_chain[-1][0] == reverse("portal:overview")
    html = response.content.decode()
    assert "not authorized" not in html
    assert "The workbench is for the lender&#x27;s staff. Here is your shop&#x27;s portal." in html
    chinese = client.get(path, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "工作台仅供放贷机构员工使用。" in chinese


def test_an_anonymous_visitor_still_gets_the_staff_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_an_account_that_is_neither_staff_nor_a_merchant_keeps_the_staff_sign_in(client):
    client.force_login(User.objects.create_user("somebody", password="x"))
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert 'name="password"' in response.content.decode()


def test_staff_still_reach_the_workbench(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/").status_code == 302
