"""Roles as data: the migration makes each role's group with exactly its permissions, and every
workbench, risk and portal page answers each role as its permissions say. The expectations are
computed from common/roles.py and the admin's registry, so a new model or admin page is walked
without editing this test; the issue's named cases are asserted by name as well."""

import html
import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse

from common import roles
from common.roles import ROLES, RoleDefinitionError, role_permissions, roles_sync
from config import portal_urls
from scoring import views_risk
from tests.lending.test_applications import STRONG, instant, world  # noqa: F401 - a fixture
from tests.scoring.factories import rated_merchant

pytestmark = pytest.mark.django_db

# The admin's own views of a model; anything else a ModelAdmin's get_urls adds is a custom page.
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change", "autocomplete")


def available() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for app_label, codename in Permission.objects.values_list("content_type__app_label", "codename"):
        found.setdefault(app_label, set()).add(codename)
    return found


def granted(role: str) -> set[str]:
    return {f"{app}.{codename}" for app, codename in role_permissions(role, available())}


# --- the groups ---------------------------------------------------------------------------------


def test_the_migration_made_every_role_with_exactly_its_permissions():
    for role in ROLES:
        group = Group.objects.get(name=role)
        have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert have == granted(role), role
    assert not Group.objects.get(name=roles.MERCHANT).permissions.exists()
    # Everything of the platform for the administrator, who is still no superuser.
    assert granted(roles.ADMINISTRATOR) >= {
        "lending.change_product",
        "auth.add_user",
        "payments.view_account",
    }


def test_roles_sync_is_idempotent_takes_back_extra_permissions_and_leaves_other_groups_alone():
    officers = Group.objects.get(name=roles.LOAN_OFFICER)
    extra = Permission.objects.get(content_type__app_label="lending", codename="delete_loan")
    officers.permissions.add(extra)
    other = Group.objects.create(name="auditors")
    other.permissions.add(extra)
    before = roles_sync()
    assert roles_sync() == before
    assert not officers.permissions.filter(pk=extra.pk).exists()
    assert other.permissions.filter(pk=extra.pk).exists()
    assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)


def test_a_permission_that_does_not_exist_is_refused_and_nothing_changes(monkeypatch):
    officers = Group.objects.get(name=roles.LOAN_OFFICER)
    before = set(officers.permissions.values_list("pk", flat=True))
    broken = {**ROLES, roles.LOAN_OFFICER: {**ROLES[roles.LOAN_OFFICER], "permissions": []}}
    broken[roles.INSPECTOR] = {**ROLES[roles.INSPECTOR], "permissions": ["lending.view_lonas"]}
    monkeypatch.setattr(roles, "ROLES", broken)
    with pytest.raises(RoleDefinitionError, match=r"lending\.view_lonas"):
        roles_sync()
    assert set(officers.permissions.values_list("pk", flat=True)) == before


def test_a_migration_skips_a_permission_whose_model_does_not_exist_yet(monkeypatch):
    missing = "merchants.view_nosuchmodel"
    monkeypatch.setitem(
        ROLES, roles.INSPECTOR, {**ROLES[roles.INSPECTOR], "permissions": [missing, "lending.view_loan"]}
    )
    with pytest.raises(RoleDefinitionError):
        roles_sync()
    roles_sync(strict=False)
    assert list(Group.objects.get(name=roles.INSPECTOR).permissions.values_list("codename", flat=True)) == [
        "view_loan"
    ]


def user_in(role: str, username: str | None = None) -> User:
    user = User.objects.create_user(username or role, password="pw", is_staff=ROLES[role]["staff"])
    user.groups.add(Group.objects.get(name=role))
    return user


def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return request


def admin_pages() -> list[tuple[str, str, set[str]]]:
    """(what, url, permissions any one of which opens it) for every registered model's changelist
    and add page, one object's change page where the world has one, and the custom pages that
    model admins add (those without arguments). A page no one may use (an add page of a
    read-only admin) needs an impossible permission."""
    request = superuser_request()
    pages = []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"{opts.app_label}.%s_{opts.model_name}"
        see = {base % "view", base % "change"}
        prefix = f"admin:{opts.app_label}_{opts.model_name}_"
        pages.append((f"{opts.label} list", reverse(prefix + "changelist"), see))
        addable = model_admin.has_add_permission(request)
        pages.append((f"{opts.label} add", reverse(prefix + "add"), {base % "add"} if addable else set()))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None:
            pages.append((f"{opts.label} #{first.pk}", reverse(prefix + "change", args=[first.pk]), see))
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None) or ""
            if (
                not isinstance(pattern, URLPattern)
                or name.removeprefix(f"{opts.app_label}_{opts.model_name}_") in STANDARD_VIEWS
            ):
                continue
            if pattern.pattern.converters or "<" in str(pattern.pattern):
                continue
            pages.append((f"{opts.label} {name}", reverse(f"admin:{name}"), see))
    return pages


