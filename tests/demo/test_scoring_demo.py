"""The demo's risk manager opens scoring's screens (the role comes from the roles migration), and
scoring_demo refuses an empty marketplace."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from common.roles import RISK_MANAGER

pytestmark = pytest.mark.django_db


def test_the_demo_s_risk_manager_opens_scoring_s_workbench():
    user = User.objects.create_user(username="risk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=RISK_MANAGER))
    client = Client()
    client.force_login(user)
    for name in ("scoringmodel", "merchantscore", "offer", "ratingadjustment", "officerfinding"):
        assert client.get(reverse(f"admin:scoring_{name}_changelist")).status_code == 200, name


def test_scoring_demo_refuses_an_empty_marketplace():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("scoring_demo")
