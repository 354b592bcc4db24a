"""The user and group pages' permission pickers (common.admin_auth): the same choices and the
same selection as Django's picker, and saving through them still works."""

import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("root-picker", "root@example.com", "x"))
    return client


def _options(html: str, name: str) -> tuple[set[str], set[str]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    every = set(re.findall(r'<option value="(\d+)"', select))
    chosen = set(re.findall(r'<option value="(\d+)"[^>]*\bselected\b', select))
    return every, chosen


def test_a_groups_page_offers_every_permission_and_marks_the_groups_own(superuser_client):
    group = Group.objects.create(name="pickers")
    own = list(Permission.objects.order_by("pk")[:5])
    group.permissions.set(own)
    html = superuser_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    every, chosen = _options(html, "permissions")
    assert every == {str(pk) for pk in Permission.objects.values_list("pk", flat=True)}
    assert chosen == {str(p.pk) for p in own}
    assert 'class="selectfilter"' in html  # the admin's two-box filter still takes it over


def test_a_group_saved_through_the_picker_keeps_what_was_chosen(superuser_client):
    group = Group.objects.create(name="pickers")
    chosen = list(Permission.objects.order_by("-pk").values_list("pk", flat=True)[:3])
    response = superuser_client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": "pickers", "permissions": chosen},
    )
    assert response.status_code == 302
    assert set(group.permissions.values_list("pk", flat=True)) == set(chosen)


def test_a_users_page_offers_groups_and_permissions(superuser_client):
    user = User.objects.create_user("picked", password="x")
    group = Group.objects.create(name="pickers")
    user.groups.add(group)
    html = superuser_client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    groups, in_groups = _options(html, "groups")
    permissions, _ = _options(html, "user_permissions")
    assert str(group.pk) in groups and in_groups == {str(group.pk)}
    assert len(permissions) == Permission.objects.count()
