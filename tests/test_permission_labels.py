"""The group and user pages' permission pickers read in the reader's language. Django stores a
permission's name in English when it creates the row ("Can view loan") and shows that name
whatever the language; the workbench shows each one through a translated label per codename,
and the stored names stay as they are."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
STORED_ENGLISH = re.compile(r">[^<]*\| Can (?:add|change|delete|view|approve|promote|reverse)\b")


@pytest.fixture
def admin_client_in():
    User.objects.create_superuser("root", password="pw")

    def client(language: str) -> Client:
        c = Client(HTTP_ACCEPT_LANGUAGE=language)
        c.force_login(User.objects.get(username="root"))
        return c

    return client


def test_a_group_s_permissions_read_chinese_under_zh_hans_and_english_under_en(admin_client_in):
    group = Group.objects.create(name="auditors")
    group.permissions.add(Permission.objects.get(codename="view_loan", content_type__app_label="lending"))
    url = reverse("admin:auth_group_change", args=[group.pk])
    chinese = admin_client_in("zh-hans").get(url).content.decode()
    english = admin_client_in("en").get(url).content.decode()
    assert not STORED_ENGLISH.search(chinese), STORED_ENGLISH.search(chinese)
    assert "可查看贷款" in chinese
    assert "可审批或驳回双人复核申请" in chinese
    assert "Can view loan<" in english
    assert "Can approve or reject a four-eyes request<" in english
    # The rows keep Django's names.
    assert (
        Permission.objects.get(codename="view_loan", content_type__app_label="lending").name
        == "Can view loan"
    )


def test_a_user_s_permissions_read_chinese_under_zh_hans(admin_client_in):
    user = User.objects.create_user("officer", password="pw", is_staff=True)
    page = admin_client_in("zh-hans").get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert not STORED_ENGLISH.search(page), STORED_ENGLISH.search(page)
    assert "可撤销风控措施（需填写原因）" in page


def test_the_demo_s_permissions_are_named_in_one_language(admin_client_in):
    from django.apps import apps

    if not apps.is_installed("demo"):
        pytest.skip("a production install (XIAODAI_DEMO=0) has no demo app to name")
    url = reverse("admin:auth_group_add")
    chinese = admin_client_in("zh-hans").get(url).content.decode()
    english = admin_client_in("en").get(url).content.decode()
    assert "演示 | 模拟器状态 | 可查看模拟器状态" in chinese and "Demo 演示" not in chinese
    assert "Demo | simulator state | Can view simulator state" in english and "演示" not in english
