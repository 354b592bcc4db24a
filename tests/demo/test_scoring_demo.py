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


def _seeded_through_yesterday():
    import datetime as dt
    from io import StringIO

    from django.utils import timezone

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    call_command(
        "seed_demo", "--merchants", "12", "--days", "20", f"--end-date={yesterday}", stdout=StringIO()
    )


def test_scoring_demo_if_needed_does_nothing_when_closed_through_yesterday_and_rated_today(monkeypatch):
    from io import StringIO

    from common.business_date import business_date_today
    from merchants.models import Merchant
    from scoring.models import MerchantScore
    from tests.scoring.factories import champion_create

    _seeded_through_yesterday()
    runs = []
    monkeypatch.setattr(
        "demo.management.commands.scoring_demo.demo_scoring_run", lambda **kwargs: runs.append(kwargs)
    )
    # Not rated yet: it runs (make run's first start).
    call_command("scoring_demo", "--if-needed", stdout=StringIO())
    assert len(runs) == 1
    # Rated as of the business date by a champion: a second start does nothing.
    model = champion_create()
    MerchantScore.objects.create(
        merchant=Merchant.objects.first(),
        model=model,
        as_of=business_date_today(),
        points=600,
        probability=0.02,
        grade="A",
    )
    out = StringIO()
    call_command("scoring_demo", "--if-needed", stdout=out)
    assert len(runs) == 1 and "up to date" in out.getvalue()
