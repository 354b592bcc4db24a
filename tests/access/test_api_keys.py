"""Partner API keys: stored as a keyed digest, shown once, rotated with an overlap window,
revoked by an administrator (workbench and command line), and refused when revoked or expired."""

import datetime as dt
import hashlib
import io
import json

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common import roles
from merchants import services
from merchants.models import ALL_SCOPES, ApiKey
from tests.merchants.factories import ApiKeyFactory, PartnerPlatformFactory

pytestmark = pytest.mark.django_db


def client_for(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def merchants_status(raw: str) -> int:
    return client_for(raw).get("/api/v1/merchants/").status_code


def test_the_digest_is_an_hmac_under_the_configured_key_not_a_plain_hash(settings):
    partner = PartnerPlatformFactory()
    key, raw = services.api_key_issue(partner=partner, name="feed")
    assert key.digest_algorithm == ApiKey.DigestAlgorithm.HMAC_SHA256
    assert key.digest != hashlib.sha256(raw.encode()).hexdigest()
    assert merchants_status(raw) == 200
    # Without the hash key the stored digest cannot be reproduced: another key, another digest.
    settings.API_KEY_HASH_KEY = "another-hash-key"
    assert ApiKey.digest_of(raw) != key.digest
    assert merchants_status(raw) == 401


def test_the_raw_key_is_shown_once_and_stored_nowhere():
    key, raw = services.api_key_issue(partner=PartnerPlatformFactory(), name="feed")
    secret = raw.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM merchants_apikey WHERE id = %s", [key.pk])
        row = cursor.fetchone()
    assert not any(secret in str(value) for value in row)
    # The signing secret is stored encrypted, not in clear.
    assert not any(key.signing_secret in str(value) for value in row)


def test_a_key_from_before_keyed_digests_still_works_and_is_rehashed_on_first_use():
    raw = "xd_legacy01_" + "L" * 40
    key = ApiKeyFactory(
        raw_key=raw,
        digest=hashlib.sha256(raw.encode()).hexdigest(),
        digest_algorithm=ApiKey.DigestAlgorithm.SHA256,
    )
    assert merchants_status(raw) == 200
    key.refresh_from_db()
    assert key.digest_algorithm == ApiKey.DigestAlgorithm.HMAC_SHA256
    assert key.digest == ApiKey.digest_of(raw)
    assert merchants_status(raw) == 200
    assert merchants_status("xd_legacy01_" + "M" * 40) == 401


def test_rotation_keeps_the_old_key_working_through_the_overlap_then_refuses_it(monkeypatch):
    old, old_raw = services.api_key_issue(partner=PartnerPlatformFactory(), name="feed", scopes=["read"])
    new, new_raw = services.api_key_rotate(api_key=old, overlap=dt.timedelta(hours=2))
    old.refresh_from_db()
    assert old.replaced_by == new and new.scopes == ["read"] and new.partner == old.partner
    assert new_raw != old_raw
    assert merchants_status(old_raw) == 200
    assert merchants_status(new_raw) == 200

    later = timezone.now() + dt.timedelta(hours=2, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = client_for(old_raw).get("/api/v1/merchants/")
    assert response.status_code == 401
    assert "expired" in json.dumps(response.json())
    assert merchants_status(new_raw) == 200


def test_rotation_with_no_overlap_ends_the_old_key_at_once_and_a_key_rotates_once():
    old, old_raw = services.api_key_issue(partner=PartnerPlatformFactory(), name="feed")
    services.api_key_rotate(api_key=old, overlap=dt.timedelta(0))
    assert merchants_status(old_raw) == 401
    with pytest.raises(services.ConflictError):
        services.api_key_rotate(api_key=old, overlap=dt.timedelta(hours=1))


def test_a_revoked_key_is_refused_at_once():
    key, raw = services.api_key_issue(partner=PartnerPlatformFactory(), name="feed")
    assert merchants_status(raw) == 200
    services.api_key_revoke(api_key=key, actor="ops")
    response = client_for(raw).get("/api/v1/merchants/")
    assert response.status_code == 401
    assert "revoked" in json.dumps(response.json())
    key.refresh_from_db()
    assert key.revoked_by == "ops"
    with pytest.raises(services.ConflictError):
        services.api_key_rotate(api_key=key, overlap=dt.timedelta(hours=1))


def test_unknown_scopes_are_refused_naming_the_field():
    with pytest.raises(services.ApplicationError) as refused:
        services.api_key_issue(partner=PartnerPlatformFactory(), name="x", scopes=["read", "admin"])
    assert "scopes" in refused.value.extra["fields"]
    assert not ApiKey.objects.exists()


@pytest.fixture
def administrator(client):
    user = User.objects.create_user("keyadmin", password="pw-not-used", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    client.force_login(user)
    return client


def test_an_administrator_revokes_and_rotates_keys_in_the_workbench(administrator):
    key, raw = services.api_key_issue(partner=PartnerPlatformFactory(), name="feed")
    other, other_raw = services.api_key_issue(partner=key.partner, name="second")
    changelist = reverse("admin:merchants_apikey_changelist")

    rotated = administrator.post(
        changelist,
        {"action": "rotate", "_selected_action": [other.pk], "overlap_hours": "1"},
        follow=True,
    )
    assert rotated.status_code == 200
    shown = " ".join(str(m) for m in rotated.context["messages"])
    new = ApiKey.objects.get(replaces=other)
    new_raw = next(word for word in shown.split() if word.startswith(f"xd_{new.prefix}_"))
    assert merchants_status(new_raw) == 200 and merchants_status(other_raw) == 200

    revoked = administrator.post(changelist, {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert revoked.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == "keyadmin"
    assert merchants_status(raw) == 401
    # The list never shows a key again.
    page = administrator.get(changelist).content.decode()
    assert new_raw not in page and raw not in page


def test_an_administrator_issues_a_key_with_chosen_scopes_from_the_partner_page(administrator):
    partner = PartnerPlatformFactory()
    response = administrator.post(
        reverse("admin:merchants_partnerplatform_changelist"),
        {"action": "issue_api_key", "_selected_action": [partner.pk], "scopes": ["read"]},
        follow=True,
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    key = ApiKey.objects.get(partner=partner)
    raw = next(word for word in shown.split() if word.startswith(f"xd_{key.prefix}_"))
    assert key.scopes == ["read"]
    assert merchants_status(raw) == 200
    assert client_for(raw).post("/api/v1/orders/", {}, format="json").status_code == 403


def test_an_officer_without_the_key_permission_cannot_revoke(client):
    key, raw = services.api_key_issue(partner=PartnerPlatformFactory(), name="feed")
    officer = User.objects.create_user("officer9", password="pw-not-used", is_staff=True)
    officer.groups.add(Group.objects.get(name=roles.LOAN_OFFICER))
    client.force_login(officer)
    client.post(
        reverse("admin:merchants_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )
    key.refresh_from_db()
    assert key.revoked_at is None
    assert merchants_status(raw) == 200


def test_operators_issue_rotate_revoke_and_list_from_the_command_line():
    partner = PartnerPlatformFactory(code="cli-partner")
    out = io.StringIO()
    call_command("api_keys", "issue", "--partner", partner.code, "--scope", "read", "--json", stdout=out)
    issued = json.loads(out.getvalue())
    assert issued["scopes"] == ["read"] and issued["key"].startswith(f"xd_{issued['prefix']}_")
    assert merchants_status(issued["key"]) == 200

    out = io.StringIO()
    rotate = ["api_keys", "rotate", "--prefix", issued["prefix"], "--overlap-hours", "0", "--json"]
    call_command(*rotate, stdout=out)
    rotated = json.loads(out.getvalue())
    assert rotated["replaces"] == issued["prefix"]
    assert merchants_status(issued["key"]) == 401
    assert merchants_status(rotated["key"]) == 200

    call_command("api_keys", "revoke", "--prefix", rotated["prefix"], stdout=io.StringIO())
    assert merchants_status(rotated["key"]) == 401

    out = io.StringIO()
    call_command("api_keys", "list", "--partner", partner.code, "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert [row["active"] for row in listed] == [False, False]
    assert all("key" not in row for row in listed)
    assert set(ALL_SCOPES) >= {scope for row in listed for scope in row["scopes"]}


def test_a_keys_digest_algorithm_reads_in_chinese():
    """The API key's page once named its digest in English on a Chinese page."""
    from django.utils import translation

    from merchants.models import ApiKey

    with translation.override("zh-hans"):
        labels = [str(label) for label in ApiKey.DigestAlgorithm.labels]
    assert all("API_KEY_HASH_KEY" not in label and "legacy" not in label for label in labels), labels
