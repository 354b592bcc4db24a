"""Rule sets are versioned: one active at a time (a database constraint), edited as a draft copy
and activated, the old set retired; decisions record the version they used and keep it."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from common.errors import ApplicationError, ConflictError
from common.money import fen_to_yuan
from lending.models import ApplicationStage
from lending.pipeline import stage_replay
from riskcontrol import rulesets
from riskcontrol.models import RuleSet
from tests.conftest import requires_postgres
from tests.lending.test_applications import STRONG, instant, world  # noqa: F401 - a fixture
from tests.scoring.factories import rated_merchant


def risk_manager(name="rita") -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="risk_manager"))
    return user


@pytest.mark.django_db
def test_the_migration_leaves_one_active_set_with_the_documented_defaults():
    active = rulesets.ruleset_active()
    assert active.version == 1 and active.status == "active"
    assert active.params == rulesets.DEFAULT_PARAMS
    assert rulesets.params_clean(active.params) == active.params


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_set():
    rulesets.ruleset_active()
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSet.objects.create(version=99, status="active", params={})


@pytest.mark.django_db
def test_edit_a_draft_copy_then_activate_it_and_the_old_set_retires():
    user = risk_manager()
    draft = rulesets.ruleset_draft_create(user=user)
    assert draft.version == 2 and draft.status == "draft" and draft.based_on.version == 1
    with pytest.raises(ConflictError):
        rulesets.ruleset_draft_create(user=user)
    rulesets.ruleset_draft_update(
        rule_set=draft,
        params={"policy_min_shop_age_days": 180, "antifraud_linked_decline": "0.3"},
        note="stricter",
        user=user,
    )
    assert rulesets.params_diff(draft.based_on.params, draft.params) == [
        {
            "name": "antifraud_linked_decline",
            "label": rulesets.PARAMS_BY_NAME["antifraud_linked_decline"].label,
            "before": "0.2",
            "after": "0.3",
        },
        {
            "name": "policy_min_shop_age_days",
            "label": rulesets.PARAMS_BY_NAME["policy_min_shop_age_days"].label,
            "before": 90,
            "after": 180,
        },
    ]
    rulesets.ruleset_activate(rule_set=draft, user=user)
    assert rulesets.ruleset_active().version == 2
    old = RuleSet.objects.get(version=1)
    assert old.status == "retired" and old.retired_at is not None
    assert RuleSet.objects.get(version=2).activated_by == user
    # An active or retired set never changes.
    with pytest.raises(ConflictError):
        rulesets.ruleset_draft_update(rule_set=old, params={}, note="", user=user)
    with pytest.raises(ConflictError):
        rulesets.ruleset_activate(rule_set=old, user=user)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("policy_min_shop_age_days", -1),
        ("policy_min_shop_age_days", "ninety"),
        ("antifraud_linked_refer", "1.5"),
        ("antifraud_linked_refer", 0.05),
        ("identity_required_kinds_b2b", ["passport"]),
        ("no_such_threshold", 1),
    ],
)
def test_a_bad_threshold_is_refused_naming_it(name, value):
    draft = rulesets.ruleset_draft_create(user=None)
    with pytest.raises(ApplicationError) as caught:
        rulesets.ruleset_draft_update(rule_set=draft, params={name: value}, note="", user=None)
    assert name in caught.value.extra["fields"]
    draft.refresh_from_db()
    assert draft.params == rulesets.DEFAULT_PARAMS


@pytest.mark.django_db
def test_a_refer_level_above_its_decline_level_is_refused_naming_the_decline_level():
    draft = rulesets.ruleset_draft_create(user=None)
    with pytest.raises(ApplicationError) as caught:
        rulesets.ruleset_draft_update(
            rule_set=draft, params={"antifraud_linked_refer": "0.5"}, note="", user=None
        )
    assert list(caught.value.extra["fields"]) == ["antifraud_linked_decline"]


def test_a_change_applies_to_new_decisions_and_old_ones_keep_their_version(world):  # noqa: F811
    first = rated_merchant(**STRONG)
    _, before = instant(first)
    assert before.status == "disbursed"
    draft = rulesets.ruleset_draft_create(user=None)
    rulesets.ruleset_draft_update(
        rule_set=draft, params={"policy_min_shop_age_days": 3650}, note="", user=None
    )
    rulesets.ruleset_activate(rule_set=draft, user=None)

    second = rated_merchant(**STRONG)  # opened 2020-01-01: younger than ten years
    _, after = instant(second)
    assert after.status == "declined"
    assert [r["code"] for r in after.reasons] == ["shop_too_young"]
    row = after.stages.get(name="riskcontrol.stages.policy")
    assert row.version == "rules-2" and row.detail["facts"]["params"]["policy_min_shop_age_days"] == 3650

    old = before.stages.get(name="riskcontrol.stages.policy")
    assert old.version == "rules-1" and old.status == ApplicationStage.Status.PASSED
    # Replayed over its own facts, the old decision still passes under the thresholds it used.
    assert stage_replay(old).outcome == "pass" and stage_replay(old).version == "rules-1"


@pytest.mark.django_db
def test_the_workbench_copies_edits_shows_the_diff_and_activates(client):
    user = risk_manager()
    client.force_login(user)
    active = rulesets.ruleset_active()
    url = "/admin/riskcontrol/ruleset/"
    response = client.post(url, {"action": "copy_to_draft", "_selected_action": [active.pk]}, follow=True)
    assert response.status_code == 200
    draft = RuleSet.objects.get(status="draft")
    page = client.get(f"{url}{draft.pk}/change/")
    assert page.status_code == 200 and "开店最短天数" in page.content.decode()

    form = {p.name: p.default for p in rulesets.PARAMS if p.kind != "kinds"}
    form["identity_decline_on_failed"] = ["business_licence", "tax"]
    form.update({"note": "young shops wait longer", "policy_min_shop_age_days": "-5"})
    bad = client.post(f"{url}{draft.pk}/change/", form)
    assert bad.status_code == 200 and "policy_min_shop_age_days" in bad.context["adminform"].form.errors

    form["policy_min_shop_age_days"] = "120"
    form["identity_required_kinds_b2b"] = ["business_licence"]
    saved = client.post(f"{url}{draft.pk}/change/", form)
    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.params["policy_min_shop_age_days"] == 120 and draft.updated_by == user
    assert draft.params["identity_required_kinds_b2b"] == ["business_licence"]
    diff = client.get(f"{url}{draft.pk}/change/").content.decode()
    assert "rules-1" in diff and "120" in diff

    client.post(url, {"action": "activate", "_selected_action": [draft.pk]})
    assert rulesets.ruleset_active().version == draft.version
    # The active set's page is read-only and still shows what changed, by whom.
    active_page = client.get(f"{url}{draft.pk}/change/")
    assert active_page.status_code == 200
    assert (
        "young shops wait longer" in active_page.content.decode()
        and "rules-1" in active_page.content.decode()
    )
    assert "policy_min_shop_age_days" not in active_page.context["adminform"].form.fields


@pytest.mark.django_db
def test_the_blacklist_keeps_only_a_digest_and_refuses_a_duplicate(client):
    from common.crypto import blind_index
    from riskcontrol.models import BlacklistEntry

    client.force_login(risk_manager())
    url = "/admin/riskcontrol/blacklistentry/add/"
    assert (
        client.post(url, {"kind": "phone", "value": "13800000001", "reason": "fraud ring"}).status_code == 302
    )
    entry = BlacklistEntry.objects.get()
    assert entry.value_index == blind_index("13800000001") and "13800000001" not in entry.value_hint
    again = client.post(url, {"kind": "phone", "value": "138 0000 0001", "reason": "again"})
    assert again.status_code == 200 and "value" in again.context["adminform"].form.errors
    assert BlacklistEntry.objects.count() == 1


@pytest.mark.django_db
def test_saving_a_draft_unchanged_shows_no_change(client):
    client.force_login(risk_manager())
    draft = rulesets.ruleset_draft_create(user=None)
    # As the form shows them: an amount in yuan (the group limit), the rest as stored.
    form = {
        p.name: fen_to_yuan(p.default) if p.name.endswith("_fen") else p.default
        for p in rulesets.PARAMS
        if p.kind != "kinds"
    }
    form["identity_decline_on_failed"] = ["business_licence", "tax"]
    form["note"] = "nothing yet"
    assert client.post(f"/admin/riskcontrol/ruleset/{draft.pk}/change/", form).status_code == 302
    draft.refresh_from_db()
    assert rulesets.params_diff(draft.based_on.params, draft.params) == []


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_decisions_create_one_active_set_and_concurrent_drafts_one_draft():
    import threading

    from django.db import connection

    RuleSet.objects.all().delete()
    results, errors = [], []
    barrier = threading.Barrier(4)

    def first():
        try:
            barrier.wait()
            results.append(rulesets.ruleset_active().version)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [1, 1, 1, 1]
    assert RuleSet.objects.filter(status="active").count() == 1

    outcomes = []
    barrier = threading.Barrier(3)

    def draft():
        try:
            barrier.wait()
            outcomes.append(rulesets.ruleset_draft_create(user=None).version)
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=draft) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=str) == [2, "conflict", "conflict"]
    assert RuleSet.objects.filter(status="draft").count() == 1
