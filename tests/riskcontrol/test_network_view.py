"""The merchant network page: who may see it, what it draws, and bad input answered by name."""

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Group, Permission, User

from merchants.models import Merchant
from riskcontrol.network.services import network_build
from tests.merchants.factories import MerchantFactory, OrderFactory, OwnerFactory


@pytest.fixture(autouse=True)
def in_english(settings):
    """The workbench answers in Chinese first; these checks read its English wording."""
    settings.LANGUAGE_CODE = "en"


def ring_of_three():
    """Three shops of different owners giving one phone, brushing orders among themselves, and an
    unrelated shop."""
    shops = [
        MerchantFactory(owner=OwnerFactory(phone="13900000001"), shop_name=f"环店 ring {i}") for i in range(3)
    ]
    for seller, buyer in itertools.permutations(shops, 2):
        for _ in range(4):
            OrderFactory(merchant=seller, buyer_merchant=buyer, partner=seller.partner)
    loner = MerchantFactory(shop_name="独立店 loner")
    network_build(on=dt.date(2025, 4, 1))
    return shops, loner


def risk_manager() -> User:
    user = User.objects.create_user(username="risk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="risk_manager")[0])
    return user


def url(merchant_id: int, query: str = "") -> str:
    return f"/risk/network/{merchant_id}/{query}"


@pytest.mark.django_db
def test_a_risk_manager_sees_the_ring_drawn_with_flagged_nodes_and_labelled_edges(client):
    shops, _ = ring_of_three()
    client.force_login(risk_manager())

    page = client.get(url(shops[0].pk))

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="node"') == 3
    assert html.count('data-flagged="true"') == 3
    assert html.count('class="edge"') == 3
    assert 'data-kinds="phone,trade"' in html
    assert "phone · trade ×8" in html
    assert "Suspected ring" in html


@pytest.mark.django_db
def test_an_unrelated_shop_is_drawn_alone_and_unflagged(client):
    _, loner = ring_of_three()
    client.force_login(risk_manager())

    html = client.get(url(loner.pk)).content.decode()

    assert html.count('class="node"') == 1
    assert 'data-flagged="false"' in html
    assert "Not flagged by the latest runs" in html


@pytest.mark.django_db
def test_staff_with_the_view_permission_may_look_and_other_staff_may_not(client):
    shops, _ = ring_of_three()
    officer = User.objects.create_user(username="officer", password="pw", is_staff=True)
    client.force_login(officer)
    assert client.get(url(shops[0].pk)).status_code == 403

    officer.user_permissions.add(Permission.objects.get(codename="view_ringflag"))
    officer = User.objects.get(pk=officer.pk)  # permissions are cached on the instance
    client.force_login(officer)
    assert client.get(url(shops[0].pk)).status_code == 200


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    shops, _ = ring_of_three()
    answer = client.get(url(shops[0].pk))
    assert answer.status_code == 302 and "/login/" in answer["Location"]


@pytest.mark.django_db
def test_an_unknown_merchant_is_a_404_and_a_bad_depth_is_named(client):
    shops, _ = ring_of_three()
    client.force_login(risk_manager())

    assert client.get(url(Merchant.objects.order_by("-pk").first().pk + 1)).status_code == 404
    answer = client.get(url(shops[0].pk, "?depth=nine"))
    assert answer.status_code == 200
    assert "depth: must be one of 1, 2, 3" in answer.content.decode()


@pytest.mark.django_db
def test_the_workbench_lists_ring_flags_with_a_link_to_the_network(admin_client):
    shops, _ = ring_of_three()

    page = admin_client.get("/admin/riskcontrol/ringflag/")

    assert page.status_code == 200
    assert f'href="/risk/network/{shops[0].pk}/"' in page.content.decode()
    assert admin_client.get("/admin/riskcontrol/networkrun/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "status"), [("zh-hans", "正常"), ("en", "Active")])
def test_the_linked_merchants_status_reads_by_its_name(client, language, status):
    from django.utils import translation

    shops, _ = ring_of_three()
    client.force_login(risk_manager())
    html = client.get(url(shops[0].pk), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    with translation.override(language):
        assert str(Merchant.Status.ACTIVE.label) == status
    assert f"<td>{status}</td>" in html
    assert "<td>active</td>" not in html
