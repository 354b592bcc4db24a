"""A way into the portal: a partner's signed hand-off link (short-lived, once, its own merchants
only) and an officer's invitation (choose a login, once); nobody else gets to a shop's pages."""

import re
import threading
import time
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from merchants import access
from merchants.models import Merchant, PortalHandoff, PortalInvitation
from tests.conftest import requires_postgres
from tests.merchants.factories import ApiKeyFactory, MerchantFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
HOME = reverse("portal:home")
SHOP = reverse("portal:shop")


@pytest.fixture
def shop(partner_client):
    return MerchantFactory(partner=partner_client.partner, external_id="SHOP:1", shop_name="杭州小衣橱")


def link_for(partner_client, external_id="SHOP:1"):
    response = partner_client.post(f"/api/v1/merchants/{external_id}/portal-link/")
    assert response.status_code == 201, response.content
    return response.json()


def token_of(url: str) -> str:
    return re.search(r"/enter/([^/]+)/$", url).group(1)


def enter_path(token: str) -> str:
    return reverse("portal:enter", args=[token])


# --- hand-off ---------------------------------------------------------------------------------------


def test_a_partner_link_lets_its_merchant_in_once(partner_client, shop):
    body = link_for(partner_client)
    assert body["url"].startswith("http://testserver/enter/")
    assert body["expires_at"]
    client = Client()

    page = client.get(body["url"])
    assert page.status_code == 200
    assert "杭州小衣橱" in page.content.decode()

    response = client.post(body["url"])
    assert response.status_code == 302 and response.url == HOME
    assert client.get(SHOP).status_code == 200  # logged in as the shop
    shop.refresh_from_db()
    assert shop.user is not None
    assert shop.user.username == f"{shop.partner.code}.SHOP_1"
    assert not shop.user.has_usable_password()
    assert PortalHandoff.objects.filter(merchant=shop).count() == 1

    again = Client().post(body["url"])
    assert again.status_code == 410
    assert "已使用过" in again.content.decode()
    assert Client().get(body["url"]).status_code == 410


def test_a_second_link_reuses_the_merchants_login(partner_client, shop):
    Client().post(link_for(partner_client)["url"])
    Client().post(link_for(partner_client)["url"])
    assert User.objects.count() == 1
    assert PortalHandoff.objects.filter(merchant=shop).count() == 2


@override_settings(MERCHANTS_HANDOFF_MAX_AGE_SECONDS=120)
def test_an_expired_link_is_refused_with_410(partner_client, shop):
    url = link_for(partner_client)["url"]
    later = time.time() + 121
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = Client().post(url)
    assert response.status_code == 410
    assert "已过期" in response.content.decode()
    assert not PortalHandoff.objects.exists()
    assert Merchant.objects.get(pk=shop.pk).user is None
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 100):
        assert Client().get(url).status_code == 200  # within its age


@override_settings(MERCHANTS_HANDOFF_MAX_AGE_SECONDS=5)
def test_the_max_age_is_a_setting(partner_client, shop):
    url = link_for(partner_client)["url"]
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 6):
        assert Client().get(url).status_code == 410


def test_a_tampered_or_foreign_token_is_refused_with_400(partner_client, shop):
    token = token_of(link_for(partner_client)["url"])
    other = MerchantFactory(partner=shop.partner)
    payload = signing.loads(token, salt=access.HANDOFF_SALT)
    forged_payload = signing.dumps({**payload, "m": other.pk}, salt=access.HANDOFF_SALT, key="not-our-key")
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        forged_payload,  # signed with another key, for another shop
        signing.dumps({"m": shop.pk, "n": "x"}, salt="another-purpose"),  # our key, another salt
        "not-a-token",
    ):
        response = Client().post(enter_path(bad))
        assert response.status_code == 400, bad
        assert "链接无效" in response.content.decode()
    assert not PortalHandoff.objects.exists()
    assert not User.objects.exists()


