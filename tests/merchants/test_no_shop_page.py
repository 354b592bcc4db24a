"""A login that is linked to no shop, on a portal page: it is told how to get in and may log out
(the page was a dead end)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_login_without_a_shop_is_told_what_to_do_in_both_languages(client):
    client.force_login(get_user_model().objects.create_user("nobody", password="x"))
    for language, words in (("en", "ask us for an invitation"), ("zh-hans", "向我们申请邀请")):
        response = client.get(reverse("portal:loans"), HTTP_ACCEPT_LANGUAGE=language)
        html = response.content.decode()
        assert response.status_code == 403
        assert words in html
        assert f'action="{reverse("portal:logout")}"' in html.split('data-testid="no-shop"')[1]
