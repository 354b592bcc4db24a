"""The demo's scoring: its risk managers and loan officers get scoring's screens, and
scoring_demo refuses an empty marketplace."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from demo.scoring import LOAN_OFFICER_PERMISSIONS, RISK_MANAGER_PERMISSIONS, permissions_grant
from demo.simulator.onboarding import LOAN_OFFICER_GROUP, RISK_MANAGER_GROUP

pytestmark = pytest.mark.django_db


def test_the_demo_s_groups_get_scoring_permissions_once_and_missing_groups_are_left_alone():
    permissions_grant()
    assert not Group.objects.exists()
    risk = Group.objects.create(name=RISK_MANAGER_GROUP)
    officers = Group.objects.create(name=LOAN_OFFICER_GROUP)
    permissions_grant()
    permissions_grant()
    assert set(risk.permissions.values_list("codename", flat=True)) == set(RISK_MANAGER_PERMISSIONS)
    assert set(officers.permissions.values_list("codename", flat=True)) == set(LOAN_OFFICER_PERMISSIONS)


def test_the_demo_s_risk_manager_opens_scoring_s_workbench():
    group = Group.objects.create(name=RISK_MANAGER_GROUP)
    permissions_grant()
    user = User.objects.create_user(username="risk", password="pw", is_staff=True)
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    for name in ("scoringmodel", "merchantscore", "offer", "ratingadjustment", "officerfinding"):
        assert client.get(reverse(f"admin:scoring_{name}_changelist")).status_code == 200, name


def test_scoring_demo_refuses_an_empty_marketplace():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("scoring_demo")