# Pages of a model's admin that also need a permission of another model: the check of each loan
# is the trial balance's button (the trial balance needs payments.view_account).
ALSO_NEEDS = {"/admin/lending/loan/book-check/": {"payments.view_account"}}


def app_indexes() -> list[tuple[str, str, set[str]]]:
    by_app: dict[str, set[str]] = {}
    for model in admin.site._registry:
        opts = model._meta
        by_app.setdefault(opts.app_label, set()).update(
            {f"{opts.app_label}.{action}_{opts.model_name}" for action in ("view", "change", "add", "delete")}
        )
    return [
        (f"{app} index", reverse("admin:app_list", args=[app]), perms)
        for app, perms in sorted(by_app.items())
    ]


def portal_pages() -> list[tuple[str, str]]:
    """The merchant portal's pages that take no arguments (logout is a POST)."""
    return [
        (p.name, reverse(f"portal:{p.name}"))
        for p in portal_urls.urlpatterns
        if not p.pattern.converters and not p.pattern.regex.groups and p.name not in ("logout", "login")
    ]


@pytest.fixture
def staffed_world(world):  # noqa: F811 - the fixture imported above
    """A disbursed credit loan of a seller who logs into the portal, so the workbench has a
    merchant, an application with its stages, a line, a loan, journal entries and accounts."""
    seller = rated_merchant(**STRONG)
    user = user_in(roles.MERCHANT, "seller")
    seller.user = user
    seller.save(update_fields=["user"])
    _, application = instant(seller)
    return application


@pytest.mark.parametrize("role", [r for r in ROLES if ROLES[r]["staff"]])
def test_each_staff_role_sees_the_workbench_pages_its_permissions_grant(staffed_world, role):
    client = Client()
    client.force_login(user_in(role))
    perms = granted(role)
    assert client.get(reverse("admin:index")).status_code == 200
    wrong = []
    for what, url, needs in admin_pages():
        # A page that redirects (an application's page is its case page) is judged where it leads.
        status = client.get(url, follow=True).status_code
        if status == 405:  # a button's target (the trial balance's check of each loan): it takes a POST
            status = client.post(url, {}, follow=True).status_code
        also = ALSO_NEEDS.get(url, set())
        expected = 200 if perms & needs and also <= perms else 403
        if status != expected:
            wrong.append((what, url, status, expected))
    for what, url, needs in app_indexes():
        status = client.get(url).status_code
        expected = 200 if perms & needs else 404  # the admin hides an app with nothing to show
        if status != expected:
            wrong.append((what, url, status, expected))
    assert not wrong, wrong


@pytest.mark.parametrize("role", [r for r in ROLES if ROLES[r]["staff"]])
def test_no_object_page_links_a_role_to_a_page_it_may_not_open(staffed_world, role):
    """Every link on a workbench page the role may open (an object's page, a list, an inline's
    rows, a read-only foreign key, a raw-id or autocomplete widget, its History button, the audit
    log's rows of it) opens for that role: a link that answers 403 should not have been shown."""
    client = Client()
    client.force_login(user_in(role))
    perms = granted(role)
    followed: dict[str, int] = {}
    wrong = []
    for what, url, needs in admin_pages():
        if not perms & needs:
            continue
        page = client.get(url, follow=True)
        if page.status_code != 200:
            continue
        for link in sorted(set(re.findall(r'href="(/admin/[^"#]*)"', page.content.decode()))):
            link = html.unescape(link)
            if link.startswith(("/admin/logout/", "/admin/jsi18n/")):
                continue
            if link not in followed:
                followed[link] = client.get(link).status_code
            if followed[link] == 403:
                wrong.append((what, link))
    assert not wrong, wrong


def test_a_read_only_foreign_key_links_only_for_who_may_open_the_related_page(staffed_world):
    """The loan's product: a link for the administrator, its name as plain text for a collections
    agent, who may open the loan but not products."""
    loan = staffed_world.loan
    product_url = reverse("admin:lending_product_change", args=[loan.product_id])
    loan_url = reverse("admin:lending_loan_change", args=[loan.pk])
    pages = {}
    for role in (roles.COLLECTIONS_AGENT, roles.ADMINISTRATOR):
        client = Client()
        client.force_login(user_in(role))
        pages[role] = client.get(loan_url).content.decode()
        assert html.escape(str(loan.product)) in pages[role], role
    assert "lending.view_product" not in granted(roles.COLLECTIONS_AGENT)
    assert f'href="{product_url}"' not in pages[roles.COLLECTIONS_AGENT]
    assert f'href="{product_url}"' in pages[roles.ADMINISTRATOR]