def test_another_partners_merchant_is_not_found(partner_client):
    other_partner_key = ApiKeyFactory()
    MerchantFactory(partner=other_partner_key.partner, external_id="THEIRS")
    response = partner_client.post("/api/v1/merchants/THEIRS/portal-link/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert partner_client.post("/api/v1/merchants/NOBODY/portal-link/").status_code == 404


def test_without_an_api_key_there_is_no_link(shop):
    from rest_framework.test import APIClient

    assert APIClient().post("/api/v1/merchants/SHOP:1/portal-link/").status_code == 401


def test_a_closed_shop_gets_no_link_and_an_old_link_stops_working(partner_client, shop):
    url = link_for(partner_client)["url"]
    Merchant.objects.filter(pk=shop.pk).update(status=Merchant.Status.CLOSED)

    response = Client().post(url)
    assert response.status_code == 400
    assert "店铺已关闭" in response.content.decode()
    refused = partner_client.post("/api/v1/merchants/SHOP:1/portal-link/")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"merchant": ["shop closed"]}


def test_the_derived_username_does_not_take_someone_elses(partner_client, shop):
    User.objects.create_user(username=f"{shop.partner.code}.SHOP_1", password="x")
    Client().post(link_for(partner_client)["url"])
    shop.refresh_from_db()
    assert shop.user.username == f"{shop.partner.code}.SHOP_1-2"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_link_used_twice_at_once_lets_in_once():
    key = ApiKeyFactory()
    shop = MerchantFactory(partner=key.partner)
    token = access.portal_handoff_create(partner=key.partner, external_id=shop.external_id).token
    results, barrier = [], threading.Barrier(2)

    def use():
        try:
            barrier.wait()
            results.append(access.portal_handoff_redeem(token=token).pk)
        except access.LinkGone:
            results.append("gone")
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)).count("gone") == 1
    assert PortalHandoff.objects.count() == 1
    assert User.objects.count() == 1


# --- invitation -------------------------------------------------------------------------------------


@pytest.fixture
def officer(db):
    return User.objects.create_superuser(username="officer", password="officer-pw-123", email="o@x.example")


def link_in(response) -> str:
    [message] = [str(m) for m in response.context["messages"]]
    return re.search(r"(http://testserver/invite/[^/\s]+/)", message).group(1)