@pytest.mark.parametrize("role", list(ROLES))
def test_the_risk_pages_are_for_who_may_run_the_sandbox(staffed_world, role):
    client = Client()
    client.force_login(user_in(role))
    may = ROLES[role]["staff"] and views_risk.PERMISSION in granted(role)
    assert client.get(reverse("risk:sandbox")).status_code == (200 if may else 403)
    assert may == (role in (roles.RISK_MANAGER, roles.ADMINISTRATOR))


@pytest.mark.parametrize("role", list(ROLES))
def test_the_portal_is_the_merchants_and_the_workbench_the_staffs(staffed_world, role):
    client = Client()
    if role == roles.MERCHANT:
        client.force_login(User.objects.get(username="seller"))
    else:
        client.force_login(user_in(role))
    loan = staffed_world.loan
    pages = [*portal_pages(), ("loan-detail", reverse("portal:loan-detail", args=[loan.reference]))]
    for name, url in pages:
        response = client.get(url)
        if response.status_code == 405:  # a form's target: it takes a POST (an empty one here)
            response = client.post(url, {})
        if role == roles.MERCHANT:
            assert response.status_code in (200, 302, 400), (name, response.status_code)
            if response.status_code == 302:
                assert not response.url.startswith(("/admin", reverse("portal:login"))), (name, response.url)
        elif name == "home":
            assert response.status_code == 302 and response.url == reverse("admin:index")
        else:
            assert response.status_code in (403, 404), (name, response.status_code)
    admin_index = client.get(reverse("admin:index"))
    if role == roles.MERCHANT:
        # The portal only: the workbench sends a merchant to its login page.
        assert admin_index.status_code == 302 and "/admin/login/" in admin_index.url
        assert client.get(reverse("admin:lending_loan_changelist")).status_code == 302
    else:
        assert admin_index.status_code == 200


def test_the_demo_s_officer_sees_loans_lines_runs_and_the_trial_balance(staffed_world):
    client = Client()
    client.force_login(user_in(roles.LOAN_OFFICER, "officer"))
    for name in (
        "lending_loan_changelist",
        "lending_creditline_changelist",
        "lending_cobrun_changelist",
        "payments_trial_balance",
        "merchants_merchant_changelist",
        "scoring_merchantscore_changelist",
    ):
        assert client.get(reverse(f"admin:{name}")).status_code == 200, name
    loan = staffed_world.loan
    assert client.get(reverse("admin:lending_loan_change", args=[loan.pk])).status_code == 200
    # Looking is not changing: products and funding pools are not the officer's to edit.
    assert client.get(reverse("admin:lending_product_add")).status_code == 403


def test_the_inspector_and_collections_see_only_their_part(staffed_world):
    inspector, collections = Client(), Client()
    inspector.force_login(user_in(roles.INSPECTOR))
    collections.force_login(user_in(roles.COLLECTIONS_AGENT))
    for url in (
        "admin:lending_loan_changelist",
        "admin:payments_trial_balance",
        "admin:merchants_merchant_changelist",
    ):
        assert inspector.get(reverse(url)).status_code == 403, url
    assert collections.get(reverse("admin:lending_loan_changelist")).status_code == 200
    assert collections.get(reverse("admin:merchants_merchant_changelist")).status_code == 200
    assert collections.get(reverse("admin:payments_trial_balance")).status_code == 403


def test_finance_sees_the_books_and_the_administrator_everything_without_being_superuser(staffed_world):
    finance, administrator = Client(), Client()
    finance.force_login(user_in(roles.FINANCE))
    administrator.force_login(user_in(roles.ADMINISTRATOR))
    for url in (
        "admin:payments_trial_balance",
        "admin:payments_fundingpool_changelist",
        "admin:payments_payout_changelist",
        "admin:payments_journalentry_changelist",
        "admin:lending_loan_changelist",
    ):
        assert finance.get(reverse(url)).status_code == 200, url
    assert finance.get(reverse("admin:scoring_scoringmodel_changelist")).status_code == 403
    assert administrator.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert administrator.get(reverse("admin:lending_product_add")).status_code == 200
    assert not User.objects.get(username=roles.ADMINISTRATOR).is_superuser