def invite_from_admin(officer, shop, email="owner@shop.example"):
    client = Client()
    client.force_login(officer)
    response = client.post(
        reverse("admin:merchants_merchant_changelist"),
        {"action": "send_portal_invitation", "_selected_action": [shop.pk], "email": email, "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    return response


def test_an_officer_invites_a_shop_and_the_merchant_chooses_a_login_once(officer, shop):
    response = invite_from_admin(officer, shop)

    link = link_in(response)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@shop.example"]
    assert link in mail.outbox[0].body
    invitation = PortalInvitation.objects.get(merchant=shop)
    assert invitation.created_by == officer
    assert invitation.token_digest not in link  # only a digest is stored
    assert (invitation.expires_at - timezone.now()).days == 6  # 7 days less a moment

    merchant = Client()
    page = merchant.get(link)
    assert page.status_code == 200 and "杭州小衣橱" in page.content.decode()
    done = merchant.post(
        link, {"username": "xiaoyichu", "password1": "Tea-garden-42", "password2": "Tea-garden-42"}
    )
    assert done.status_code == 302 and done.url == HOME
    assert merchant.get(SHOP).status_code == 200
    shop.refresh_from_db()
    assert shop.user.username == "xiaoyichu"
    assert shop.user.check_password("Tea-garden-42")
    invitation.refresh_from_db()
    assert invitation.used_at is not None and invitation.user == shop.user

    assert Client().login(username="xiaoyichu", password="Tea-garden-42")
    again = Client().post(
        link, {"username": "other", "password1": "Tea-garden-42", "password2": "Tea-garden-42"}
    )
    assert again.status_code == 410
    assert User.objects.filter(username="other").count() == 0


def test_a_weak_password_or_a_taken_username_is_refused_naming_the_field(officer, shop):
    response = invite_from_admin(officer, shop)
    link = link_in(response)
    client = Client()

    weak = client.post(link, {"username": "xiaoyichu", "password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 200
    assert weak.context["form"].errors["password1"]
    taken = client.post(
        link, {"username": "officer", "password1": "Tea-garden-42", "password2": "Tea-garden-42"}
    )
    assert taken.context["form"].errors["username"] == ["用户名已被占用"]
    differ = client.post(
        link, {"username": "xiaoyichu", "password1": "Tea-garden-42", "password2": "Tea-garden-43"}
    )
    assert differ.context["form"].errors["password2"]
    assert PortalInvitation.objects.get(merchant=shop).used_at is None  # still usable
    assert Merchant.objects.get(pk=shop.pk).user is None


def test_an_expired_or_unknown_invitation_is_a_clear_page(officer, shop):
    invite_from_admin(officer, shop)
    invitation = PortalInvitation.objects.get(merchant=shop)
    _, link = access.portal_invitation_send(
        merchant=MerchantFactory(partner=shop.partner), email="b@x.example", created_by=officer, link_for=str
    )
    PortalInvitation.objects.exclude(pk=invitation.pk).update(expires_at=timezone.now())
    expired = Client().get(reverse("portal:invite", args=[link]))
    assert expired.status_code == 410 and "已过期" in expired.content.decode()
    unknown = Client().get(reverse("portal:invite", args=["made-up"]))
    assert unknown.status_code == 400 and "邀请链接无效" in unknown.content.decode()


def test_an_invitation_needs_an_email_and_a_shop_without_a_login(officer, shop):
    invite_from_admin(officer, shop, email="not-an-address")
    assert not PortalInvitation.objects.exists()
    assert len(mail.outbox) == 0
    with pytest.raises(access.ApplicationError) as refused:
        access.portal_invitation_send(merchant=shop, email="", created_by=officer, link_for=str)
    assert refused.value.extra["fields"] == {"email": ["not an e-mail address"]}

    shop.user = User.objects.create_user(username="has-one")
    shop.save()
    with pytest.raises(access.ConflictError):
        access.portal_invitation_send(merchant=shop, email="a@b.example", created_by=officer, link_for=str)


def test_a_closed_shop_cannot_use_its_invitation(officer, shop):
    _, token = access.portal_invitation_send(
        merchant=shop, email="a@b.example", created_by=officer, link_for=str
    )
    Merchant.objects.filter(pk=shop.pk).update(status=Merchant.Status.CLOSED)
    response = Client().post(
        reverse("portal:invite", args=[token]),
        {"username": "xiaoyichu", "password1": "Tea-garden-42", "password2": "Tea-garden-42"},
    )
    assert response.status_code == 400
    assert not User.objects.filter(username="xiaoyichu").exists()


# --- nobody else --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["portal:shop", "portal:wallet", "portal:loans", "portal:credit"], ids=lambda n: n.split(":")[1]
)
def test_a_login_without_a_shop_sees_no_shop_pages(name):
    stranger = User.objects.create_user(username="stranger", password="Stranger-pw-42")
    client = Client()
    client.force_login(stranger)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "此账号未关联店铺" in response.content.decode()
    assert Client().get(reverse(name)).status_code == 302  # anonymous: to the login page


def test_a_partner_link_never_logs_in_a_staff_account(partner_client, shop):
    shop.user = User.objects.create_user(username="officer-with-shop", is_staff=True)
    shop.save()
    client = Client()
    response = client.post(link_for(partner_client)["url"])
    assert response.status_code == 400
    assert "员工账号" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_when_the_email_cannot_be_sent_the_officer_still_gets_the_link(officer, shop):
    with mock.patch("merchants.access.send_mail", side_effect=OSError("connection refused")):
        response = invite_from_admin(officer, shop)
    [message] = [str(m) for m in response.context["messages"]]
    assert "could not be e-mailed" in message
    link = re.search(r"(http://testserver/invite/[^/\s]+/)", message).group(1)
    assert Client().get(link).status_code == 200
